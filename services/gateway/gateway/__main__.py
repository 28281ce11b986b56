"""`python -m gateway [--host H] [--port P]`: serve the REST API with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn
from recast_common.logs import setup_logging
from recast_common.settings import Settings
from recast_common.tracing import setup_tracing, shutdown_tracing

from gateway.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-gateway", description="Recast REST gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    setup_logging("gateway", args.log_level)
    setup_tracing("gateway")
    try:
        # log_config=None: uvicorn's loggers keep the JSON handler of setup_logging (no coloured lines)
        uvicorn.run(create_app(Settings()), host=args.host, port=args.port, log_level=args.log_level,
                    log_config=None)
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
