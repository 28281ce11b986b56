"""`python -m tester [--role train|inference]`: one tester replica (configuration from RECAST_* variables).

Without --role the replica runs both message loops (job.coded and inference.requested, each in its own
consumer group); with it, only that one.
"""
from __future__ import annotations

import argparse

from recast_common.consumer import run_service

from tester.app import ROLES, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tester", description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=[*ROLES, "all"], default="all",
                        help="train: job.coded only; inference: inference.requested only; all (default): both")
    role = parser.parse_args(argv).role
    run_service(create_app(roles=ROLES if role == "all" else (role,)))


if __name__ == "__main__":
    main()
