"""A long profile reports its progress; the profiler bench measures a generated file."""
from __future__ import annotations

from recast_cli.profile_bench import generate_csv, run_profile_bench
from recast_engine.profiling import profile_pair_files


def test_profiling_a_pair_reports_growing_progress_over_both_files(tmp_path):
    source, expected = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = generate_csv(source, 3)
    expected.write_text("a,b\n" + "x,1\n" * 60_000)
    seen: list[tuple[int, int | None, int]] = []
    profile = profile_pair_files(source, expected, "auto", lambda done, total, n: seen.append((done, total, n)))
    total = source.stat().st_size + expected.stat().st_size
    assert len(seen) >= 3 and all(t == total for _, t, _ in seen)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen) and seen[-1][0] > source.stat().st_size
    assert profile["input"]["data_rows"] == rows and profile["expected"]["data_rows"] == 60_000


def test_the_profile_bench_reports_throughput_and_peak_memory_of_one_pass(tmp_path):
    figures = run_profile_bench(2, workdir=tmp_path)
    assert "error" not in figures, figures
    assert figures["bytes"] >= 2_000_000 and figures["data_rows"] > 20_000 and figures["columns"] == 7
    # peak RSS is printed by make bench; here the child may be forked from a large test process
    assert figures["mb_per_second"] > 0 and figures["peak_rss_mb"] > 0
    assert list(tmp_path.iterdir()) == []  # the generated file is gone
