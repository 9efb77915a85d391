"""Finding the peak sustainable rate: run steps of increasing rate until one misses the bound.

A step that misses is run once more before the ramp stops: on a small shared machine one stall
(a broker log roll, a GC pause in the load tool) can sink a single step that the system sustains,
and the peak should not hinge on it. Both runs are kept in `steps`, so a reader sees the miss.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loadtest.results import Results


def rates(spec: str) -> list[float]:
    """`start:step:max` -> [start, start+step, ..., max]."""
    try:
        start, step, stop = (float(x) for x in spec.split(":"))
    except ValueError:
        raise ValueError(f"a ramp is start:step:max, got {spec!r}") from None
    if start <= 0 or step <= 0 or stop < start:
        raise ValueError(f"a ramp needs 0 < start <= max and step > 0, got {spec!r}")
    return [start + i * step for i in range(int((stop - start) / step) + 1)]


def sustainable(results: Results, p99_bound_ms: float) -> bool:
    """No errors, nothing lost, at least 95% of the offered rate achieved, p99 within the bound."""
    summary = results.summary()
    return (results.errors == 0 and summary["lost"] == 0
            and summary["achieved_rate"] >= 0.95 * results.offered_rate
            and summary["latency_ms"]["p99"] <= p99_bound_ms)


@dataclass
class Ramp:
    steps: list[dict[str, Any]] = field(default_factory=list)  # each step's summary
    peak: float | None = None  # the highest sustainable rate


def ramp(run_step: Callable[[float], Results], step_rates: list[float], p99_bound_ms: float,
         report: Callable[[Results], None] = lambda _: None, attempts: int = 2) -> Ramp:
    """`attempts` runs of a step that misses before the ramp stops there (1 = no second chance)."""
    out = Ramp()
    for rate in step_rates:
        for _ in range(attempts):
            results = run_step(rate)
            out.steps.append(results.summary())
            report(results)
            if sustainable(results, p99_bound_ms):
                break
        else:
            return out
        out.peak = rate
    return out


def ramp_together(run_steps: dict[str, Callable[[float], Results]], step_rates: list[float], p99_bound_ms: float,
                  report: Callable[[str, Results], None] = lambda _n, _r: None,
                  attempts: int = 2) -> dict[str, Ramp]:
    """Ramp several systems interleaved: at each rate, every system still holding runs its step
    (up to `attempts` times) before the next rate. A slow drift of the host's speed then hits
    every system alike, which running one ramp after another does not."""
    out = {name: Ramp() for name in run_steps}
    holding = list(run_steps)
    for rate in step_rates:
        if not holding:
            break
        for name in list(holding):
            for _ in range(attempts):
                results = run_steps[name](rate)
                out[name].steps.append(results.summary())
                report(name, results)
                if sustainable(results, p99_bound_ms):
                    out[name].peak = rate
                    break
            else:
                holding.remove(name)
    return out
