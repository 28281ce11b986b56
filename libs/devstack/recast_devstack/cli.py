"""`recast-stack`: the embedded stack without the services.

    recast-stack up [--data-dir DIR] [--env-file FILE]   start, print `export RECAST_...` lines, wait for Ctrl-C
    recast-stack queue-status [GROUP ...]                  lag and members per consumer group (RECAST_* env)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from recast_common.kafka import GROUP_TOPICS, queue_status
from recast_common.settings import Settings

from recast_devstack.stack import Stack, StackConfig


async def _up(data_dir: Path, env_file: Path | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stack = Stack(StackConfig.from_environment(data_dir))
    try:
        env = await stack.start()
        lines = "".join(f"export {k}='{v}'\n" for k, v in sorted(env.env.items()))
        if env_file:
            env_file.write_text(lines)
        sys.stdout.write(lines)
        sys.stdout.write(f"# stack ready in {env.timings['total']:.1f}s; Ctrl-C stops it\n")
        sys.stdout.flush()
        await stop.wait()
        return 0
    finally:
        await stack.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start SeaweedFS, Tansu and Postgres; print the RECAST_* env")
    up.add_argument("--data-dir", type=Path, default=Path("data"))
    up.add_argument("--env-file", type=Path, default=None)
    status = sub.add_parser("queue-status", help="consumer lag per group")
    status.add_argument("groups", nargs="*", default=list(GROUP_TOPICS))
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if args.command == "up":
        sys.exit(asyncio.run(_up(args.data_dir.resolve(), args.env_file)))
    result = asyncio.run(queue_status(Settings(), args.groups))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
