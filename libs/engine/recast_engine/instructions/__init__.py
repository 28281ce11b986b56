"""Instructions as users write them, read deterministically into typed constraints (no LLM).

`read_instructions(general_instructions, column_instructions)` returns `Instructions`: the column rules, the
table actions, and every sentence or clause it could not read (`not_understood`, reported back in the job, never
ignored). Matching is case-insensitive; quotes ('x', "x", `x`) around names and values are removed.

Column instructions (the text of one column_instructions entry; clauses joined by ';', 'then', 'and' or ','):
    ""  | null | SAME AS INPUT | same | keep (it) as is | as is | unchanged | no change | leave (it) alone | copy
    rename to X | rename as X | call it X | name it X              the column's name in the output
    drop | remove | delete | exclude | omit | not needed           the column is left out
    upper case | uppercase | all caps | convert to upper case      (also: lower case; title case / proper case /
                                                                   capitalize each word)
    trim | strip (whitespace) | remove leading and trailing spaces
    YYYY-MM-DD | DD/MM/YYYY | MM/DD/YY | Month D, YYYY | D Mon YYYY (optionally after "format as", "convert to")
                                                                   tokens YYYY YY MMMM/Month MMM/Mon MM M DD D
    round to N decimals | N decimal places | round (to whole number)
    unit_price * quantity | = (temp_f - 32) * 5 / 9 | multiply a by b | a times b | a divided by b | a plus b
                                                                   names are identifiers or quoted (`unit price`)
    map A=Alpha, B=Beta | A -> Alpha; B -> Beta | replace A with Alpha   values not listed are kept
    fill empty with V | if empty use V | default V | blank -> V

General instructions (sentences split on '.', ';', new lines and 'then'; 'X and Y' when both halves read):
    keep only rows where C | only rows with C | where C | C          (a bare C only as a comparison: amount > 100)
    remove / exclude / drop rows where C                               the rows matching C go
        C := X is Y | X = Y | X equals Y | X is not Y | X != Y | X contains Y | X is empty | X is not blank
             | X > N | X >= N | X < N | X <= N | X is greater/more/less than N | X is at least/most N | X over N
    sort by X (ascending | descending | desc | largest first | newest first | z-a | high to low ...)
    remove duplicates | dedupe | unique rows only
    fill empty X with V
    sum / total / count / number / average / mean / min / max of X per | by | for each | grouped by Y (and Z)
    count (of rows) per Y
    rename X to Y | drop column X | convert X to upper case              column rules written as sentences

`compile_program` (compile.py) turns understood instructions into a recast_engine Program over the input's
header; `guide.py` uses them to steer and check the by-example search.
"""
from recast_engine.instructions.model import *  # noqa: F403 - the models are the package's API (model.__all__)
from recast_engine.instructions.model import __all__ as _models
from recast_engine.instructions.reader import read_instructions

__all__ = [*_models, "read_instructions"]
