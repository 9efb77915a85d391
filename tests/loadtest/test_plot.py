"""The load tool's pictures and percentile files, from Results as a run fills them."""
from __future__ import annotations

import random
from pathlib import Path

from PIL import Image

from loadtest.plot import distribution, write_plot
from loadtest.results import Results


def _step(rate: float, seconds: int = 5, seed: int = 1) -> dict:
    """A step as the runner leaves it: latencies recorded, one interval closed per second."""
    rng = random.Random(seed)
    results = Results(offered_rate=rate, duration_s=float(seconds))
    for second in range(1, seconds + 1):
        for _ in range(int(rate)):
            results.record(rng.lognormvariate(2.5, 0.4) + (40.0 if rng.random() < 0.01 else 0.0))
        results.completed += int(rate)
        results.sent += int(rate)
        results.close_interval(float(second))
    return results.summary()


def test_a_step_keeps_its_hgrm_and_one_row_per_second() -> None:
    step = _step(50)
    assert [row[0] for row in step["per_second"]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(row[1] == 50.0 for row in step["per_second"])  # results per second
    assert all(row[2] <= row[3] <= row[4] <= row[5] for row in step["per_second"])  # p50 <= p90 <= p99 <= max
    rows = distribution(step["hgrm"])
    assert step["hgrm"].lstrip().startswith("Value") and "#[Max" in step["hgrm"]
    # Latency never falls as the percentile rises; the median row is near the summary's p50.
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(rows, rows[1:]))
    median = next(ms for ms, x in rows if x >= 2.0)
    assert abs(median - step["latency_ms"]["p50"]) / step["latency_ms"]["p50"] < 0.05


def test_a_ramp_gives_one_png_of_three_panels_and_an_hgrm_per_step(tmp_path: Path) -> None:
    steps = [_step(rate, seed=n) for n, rate in enumerate((20, 40, 60))]
    for step in steps:
        step["achieved_rate"] = step["offered_rate"]
    written = write_plot(steps, tmp_path / "run.png")
    assert [p.name for p in written] == ["run.png", "run-20rps.hgrm", "run-40rps.hgrm", "run-60rps.hgrm"]
    image = Image.open(tmp_path / "run.png")
    assert image.size == (900, 1200)
    # Drawn on, not blank: many colours, and the background is white.
    assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 50
    assert (tmp_path / "run-40rps.hgrm").read_text() == steps[1]["hgrm"]


def test_one_step_writes_its_hgrm_under_the_png_name(tmp_path: Path) -> None:
    written = write_plot([{**_step(30), "achieved_rate": 30.0}], tmp_path / "load.png")
    assert [p.name for p in written] == ["load.png", "load.hgrm"]


def test_a_rate_the_ramp_ran_twice_keeps_both_files(tmp_path: Path) -> None:
    steps = [{**_step(rate, seed=n), "achieved_rate": float(rate)} for n, rate in enumerate((20, 40, 40))]
    written = write_plot(steps, tmp_path / "ramp.png")
    assert [p.name for p in written] == ["ramp.png", "ramp-20rps.hgrm", "ramp-40rps.hgrm", "ramp-40rps-2.hgrm"]
    assert (tmp_path / "ramp-40rps-2.hgrm").read_text() == steps[2]["hgrm"]
