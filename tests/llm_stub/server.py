"""An OpenAI-compatible stub: POST /v1/chat/completions answers with a canned script in a ```python block.

    python tests/llm_stub/server.py --script PATH [--script PATH2 ...] [--port 0] [--requests-log FILE]

The Nth request is answered with the Nth script (the last one once they run out), so a test can play a model
that gets it wrong first and repairs its script after seeing the diff.

Prints `LISTENING <port>` on stdout once it accepts connections. Every request body is appended to the
requests log (one JSON line), so a test can check what the planner asked. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(script_paths: list[Path], requests_log: Path | None):
    answered = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "invalid JSON"}})
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"unknown path {self.path}"}})
                return
            if requests_log is not None:
                with requests_log.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(request) + "\n")
            script = script_paths[min(len(answered), len(script_paths) - 1)].read_text(encoding="utf-8")
            answered.append(1)
            content = f"Here is the script.\n```python\n{script}\n```\n"
            self._send(200, {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "stub"),
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            })

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--script", type=Path, action="append", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--requests-log", type=Path, default=None)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.script, args.requests_log))
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
