"""`recast learn --backend` chooses the script kind; both kinds convert the same way."""
from __future__ import annotations

from pathlib import Path

from recast_cli.main import main

TRAIN_IN = "name,city\nalice smith,paris\nbob jones,rome\ncarol white,oslo\n"
TRAIN_OUT = "name,city\nALICE SMITH,paris\nBOB JONES,rome\nCAROL WHITE,oslo\n"


def test_learn_writes_a_vectorized_script_on_request_with_the_same_conversion(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(TRAIN_IN)
    (tmp_path / "out.csv").write_text(TRAIN_OUT)
    scripts = {}
    for backend in ("cell", "arrow"):
        target = tmp_path / f"{backend}.py"
        assert main(["learn", str(tmp_path / "in.csv"), str(tmp_path / "out.csv"), "-o", str(target),
                     "--backend", backend]) == 0
        scripts[backend] = target.read_text()
    assert "import pyarrow" in scripts["arrow"] and "import pyarrow" not in scripts["cell"]
    for backend in ("cell", "arrow"):
        namespace: dict = {"__name__": "learned"}
        exec(compile(scripts[backend], backend, "exec"), namespace)  # noqa: S102 - the script under test
        assert namespace["main"]([str(tmp_path / "in.csv"), str(tmp_path / f"{backend}.csv")]) == 0
    assert (tmp_path / "arrow.csv").read_bytes() == (tmp_path / "cell.csv").read_bytes() == TRAIN_OUT.encode()
