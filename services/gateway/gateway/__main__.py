"""`python -m gateway [--host H] [--port P]`: serve the REST API with uvicorn."""

from __future__ import annotations

import argparse
import logging

import uvicorn
from recast_common.settings import Settings

from gateway.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-gateway", description="Recast REST gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(Settings()), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
