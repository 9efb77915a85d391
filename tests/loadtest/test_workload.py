from __future__ import annotations

from loadtest.results import Results
from loadtest.workload import Mix, Template


def test_templates_make_unique_valid_data() -> None:
    mix = Mix([Template("ean13", "png", "{n12}", 1), Template("code128", "svg", "L-{n}", 1)])
    requests = [mix.request(n) for n in range(50)]
    assert len({r["data"] for r in requests}) == 50
    for r in requests:
        if r["symbology"] == "ean13":
            assert len(r["data"]) == 12 and r["data"].isdigit()


def test_results_report_percentiles_and_losses() -> None:
    results = Results(offered_rate=10, duration_s=2)
    for ms in (1, 2, 3, 4, 100):
        results.record(ms)
    results.sent, results.completed = 6, 5
    summary = results.summary()
    # HdrHistogram keeps 3 significant digits.
    assert summary["latency_ms"]["p50"] == 3.0 and abs(summary["latency_ms"]["max"] - 100.0) < 0.1
    assert summary["lost"] == 1 and summary["achieved_rate"] == 2.5
