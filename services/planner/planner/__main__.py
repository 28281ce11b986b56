"""`python -m planner`: one planner replica (configuration from RECAST_* environment variables)."""
from __future__ import annotations

from recast_common.consumer import run_service

from planner.app import create_app


def main() -> None:
    run_service(create_app())


if __name__ == "__main__":
    main()
