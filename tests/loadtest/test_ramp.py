"""The interleaved ramp that `make bench` uses to compare systems under the same host drift."""
from loadtest.ramp import ramp_together, rates
from loadtest.results import Results


def _step(capacity: float, calls: list[tuple[str, float]], name: str):
    def run(rate: float) -> Results:
        calls.append((name, rate))
        r = Results(offered_rate=rate, duration_s=1.0)
        r.sent = int(rate)
        r.completed = int(min(rate, capacity))
        for _ in range(r.completed):
            r.record(5.0)
        if rate > capacity:
            r.rejected["overloaded"] = int(rate - capacity)
        return r
    return run


def test_systems_alternate_at_each_rate_and_each_stops_at_its_own_peak() -> None:
    calls: list[tuple[str, float]] = []
    found = ramp_together({"a": _step(20, calls, "a"), "b": _step(40, calls, "b")}, rates("10:10:60"), 100.0)
    assert found["a"].peak == 20 and found["b"].peak == 40
    # Interleaved: at 10/s and 20/s both ran before the next rate; a's miss at 30 is retried once.
    assert calls[:4] == [("a", 10), ("b", 10), ("a", 20), ("b", 20)]
    assert calls[4:7] == [("a", 30), ("a", 30), ("b", 30)]
    # After a stops, only b goes on; after b misses twice, nothing runs.
    assert calls[7:] == [("b", 40), ("b", 50), ("b", 50)]


def test_a_system_that_never_holds_has_no_peak() -> None:
    calls: list[tuple[str, float]] = []
    found = ramp_together({"a": _step(5, calls, "a")}, rates("10:10:30"), 100.0)
    assert found["a"].peak is None
    assert calls == [("a", 10), ("a", 10)]
