"""The tables `make bench` writes into docs/benchmarks.md, from a results document."""
from __future__ import annotations

import pytest

from devstack.bench import report as bench_report


def _step(rate: float, p99: float) -> dict:
    return {"offered_rate": rate, "achieved_rate": rate * 0.99, "sent": 10, "completed": 10, "lost": 0,
            "failed": {}, "rejected": {}, "duration_s": 6,
            "latency_ms": {"p50": 20.0, "p90": 30.0, "p99": p99, "p99.9": p99 + 5, "max": p99 + 9, "mean": 22.0},
            "stages_ms": {"end to end": {"p50": 19.5, "p99": p99}}, "timeline": []}


def results() -> dict:
    cpu_one = {"router": 2.0, "notifier": 2.0, "generator-1": 4.0, "gateway-1": 3.0, "kafka": 5.0, "minio": 2.5,
               "load tool": 1.5}
    cpu_two = {**cpu_one, "gateway-1": 2.5, "gateway-2": 2.5}  # 5.0 in all: 2.0 more than one gateway
    return {
        "machine": {"cpus": "2", "cpu": "Xeon", "memory_gib": "24", "os": "Linux", "python": "3.11.7",
                    "java": "openjdk 17", "node": "v20", "kafka": "4.4.0", "minio": "v0", "aiokafka": "0.14.0",
                    "faust-streaming": "0.15.3", "aiohttp": "3.14.5", "zint-bindings": "1.2.2",
                    "zxing-cpp": "3.1.1", "Pillow": "13.0.0"},
        "command": "python -m devstack.bench", "started": 1_795_000_000, "p99_bound_ms": 100.0,
        "mix": [{"symbology": "code128", "format": "png", "data": "L-{n}", "weight": 1}],
        "pipeline": {
            "1 gateway, 1 generator": {"ramp": [_step(50, 40), _step(100, 300)], "peak": 50,
                                       "half": _step(25, 35), "cpu_ms_per_job": cpu_one,
                                       "peak_rss_mib": {"router": 54, "notifier": 55, "generator-1": 90,
                                                        "gateway-1": 88}},
            "2 gateways, 1 generator": {"ramp": [_step(50, 45)], "peak": None, "cpu_ms_per_job": cpu_two,
                                        "peak_rss_mib": {"gateway-1": 80, "gateway-2": 81}},
        },
        "bwip": {"ramp": [_step(50, 60), _step(75, 400)], "peak": 50, "half": _step(25, 30), "version": "4.11.4",
                 "cpu_ms_per_job": {"bwip-js": 12.0, "load tool": 1.2}, "peak_rss_mib": {}},
        "ceiling": {"jobs": 1000, "seconds": 4.0, "rate": 250.0, "render_verify_ms_median": 0.9,
                    "uploads_only_rate": 370.0},
    }


def test_the_summary_table_has_every_system_with_its_peak_and_half_peak_latency() -> None:
    text = bench_report.render(results())
    assert "| pipeline, 1 gateway, 1 generator | 50 | 25 | 20.0 | 30.0 | 35.0 |" in text
    assert "| pipeline, 2 gateways, 1 generator | none | none | - |" in text
    assert "| bwip-js 4.11.4 HTTP handler (render only) | 50 | 25 |" in text
    assert "**250 barcodes/s**" in text and "370/s" in text
    assert "| 1 gateway, 1 generator | 54 | 55 | 90 | 88 |" in text


def test_cpu_per_job_sums_replicas_of_a_kind() -> None:
    text = bench_report.render(results())
    row = next(line for line in text.splitlines() if line.startswith("| pipeline, 2 gateways, 1 generator | 5.00"))
    assert row.endswith("| 22.00 |")  # every process's ms per job, summed


def test_projection_charges_every_gateway_for_the_feed_of_all_jobs() -> None:
    lines = bench_report.projection(results())
    text = "\n".join(lines)
    # One gateway: 3.0 ms per job, of which 2.0 ms (the second gateway's extra) is the feed.
    assert "1.00 ms for its own clients' jobs plus 2.00 ms" in text
    one = next(line for line in lines if line.startswith("| 1 |"))
    four = next(line for line in lines if line.startswith("| 4 |"))
    assert one == "| 1 | 333 | 500 | 250 | 500 |"
    assert four.split(" | ")[1] == "444"  # 4 x 1000 / (1 + 4 x 2): far from 4x
    assert "one broker core carries about 200 jobs/s" in text


def test_splice_replaces_only_what_lies_between_the_markers() -> None:
    doc = f"# Benchmarks\nprose\n{bench_report.BEGIN}\nold\n{bench_report.END}\nmore prose\n"
    out = bench_report.splice(doc, "new table")
    assert out == f"# Benchmarks\nprose\n{bench_report.BEGIN}\nnew table\n{bench_report.END}\nmore prose\n"
    with pytest.raises(ValueError):
        bench_report.splice("no markers", "x")
