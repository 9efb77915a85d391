"""The tables `make bench` writes into docs/benchmarks.md, from a results document."""
from __future__ import annotations

import pytest

from devstack.bench import report as bench_report
from devstack.bench.pipeline import median_summary


def _step(rate: float, p99: float, p50: float = 20.0) -> dict:
    return {"offered_rate": rate, "achieved_rate": rate * 0.99, "sent": 10, "completed": 10, "lost": 0,
            "failed": {}, "rejected": {}, "duration_s": 6,
            "latency_ms": {"p50": p50, "p90": 30.0, "p99": p99, "p99.9": p99 + 5, "max": p99 + 9, "mean": 22.0},
            "stages_ms": {"end to end": {"p50": 19.5, "p99": p99}}, "timeline": []}


def _system(peaks: list, half_p99s: list[float], cpu: dict[str, float]) -> dict:
    runs = [_step(25, p99, p50=10.0 + n) for n, p99 in enumerate(half_p99s)]
    return {"ramps": [[_step(50, 40), _step(75, 300)] for _ in peaks], "peaks": peaks,
            "peak": sorted(peaks)[len(peaks) // 2] if all(peaks) else None,
            "half_runs": runs, "half": median_summary(runs) if runs else None,
            "cpu_ms_per_job": cpu, "peak_rss_mib": {"gateway": 88, "router": 54}}


def results() -> dict:
    cpu = {"router": 1.0, "notifier": 1.0, "generator": 3.0, "gateway": 2.0, "kafka": 2.0, "minio": 1.5,
           "load tool": 0.5}
    return {
        "machine": {"cpus": "2", "cpu": "Xeon", "memory_gib": "24", "os": "Linux", "python": "3.11.7",
                    "java": "openjdk 17", "node": "v20", "kafka": "4.4.0", "minio": "v0", "aiokafka": "0.14.0",
                    "aiohttp": "3.14.5", "zint-bindings": "1.2.2", "zxing-cpp": "3.1.1", "Pillow": "13.0.0"},
        "command": "python -m devstack.bench", "started": 1_795_000_000, "p99_bound_ms": 100.0, "runs": 3,
        "bwip_version": "4.11.4", "sizes": {"pipeline": [880, 209], "bwip-js": [880, 209]},
        "mix": [{"symbology": "code128", "format": "png", "data": "L-{n}", "weight": 1}],
        "systems": {
            "pipeline": _system([200, 250, 225], [30.0, 50.0, 40.0], cpu),
            "bwip-js": _system([100, 125, 100], [20.0, 22.0, 21.0], {"bwip-js": 4.0, "load tool": 0.4}),
            "bwip-js, 2 processes": _system([150, None, 150], [], {}),
        },
        "gateways": {"1": {"rate": 110, "completed": 2200, "serving_ms": 2.0, "other_ms": [],
                           "latency_ms": {"p50": 12.0, "p99": 30.0}},
                     "4": {"rate": 110, "completed": 2200, "serving_ms": 2.0, "other_ms": [0.1, 0.2, 0.3],
                           "latency_ms": {"p50": 13.0, "p99": 31.0}}},
        "ceiling": {"jobs": 1000, "seconds": 4.0, "rate": 500.0, "render_verify_ms_median": 0.9,
                    "uploads_only_rate": 370.0},
    }


def test_the_summary_gives_each_systems_median_peak_and_every_runs_value() -> None:
    text = bench_report.render(results())
    # Median of 200, 250, 225; the half-peak row is the run with the median p99 (40 ms).
    assert "| pipeline | 225 | 200, 250, 225 | 25 | 11.0 | 10, 11, 12 | 40.0 | 30, 50, 40 |" in text
    # A run where a system never held has no median peak and no half-peak run.
    assert "| bwip-js, 2 processes | none | 150, none, 150 | none | - |" in text
    assert "Same image from both: pipeline 880 x 209 px; bwip-js 880 x 209 px" in text


def test_the_pipeline_is_compared_with_every_system_and_the_ceiling() -> None:
    text = bench_report.render(results())
    assert "2.25x bwip-js" in text  # 225 / 100
    assert "**500 barcodes/s**" in text and "45 % of it" in text


def test_cpu_per_job_puts_a_clusters_workers_in_one_column() -> None:
    r = results()
    r["systems"]["bwip-js"]["cpu_ms_per_job"] = {"bwip-js": 0.1, "bwip-js-1": 2.0, "bwip-js-2": 2.5,
                                                 "load tool": 0.4}
    text = bench_report.render(r)
    row = next(line for line in text.splitlines() if line.startswith("| bwip-js | -"))
    assert "| 4.60 | 0.40 | 5.00 |" in row
    pipeline = next(line for line in text.splitlines() if line.startswith("| pipeline | 2.00"))
    assert pipeline.endswith("| 11.00 |")


def test_the_gateway_table_charges_each_replica_for_the_jobs_it_does_not_serve() -> None:
    text = "\n".join(bench_report.gateway_table(results()))
    # 4 gateways: the others spent 0.2 ms on average, 10 % of the serving one's 2.0 ms; the tier
    # carries 4 x 1000 / (2.0 + 3 x 0.2) = 1538 jobs/s.
    assert "| 4 | 110 | 2.00 | 0.100, 0.200, 0.300 | 10.0 % | 1538 | 13.0 / 31.0 |" in text
    assert "| 1 | 110 | 2.00 | - | - | 500 |" in text


def test_projection_uses_the_largest_gateway_count_measured() -> None:
    lines = bench_report.projection(results())
    one = next(line for line in lines if line.startswith("| 1 |"))
    assert one == "| 1 | 500 | 1000 | 333 | 1000 |"
    assert next(line for line in lines if line.startswith("| 16 |")).split(" | ")[1] == "3200"
    assert "one broker core carries about 500 jobs/s" in "\n".join(lines)


def test_splice_replaces_only_what_lies_between_the_markers() -> None:
    doc = f"# Benchmarks\nprose\n{bench_report.BEGIN}\nold\n{bench_report.END}\nmore prose\n"
    out = bench_report.splice(doc, "new table")
    assert out == f"# Benchmarks\nprose\n{bench_report.BEGIN}\nnew table\n{bench_report.END}\nmore prose\n"
    with pytest.raises(ValueError):
        bench_report.splice("no markers", "x")
