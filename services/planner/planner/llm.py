"""The LLM path: ask an OpenAI-compatible chat completions endpoint for a whole conversion script.

Used only when settings.llm_base_url is set and the by-example search has nothing (left) to offer. The reply's
script is judged by the tester like any other candidate.
"""
from __future__ import annotations

import json
import re
from typing import Any

from recast_common.settings import Settings
from recast_engine.verify.verdict import Verdict

HEAD_LINES = 15
MAX_DIFF_CHARS = 3000
MAX_UNEXPLAINED = 10
REQUEST_TIMEOUT_SECONDS = 60.0

SYSTEM_PROMPT = (
    "You write small, general Python 3.11 scripts that convert one CSV file into another. "
    "The script is run as `python script.py INPUT.csv OUTPUT.csv`, may import only the standard library, "
    "pandas and pyarrow, must not use the network or read anything but its input, and must not embed the "
    "expected output as data: infer the rule. Answer with one ```python code block and nothing else."
)

_CODE_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def head(data: bytes, lines: int = HEAD_LINES) -> str:
    text = data.decode("utf-8-sig", errors="replace")
    return "\n".join(text.splitlines()[:lines])


def instruction_lines(instructions: dict[str, Any] | None) -> list[str]:
    """The user's instructions as sent, for the prompt (empty column instructions read SAME AS INPUT)."""
    if not instructions:
        return []
    lines = []
    if instructions.get("general_instructions"):
        lines.append(f"General: {instructions['general_instructions']}")
    for column, text in (instructions.get("column_instructions") or {}).items():
        lines.append(f"Column {column!r}: {(text or '').strip() or 'SAME AS INPUT'}")
    return lines


def build_messages(
    summary: dict[str, Any],
    input_head: str,
    expected_head: str,
    previous_verdict: Verdict | None,
    instructions: dict[str, Any] | None = None,
    unexplained: list[str] | None = None,
    not_understood: list[str] | None = None,
) -> list[dict[str, str]]:
    """The chat: the pair's profile and first lines, the user's instructions, what the by-example search could not
    explain and what the instruction reader could not read, and the previous attempt's verdict."""
    parts = [
        "Profile of the train pair:",
        json.dumps(summary, sort_keys=True),
        "",
        f"First lines of the input CSV:\n```\n{input_head}\n```",
        f"First lines of the expected output CSV:\n```\n{expected_head}\n```",
    ]
    if lines := instruction_lines(instructions):
        parts.append("The user's instructions (follow them; the expected output shows them applied):")
        parts.extend(f"- {line}" for line in lines)
    if not_understood:
        parts.append("Instructions the deterministic reader could not read (interpret them yourself):")
        parts.extend(f"- {item}" for item in not_understood)
    if unexplained:
        parts.append("What the by-example search left unexplained:")
        parts.extend(f"- {item}" for item in unexplained[:MAX_UNEXPLAINED])
    if previous_verdict:
        diff = json.dumps(previous_verdict.to_dict(), sort_keys=True)[:MAX_DIFF_CHARS]
        parts.append(f"A previous script failed on the train pair; its verdict and diff:\n{diff}")
    parts.append("Write the conversion script.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(parts)}]


def extract_script(reply: str) -> str | None:
    """The Python code of a reply: the longest fenced block, else the reply itself when it parses."""
    blocks = _CODE_BLOCK.findall(reply or "")
    code = max(blocks, key=len) if blocks else (reply or "")
    code = code.strip("\n")
    if not code.strip():
        return None
    try:
        compile(code, "<llm script>", "exec")
    except SyntaxError:
        return None
    return code + "\n"


async def propose_script(settings: Settings, messages: list[dict[str, str]]) -> str | None:
    """One chat completion; None when the reply holds no usable script. Network errors propagate."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or "not-needed",
        timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=1,
    )
    try:
        response = await client.chat.completions.create(
            model=settings.llm_model, messages=messages, temperature=0
        )
    finally:
        await client.close()
    if not response.choices:
        return None
    return extract_script(response.choices[0].message.content or "")
