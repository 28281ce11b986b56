"""Planning decisions, free of I/O: run the search on a train pair and turn its result into the next event.

`search_candidates` is the CPU-bound part (run in a worker process by the handler); `decide` picks what the
planner emits: the next search candidate, a request for the LLM, or the job's failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from recast_engine.csvgrid import parse_grid
from recast_engine.dsl import candidate_fingerprint

Decision = Literal["planned", "llm", "failed"]


@dataclass
class SearchOutcome:
    programs: list[dict[str, Any]]  # Program JSON, best first, excluded fingerprints already left out
    tried: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    error: str = ""
    instruction_report: dict[str, Any] | None = None  # recast_common.api.InstructionReport, when instructed
    trust: dict[str, str] | None = None  # confidence, reason, suggestion of programs[0]
    explanation: str = ""  # when nothing fits: the columns and first cell not explained, and what to try


def instruction_report(document: dict[str, Any], instructions, contradictions: list[str]) -> dict[str, Any]:
    return {
        "understood": instructions.understood(),
        "not_understood": list(instructions.not_understood),
        "contradictions": contradictions,
        "built_from_instructions": bool(document.get("built_from_instructions")),
    }


def search_candidates(
    input_bytes: bytes,
    expected_bytes: bytes,
    header: str,
    timeout: float,
    exclude: list[str],
    max_candidates: int = 3,
    instructions: dict[str, Any] | None = None,
) -> SearchOutcome:
    """Run the by-example search on a train pair given as CSV bytes, shaped by the job's instructions when it
    has any (`instructions`: the stored {general_instructions, column_instructions, hints} document; hints are
    the user's constants and aggregation functions, recast_engine.hints.Hints)."""
    from recast_engine.hints import Hints
    from recast_engine.instructions import read_instructions
    from recast_engine.instructions.guide import guided_learn
    from recast_engine.synthesis.trust import explain_failure

    input_grid = parse_grid(input_bytes, strict=False)
    expected_grid = parse_grid(expected_bytes, strict=False)
    if not input_grid or not expected_grid:
        return SearchOutcome([], error="the train input or the expected output is empty")
    document = instructions or {}
    read = read_instructions(document.get("general_instructions"), document.get("column_instructions"))
    guided = guided_learn(
        input_grid, expected_grid, read, header=header if header in ("auto", "yes", "no") else "auto",
        timeout=timeout, exclude=frozenset(exclude), max_candidates=max_candidates,
        hints=Hints.model_validate(document["hints"]) if document.get("hints") else None,
    )
    result = guided.search
    programs = [p.model_dump(mode="json") for p in result.programs if p.fingerprint() not in set(exclude)]
    instructed = any(document.get(k) is not None for k in ("general_instructions", "column_instructions"))
    report = instruction_report(document, read, guided.contradictions) if instructed else None
    outcome = SearchOutcome(programs, list(result.tried), list(result.unexplained), float(result.elapsed),
                            instruction_report=report, trust=search_trust(result, programs))
    if not result.programs:
        reason, suggestion = explain_failure(result.unexplained, input_grid, expected_grid)
        outcome.explanation = f"{reason}. Try: {suggestion}"
    return outcome


def search_trust(result, programs: list[dict[str, Any]]) -> dict[str, str] | None:
    """The search's confidence in the plan it hands on (programs[0]): only its own best candidate is judged."""
    if not programs or result.confidence == "none":
        return None
    if programs[0] != result.programs[0].model_dump(mode="json"):
        return {"confidence": "ambiguous", "reason": "the search's best candidate failed in testing",
                "suggestion": "add more example rows"}
    return {"confidence": result.confidence, "reason": result.reason, "suggestion": result.suggestion}


def untried(candidates: list[dict[str, Any]], excluded: list[str]) -> list[dict[str, Any]]:
    """The ranked candidates (Program JSON, best first) whose fingerprint has not failed yet."""
    failed = set(excluded)
    return [p for p in candidates if candidate_fingerprint(p) not in failed]


@dataclass
class PlanChoice:
    decision: Decision
    program: dict[str, Any] | None = None
    reason: str = ""


def decide(outcome: SearchOutcome, *, attempt: int, max_attempts: int, llm_enabled: bool) -> PlanChoice:
    """What to do for `attempt` given the search outcome (with failed candidates already excluded)."""
    if attempt > max_attempts:
        return PlanChoice("failed", reason=f"no passing conversion after {max_attempts} attempts")
    if outcome.programs:
        return PlanChoice("planned", program=outcome.programs[0])
    if llm_enabled:
        return PlanChoice("llm", reason=search_failure_message(outcome))
    return PlanChoice("failed", reason=search_failure_message(outcome))


def search_failure_message(outcome: SearchOutcome) -> str:
    if outcome.error:
        return outcome.error
    parts = [f"no conversion found in {outcome.elapsed:.1f}s"]
    if outcome.explanation:
        return f"{parts[0]}: {outcome.explanation}"
    if outcome.unexplained:
        parts.append("unexplained output: " + "; ".join(outcome.unexplained[:5]))
    if outcome.tried:
        parts.append(f"tried {len(outcome.tried)} step sequences, e.g. " + "; ".join(outcome.tried[:3]))
    return ". ".join(parts)

