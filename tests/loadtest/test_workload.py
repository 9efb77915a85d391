from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from loadtest.results import Results
from loadtest.workload import LabelMix, Mix, Template


def test_templates_make_unique_valid_data() -> None:
    mix = Mix([Template("ean13", "png", "{n12}", 1), Template("code128", "svg", "L-{n}", 1)])
    requests = [mix.request() for _ in range(50)]
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


def test_later_runs_with_the_same_mix_send_new_data() -> None:
    """Ramp steps share one Mix: a repeat would be a cache hit instead of a render."""
    mix = Mix([Template("code128", "png", "L-{n}", 1)])
    first = {mix.request()["data"] for _ in range(20)}
    second = {mix.request()["data"] for _ in range(20)}
    assert not first & second


def test_stage_durations_come_from_the_trace() -> None:
    from loadtest.stages import stage_durations

    trace = {"client_send": 100.0, "gateway_in": 101.0, "routed": 104.5, "client_receive": 130.0}
    stages = stage_durations(trace)
    assert stages["client -> gateway"] == 1.0 and stages["gateway -> Kafka -> router"] == 3.5
    assert stages["end to end"] == 30.0
    assert "generator: upload" not in stages  # a stage needs both of its ends


def _step_with_latency(rate: float, latency_ms: float) -> Results:
    results = Results(offered_rate=rate, duration_s=1)
    results.sent = results.completed = int(rate)
    for _ in range(int(rate)):
        results.record(latency_ms)
    return results


def test_ramp_stops_at_a_step_that_misses_twice() -> None:
    from loadtest.ramp import ramp, rates

    found = ramp(lambda rate: _step_with_latency(rate, 20 if rate < 300 else 500), rates("100:100:500"),
                 p99_bound_ms=100)
    assert found.peak == 200
    assert [s["offered_rate"] for s in found.steps] == [100, 200, 300, 300]


def _stalls_once_at_200() -> Callable[[float], Results]:
    stalled: list[float] = []

    def step(rate: float) -> Results:
        if rate == 200 and not stalled:  # one stall, the first time 200/s runs
            stalled.append(rate)
            return _step_with_latency(rate, 500)
        return _step_with_latency(rate, 20 if rate < 400 else 500)
    return step


def test_ramp_runs_a_missed_step_again_and_goes_on_when_the_miss_was_a_stall() -> None:
    from loadtest.ramp import ramp, rates

    found = ramp(_stalls_once_at_200(), rates("100:100:500"), p99_bound_ms=100)
    assert found.peak == 300
    assert [s["offered_rate"] for s in found.steps] == [100, 200, 200, 300, 400, 400]
    assert ramp(_stalls_once_at_200(), rates("100:100:500"), p99_bound_ms=100, attempts=1).peak == 100


def test_other_fields_of_a_mix_entry_go_into_every_request(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mix.json"
    path.write_text('[{"symbology": "qr", "data": "Q-{n}", "progress": true, "options": {"ecc": "H"}}]')
    request = Mix.load(path).request()
    assert request["progress"] is True and request["options"] == {"ecc": "H"}
    assert request["symbology"] == "qr" and request["format"] == "png" and request["data"].startswith("Q-")


def test_a_label_mix_repeats_the_popular_codes_by_zipf() -> None:
    mix = LabelMix(skus=2000, s=1.1, seed=3)
    drawn = Counter(mix.request()["data"] for _ in range(20_000))
    assert set(drawn) <= set(mix.codes) and len(mix.codes) == 2000
    first, second = drawn["SKU-00001"], drawn["SKU-00002"]
    assert 1.8 < first / second < 2.6  # rank 1 against rank 2: 2^1.1 = 2.14
    assert sum(n for _, n in drawn.most_common(100)) > 0.5 * 20_000  # most requests are repeats of a few
