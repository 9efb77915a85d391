"""Latency and outcome bookkeeping: HdrHistogram of milliseconds (stored as microseconds)."""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from loadtest.stages import STAGES, stage_durations

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, 600_000_000, 3)  # 1 µs to 10 minutes, 3 significant digits


@dataclass
class Results:
    offered_rate: float
    duration_s: float
    histogram: HdrHistogram = field(default_factory=_histogram)
    stages: dict[str, HdrHistogram] = field(default_factory=dict)  # per-stage latency, from job traces
    sent: int = 0
    completed: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # final `failed` results by code
    rejected: Counter[str] = field(default_factory=Counter)  # gateway rejections by code
    timeline: list[tuple[float, int, float]] = field(default_factory=list)  # (second, done, p99 ms)
    # What came since the last report (about a second), then cleared: the per-second rows.
    interval: HdrHistogram = field(default_factory=_histogram)
    interval_started: float = 0.0
    # (second, results/s, p50, p90, p99, max ms) of each interval: latency over time.
    per_second: list[tuple[float, float, float, float, float, float]] = field(default_factory=list)

    def record(self, latency_ms: float) -> None:
        value = max(1, int(latency_ms * 1000))
        self.histogram.record_value(value)
        self.interval.record_value(value)

    def close_interval(self, elapsed: float) -> None:
        """One per-second row from what was recorded since the last, and start the next."""
        span = elapsed - self.interval_started
        if span <= 0:
            return
        count = self.interval.get_total_count()
        ms = [self.interval.get_value_at_percentile(p) / 1000.0 if count else 0.0 for p in (50, 90, 99)]
        peak = self.interval.get_max_value() / 1000.0 if count else 0.0
        self.per_second.append((round(elapsed, 1), round(count / span, 1), *(round(v, 2) for v in ms), round(peak, 2)))
        self.interval.reset()
        self.interval_started = elapsed

    def hgrm(self) -> str:
        """HdrHistogram's percentile distribution of the latencies, in milliseconds (`.hgrm`)."""
        out = io.BytesIO()
        if self.histogram.get_total_count():
            self.histogram.output_percentile_distribution(out, 1000.0)
        return out.getvalue().decode()

    def record_stages(self, trace: dict[str, float]) -> None:
        for label, ms in stage_durations(trace).items():
            # Clocks of one machine: a stage can read a hair below zero when its ends are stamped
            # in different processes; it is recorded as 1 µs.
            self.stages.setdefault(label, _histogram()).record_value(max(1, int(ms * 1000)))

    @property
    def errors(self) -> int:
        return sum(self.failed.values()) + sum(self.rejected.values())

    def percentile_ms(self, p: float) -> float:
        return self.histogram.get_value_at_percentile(p) / 1000.0

    def summary(self) -> dict[str, Any]:
        done = self.completed + sum(self.failed.values())
        return {
            "offered_rate": self.offered_rate,
            "achieved_rate": round(done / self.duration_s, 1) if self.duration_s else 0.0,
            "duration_s": round(self.duration_s, 2),
            "sent": self.sent, "completed": self.completed,
            "lost": self.sent - done - sum(self.rejected.values()),
            "failed": dict(self.failed), "rejected": dict(self.rejected),
            "latency_ms": {**{f"p{p:g}": round(self.percentile_ms(p), 2) for p in PERCENTILES},
                           "max": round(self.histogram.get_max_value() / 1000.0, 2),
                           "mean": round(self.histogram.get_mean_value() / 1000.0, 2)},
            "stages_ms": {label: {"p50": round(h.get_value_at_percentile(50) / 1000.0, 2),
                                  "p99": round(h.get_value_at_percentile(99) / 1000.0, 2)}
                          for label, _, _ in STAGES if (h := self.stages.get(label)) is not None},
            "timeline": self.timeline,
            "per_second": self.per_second,
            "hgrm": self.hgrm(),
        }


def table(summary: dict[str, Any]) -> str:
    lat = summary["latency_ms"]
    return (f"offered {summary['offered_rate']:g}/s, achieved {summary['achieved_rate']:g}/s over "
            f"{summary['duration_s']:g} s: sent {summary['sent']}, completed {summary['completed']}, "
            f"failed {summary['failed'] or 0}, rejected {summary['rejected'] or 0}, lost {summary['lost']}\n"
            f"latency ms: p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}  p99.9 {lat['p99.9']}  "
            f"max {lat['max']}")


def stage_table(summary: dict[str, Any]) -> str:
    """Per-stage p50 / p99 from the jobs' traces (empty when the gateway sent none)."""
    stages = summary.get("stages_ms") or {}
    lines = [f"  {label:32} p50 {v['p50']:8.2f}  p99 {v['p99']:8.2f}" for label, v in stages.items()]
    return "\n".join(["per stage (ms):", *lines]) if lines else ""
