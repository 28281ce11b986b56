"""Semantics of the DSL: plain functions, standard library only.

The planner evaluates candidates with these functions; the coder copies the source of the ones a program uses
into the learned script, so the script and the search can never disagree. Rules for this package:
- standard library only (re, datetime, decimal, math, itertools, collections), no imports from recast;
- every public function is declared in recast_engine.operators, as an operator (with its typed arguments) or as a
  helper; other helpers start with an underscore (tests/unit/test_operators.py checks it);
- module-level constants and helpers a function uses are found by the coder through the AST and copied with it.
"""
