"""planner.llm against the real stub HTTP server (a subprocess), no mocks."""
import json
import sys
from pathlib import Path

from planner.llm import build_messages, propose_script
from recast_common.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_stub.process import llm_stub

CANNED = "import sys\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read())\n"


async def test_propose_script_returns_the_stub_script_and_sends_the_prompt(tmp_path):
    script = tmp_path / "canned.py"
    script.write_text(CANNED)
    requests_log = tmp_path / "requests.jsonl"
    with llm_stub(script, requests_log) as base_url:
        settings = Settings(llm_base_url=base_url, llm_model="stub-model")
        messages = build_messages({"input_rows": 2}, "a,b\n1,2", "b,a\n2,1", None)
        proposed = await propose_script(settings, messages)
    assert proposed == CANNED
    sent = [json.loads(line) for line in requests_log.read_text().splitlines()]
    assert len(sent) == 1 and sent[0]["model"] == "stub-model"
    assert "b,a\n2,1" in sent[0]["messages"][-1]["content"]
