"""Determinism: the search's budgets count work, so the same pair gives the same program on a busy machine."""
from __future__ import annotations

import multiprocessing
import random
import time

from recast_engine.synthesis.search import learn


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


def _varied_pairs() -> list[tuple[list[list[str]], list[list[str]]]]:
    """Row-local text and date rewrites, a group-by sum, a filter, arithmetic and a sort: ten kinds, three each."""
    rng = random.Random(7)
    first = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
    last = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
    cities = ["Lyon", "Paris", "Nice", "Oslo", "Bergen"]
    pairs = []
    for k in range(30):
        n = 3 + k % 4
        people = [(rng.choice(first), rng.choice(last), rng.choice(cities), str(rng.randint(1, 99)),
                   f"20{rng.randint(10, 29)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   f"{rng.randint(1, 40)}.{rng.randint(0, 9)}") for _ in range(n)]
        head = ["first", "last", "city", "n", "date", "price"]
        inp = [head] + [list(p) for p in people]
        kind = k % 10
        if kind == 0:
            out = [["last", "first"]] + [[p[1], p[0]] for p in people]
        elif kind == 1:
            out = [["name"]] + [[f"{p[0]} {p[1]}"] for p in people]
        elif kind == 2:
            out = [["initials"]] + [[f"{p[0][0]}.{p[1][0]}."] for p in people]
        elif kind == 3:
            out = [["city", "year"]] + [[p[2].upper(), p[4][:4]] for p in people]
        elif kind == 4:
            out = [["date"]] + [["/".join(reversed(p[4].split("-")))] for p in people]
        elif kind == 5:
            out = [["town", "count", "first"]] + [[p[2], p[3], p[0].lower()] for p in people]
        elif kind == 6:
            sums: dict[str, int] = {}
            for p in people:
                sums[p[2]] = sums.get(p[2], 0) + int(p[3])
            out = [["city", "n"]] + [[city, str(total)] for city, total in sums.items()]
        elif kind == 7:
            out = [["first", "n"]] + [[p[0], p[3]] for p in people if int(p[3]) >= 50]
        elif kind == 8:
            out = [["first", "total"]] + [[p[0], f"{int(p[3]) * float(p[5]):.1f}"] for p in people]
        else:
            out = [["first", "n"]] + [[p[0], p[3]] for p in sorted(people, key=lambda p: int(p[3]))]
        pairs.append((inp, out))
    return pairs


def _outcomes(pairs) -> list[tuple[str | None, str, int]]:
    found = []
    for inp, out in pairs:
        result = learn(inp, out, timeout=20.0)
        best = result.programs[0].fingerprint() if result.programs else None
        found.append((best, result.confidence, result.work))
    return found


def test_thirty_varied_tasks_learn_the_same_programs_with_two_cpu_bound_processes_beside() -> None:
    pairs = _varied_pairs()
    quiet = _outcomes(pairs)
    context = multiprocessing.get_context("fork")
    burners = [context.Process(target=_burn, args=(300.0,), daemon=True) for _ in range(2)]
    for burner in burners:
        burner.start()
    try:
        busy = _outcomes(pairs)
    finally:
        for burner in burners:
            burner.terminate()
            burner.join(5)
    assert sum(1 for best, _, _ in quiet if best) >= 20  # the tasks are learnable: the comparison means something
    assert busy == quiet
