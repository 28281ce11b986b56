from planner.llm import build_messages, extract_script, head
from planner.plan import SearchOutcome, decide, search_candidates
from recast_engine.dsl import candidate_fingerprint as program_fingerprint
from recast_engine.dsl import script_fingerprint
from recast_engine.verify.verdict import Verdict

PAIR_IN = b"first,last\nAda,Lovelace\nAlan,Turing\nGrace,Hopper\n"
PAIR_OUT = b"last,first\nLovelace,Ada\nTuring,Alan\nHopper,Grace\n"


def test_search_finds_a_column_swap_and_respects_exclusions():
    outcome = search_candidates(PAIR_IN, PAIR_OUT, "auto", timeout=10, exclude=[])
    assert outcome.programs, outcome.unexplained
    best = program_fingerprint(outcome.programs[0])
    again = search_candidates(PAIR_IN, PAIR_OUT, "auto", timeout=10, exclude=[best])
    assert all(program_fingerprint(p) != best for p in again.programs)


def test_search_on_empty_input_reports_an_error():
    outcome = search_candidates(b"", PAIR_OUT, "auto", timeout=5, exclude=[])
    assert outcome.programs == [] and "empty" in outcome.error


def test_decide_prefers_search_then_llm_then_failure():
    program = {"steps": [], "columns": []}
    found = SearchOutcome([program])
    empty = SearchOutcome([], tried=["transpose()"], unexplained=["column 2"], elapsed=1.0)
    assert decide(found, attempt=1, max_attempts=5, llm_enabled=False).program == program
    assert decide(empty, attempt=2, max_attempts=5, llm_enabled=True).decision == "llm"
    failed = decide(empty, attempt=2, max_attempts=5, llm_enabled=False)
    assert failed.decision == "failed" and "column 2" in failed.reason
    assert decide(found, attempt=6, max_attempts=5, llm_enabled=True).decision == "failed"


def test_script_fingerprint_is_stable_and_distinct():
    assert script_fingerprint("print(1)\n") == script_fingerprint("print(1)\n")
    assert script_fingerprint("print(1)\n") != script_fingerprint("print(2)\n")


def test_extract_script_takes_the_fenced_block_and_rejects_broken_code():
    reply = "Sure.\n```python\nimport sys\nprint(sys.argv)\n```\nDone."
    assert extract_script(reply) == "import sys\nprint(sys.argv)\n"
    assert extract_script("```python\ndef broken(:\n```") is None
    assert extract_script("") is None


def test_prompt_carries_heads_summary_and_previous_diff():
    messages = build_messages({"input_rows": 4}, head(PAIR_IN, 2), head(PAIR_OUT, 2),
                              Verdict(passed=False, summary="row 2 differs"))
    user = messages[-1]["content"]
    assert "first,last\nAda,Lovelace" in user and "Alan" not in user
    assert '"input_rows": 4' in user and "row 2 differs" in user
    assert messages[0]["role"] == "system"


def test_untried_keeps_the_ranked_candidates_that_have_not_failed_in_order() -> None:
    from planner.plan import untried
    from recast_engine.dsl import OutputColumn, Program, col, const

    first = Program(columns=[OutputColumn(value=col(0))]).model_dump(mode="json")
    second = Program(columns=[OutputColumn(value=const("x"))]).model_dump(mode="json")
    third = Program(columns=[OutputColumn(value=col(1))]).model_dump(mode="json")
    failed = [Program.model_validate(first).fingerprint()]
    assert untried([first, second, third], failed) == [second, third]
    assert untried([first], failed) == []
