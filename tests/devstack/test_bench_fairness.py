"""What `make bench-fairness` concludes from its steps: percentiles, the table, the verdict."""
from __future__ import annotations

from typing import Any

import pytest

from devstack.bench import fairness_report as report
from devstack.bench.fairness_callers import PHASES


def _step(attacked: bool, validate: list[float], jobs: list[float], failed: int = 0, accepted: int = 0,
          rejected: int = 0, seconds: float = 10.0, drained: bool = True, rows: int | None = None) -> dict[str, Any]:
    def stream(latencies: list[float]) -> dict[str, Any]:
        outcomes = {"ok": len(latencies), **({"timeout": failed} if failed else {})}
        return {"latencies_ms": latencies, "outcomes": outcomes}
    attacker = {"seconds": seconds, "accepted": accepted, "rejected_429": rejected, "other": {}, "jobs": 0,
                "batch_rows": rows}
    return {"phase": "A", "attack": "validate Han Xin v84", "attacked": attacked, "drained": drained,
            "victim": {"validate": stream(validate), "jobs": stream(jobs)},
            "attacker": attacker if attacked else None}


def test_percentile_interpolates_between_the_nearest_ranks() -> None:
    assert report.percentile([], 50) is None
    assert report.percentile([7.0], 99) == 7.0
    assert report.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert report.percentile([float(n) for n in range(1, 101)], 99) == pytest.approx(99.01)
    assert report.percentile([1.0, 2.0], 0) == 1.0 and report.percentile([1.0, 2.0], 100) == 2.0


def test_a_phase_pools_its_rounds_and_compares_the_medians() -> None:
    steps = [_step(False, [1.0, 2.0, 3.0], [20.0, 30.0, 40.0]),
             _step(True, [2.0, 3.0, 4.0], [40.0, 50.0, 60.0], accepted=30, rejected=5),
             _step(False, [2.0, 3.0, 4.0], [30.0, 30.0, 30.0]),
             _step(True, [4.0, 5.0, 6.0], [50.0, 60.0, 70.0], accepted=10, rejected=1)]
    s = report.phase_summary(steps)
    # Pooled: alone validate 1,2,2,3,3,4 -> p50 2.5, p99 3.95 (one decimal: 4.0); attacked 2,3,4,4,5,6 -> 4.0.
    assert s["validate"]["alone"] == {"n": 6, "p50": 2.5, "p99": 4.0}
    assert s["validate"]["p50_ratio"] == 1.6
    assert s["validate"]["p50_ratio_per_round"] == [1.5, 1.67]  # 3/2, 5/3
    assert s["jobs"]["p50_ratio"] == 1.83  # 55 / 30
    assert s["attacker"] == {"accepted": 40, "accepted_per_s": 2.0, "rejected_429": 6, "other": {},
                             "undrained_steps": 0, "batch_rows": []}
    assert s["meets"] is True


def test_a_phase_fails_on_a_median_past_twice_or_a_failed_victim_request() -> None:
    slow = report.phase_summary([_step(False, [1.0], [10.0]), _step(True, [2.5], [10.0])])
    assert slow["validate"]["p50_ratio"] == 2.5 and not slow["meets"]
    failed = report.phase_summary([_step(False, [1.0], [10.0]), _step(True, [1.0], [10.0], failed=1)])
    assert failed["jobs"]["failed"] == {"alone": 0, "attacked": 1} and not failed["meets"]
    # No latency at all while attacked (everything failed): no ratio, not met.
    empty = report.phase_summary([_step(False, [1.0], [10.0]), _step(True, [], [10.0], failed=3)])
    assert empty["validate"]["p50_ratio"] is None and not empty["meets"]


def test_the_table_has_a_row_per_victim_request_and_the_attacker_once() -> None:
    phase = report.phase_summary([_step(False, [1.6], [30.0]), _step(True, [450.0], [3000.0], accepted=31)])
    lines = report.table([phase]).splitlines()
    assert lines[0].startswith("| phase | attacker sends | victim request | alone p50 ms |")
    assert lines[2] == ("| A | validate Han Xin v84 | validate | 1.6 | 1.6 | 450 | 450 | 281x (281x) | 0/0 | 3.1 | 0 "
                        "| **no** |")
    assert lines[3] == "|  |  | jobs | 30 | 30 | 3000 | 3000 | 100x (100x) | 0/0 |  |  |  |"
    assert len(lines) == 4


def test_the_verdict_says_by_how_much_and_what_else_went_wrong() -> None:
    met = report.phase_summary([_step(False, [2.0], [30.0]), _step(True, [3.0], [33.0])])
    [line] = report.verdicts([met])
    assert line == ("Phase A (validate Han Xin v84) meets the 2x goal: validate p50 2 -> 3 ms (1.50x); "
                    "jobs p50 30 -> 33 ms (1.10x).")
    missed = report.phase_summary([_step(False, [2.0], [30.0]), _step(True, [40.0], [33.0], failed=2, drained=False)])
    [line] = report.verdicts([missed])
    assert line.startswith("Phase A (validate Han Xin v84) DOES NOT meet the 2x goal: validate p50 2 -> 40 ms (20.0x)")
    assert "4 victim requests failed while attacked" in line and "1 attacked step(s) not drained" in line
    # Phase C: how many rows the attacker's batches had once the gateway stopped refusing them.
    cut = report.phase_summary([_step(False, [2.0], [30.0]), _step(True, [3.0], [33.0], rows=33),
                                _step(False, [2.0], [30.0]), _step(True, [3.0], [33.0], rows=18)])
    assert report.verdicts([cut])[0].endswith("(1.10x); the attacker's batches had 18, 33 rows.")


def test_the_attackers_data_differ_unless_asked_to_repeat() -> None:
    batch = PHASES["C"].body(7, rows=3, repeat=False)
    assert batch["symbology"] == "qrcode" and len(batch["items"]) == 3
    assert len({item["data"] for item in batch["items"]}) == 3
    assert all(len(item["data"]) == 7088 and item["data"].isdigit() for item in batch["items"])
    repeated = PHASES["C"].body(7, rows=2, repeat=True)["items"]
    assert repeated[0] == repeated[1]
    assert PHASES["B"].body(7, rows=60, repeat=False) == {"data": "A7", "symbology": "hanxin",
                                                          "options": {"version": 84}, "format": "pdf"}
    assert PHASES["A"].body(7, rows=60, repeat=True) == PHASES["A"].body(8, rows=60, repeat=True)
    assert PHASES["A"].body(7, rows=60, repeat=False) != PHASES["A"].body(8, rows=60, repeat=False)
