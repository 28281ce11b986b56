"""The chunked-inference bench's comparison: wall ratios to the run with the fewest replicas, one sha256 in all."""
from __future__ import annotations

from recast_devstack.chunk_bench import compare, generate_csv


def run(replicas: int, wall: float, sha: str) -> dict:
    return {"replicas": replicas, "wall_seconds": wall, "output_sha256": sha}


def test_ratios_are_to_the_fewest_replicas_whatever_the_order() -> None:
    expected = {"base_replicas": 1, "wall_ratio": {"1": 1.0, "2": 0.62}, "same_output": True}
    assert compare([run(1, 80.0, "aa"), run(2, 50.0, "aa")]) == expected
    assert compare([run(2, 50.0, "aa"), run(1, 80.0, "aa")]) == expected


def test_a_different_output_or_a_failed_run_is_not_the_same_output() -> None:
    assert compare([run(1, 80.0, "aa"), run(2, 50.0, "bb")])["same_output"] is False
    failed = compare([run(1, 80.0, "aa"), {"replicas": 2, "error": "the run ended failed"}])
    assert failed == {"base_replicas": 1, "wall_ratio": {"1": 1.0}, "same_output": False}
    assert compare([{"replicas": 1, "error": "x"}]) == {"base_replicas": None, "wall_ratio": {}, "same_output": False}


def test_the_generated_input_is_at_least_the_size_asked_and_shaped_like_the_train_input(tmp_path) -> None:
    path = tmp_path / "big.csv"
    rows = generate_csv(path, 0.5, block_rows=1000, blocks=3)
    lines = path.read_text().splitlines()
    assert path.stat().st_size >= 0.5 * 2**20 and len(lines) == rows + 1 and rows % 1000 == 0
    assert lines[0] == "id,name,date,amount,city" and all(len(line.split(",")) == 5 for line in lines[1:])
    assert lines[1] != lines[1001] and lines[1] == lines[3001]  # blocks in turn
