"""The guards' runtime functions (recast_engine.runtime.guards): helpers every learned script copies, not operators.
Which operator is guarded by which kind is declared with the operator (`cell_operator(..., guard=...)`)."""
from __future__ import annotations

from recast_engine.operators.registry import helper
from recast_engine.runtime import guards

helper(guards.unknown_key)
helper(guards.unparsed)
helper(guards.problems)
helper(guards.header_line)
