"""Where a submission's stage files live in S3: in the folder of its train input.

The gateway stores each submission's inputs under {client}/{job}/train-<submission>/ and, when a job is
replaced, deletes everything under the job but the new submission's folder. Stage files (profile, scripts,
verdicts) kept beside the inputs therefore belong to one submission: a clean-up racing the new pipeline can
never delete the new submission's files, and an old submission's files go with its folder.
"""
from __future__ import annotations

import posixpath


def submission_folder(input_key: str) -> str:
    return posixpath.dirname(input_key)


def profile_key(input_key: str) -> str:
    return f"{submission_folder(input_key)}/profile.json"


def candidates_key(input_key: str) -> str:
    """The planner's ranked search candidates (Program JSON, best first): feedback takes the next one."""
    return f"{submission_folder(input_key)}/candidates.json"


def instructions_key(input_key: str) -> str:
    """The job's general and column instructions as sent (JSON), when it has any."""
    return f"{submission_folder(input_key)}/instructions.json"


def script_key(input_key: str, attempt: int) -> str:
    return f"{submission_folder(input_key)}/attempt-{attempt}/script.py"


def verdict_key(input_key: str, attempt: int) -> str:
    return f"{submission_folder(input_key)}/attempt-{attempt}/verdict.json"


def train_profile_key_of_script(script_key: str) -> str:
    """The train pair's profile beside a submission's script ({folder}/attempt-N/script.py)."""
    return f"{posixpath.dirname(posixpath.dirname(script_key))}/profile.json"


def run_profile_key(run_input_key: str) -> str:
    """An inference run's input profile, in the run's folder beside its input."""
    return f"{posixpath.dirname(run_input_key)}/profile.json"


def program_key_of_script(script_key: str) -> str:
    """The program (DSL JSON) a script was rendered from, beside it (LLM scripts have none)."""
    return f"{posixpath.dirname(script_key)}/program.json"
