"""Pictures of a load run, as HdrHistogram and wrk2 users read them, drawn with matplotlib:

1. the latency distribution: latency against percentile on a log scale of 1/(1 - p), so 50 %,
   90 %, 99 %, 99.9 % and 99.99 % are equally spaced (one line per rate);
2. latency and throughput over time: p50, p90 and p99 of each second, and results per second
   (ramp steps one after another);
3. the ramp: the percentiles and the achieved rate against the offered rate.

Beside the PNG, each step's `.hgrm` file (HdrHistogram's percentile distribution, milliseconds),
which HdrHistogram's own plotter and other tools read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display here or on a CI machine

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

PERCENTILES = ("p50", "p90", "p99", "p99.9")
COLOURS = {"p50": "tab:blue", "p90": "tab:green", "p99": "tab:red", "p99.9": "tab:purple", "max": "tab:gray"}
# Percentiles on the distribution's axis, as 1/(1 - p).
MARKS = {"50%": 2.0, "90%": 10.0, "99%": 100.0, "99.9%": 1_000.0, "99.99%": 10_000.0, "99.999%": 100_000.0}


def distribution(hgrm: str) -> list[tuple[float, float]]:
    """(latency ms, 1/(1 - percentile)) rows of an `.hgrm` text; the 100 % row, which has no
    finite x, is left out."""
    rows = []
    for line in hgrm.splitlines():
        cells = line.split()
        if len(cells) == 4 and not line.startswith("#") and cells[0][0].isdigit():
            rows.append((float(cells[0]), float(cells[3])))
    return rows


def _legend_above(ax: Axes, title: str, lines: list[Any]) -> None:
    """The legend in one row between the title and the plot: never over the data."""
    if lines:
        ax.legend(lines, [line.get_label() for line in lines], loc="lower left", bbox_to_anchor=(0.0, 1.0),
                  ncols=len(lines), fontsize="small", frameon=False, handlelength=1.5, columnspacing=1.0)
    ax.set_title(title, pad=22 if lines else 6)


def _names(steps: list[dict[str, Any]]) -> list[str]:
    """Each step by its rate; a rate the ramp ran again (a miss is tried twice) gets "run 2"."""
    seen: dict[float, int] = {}
    names = []
    for step in steps:
        seen[step["offered_rate"]] = seen.get(step["offered_rate"], 0) + 1
        run = seen[step["offered_rate"]]
        names.append(f"{step['offered_rate']:g}/s" + (f" (run {run})" if run > 1 else ""))
    return names


def _distribution_panel(ax: Axes, steps: list[dict[str, Any]]) -> None:
    shown = [(name, s) for name, s in zip(_names(steps), steps) if distribution(s.get("hgrm", ""))]
    cmap = plt.get_cmap("viridis")
    for n, (name, step) in enumerate(shown):
        rows = distribution(step["hgrm"])
        colour = cmap(n / max(1, len(shown) - 1)) if len(shown) > 1 else "tab:red"
        ax.plot([x for _, x in rows], [ms for ms, _ in rows], color=colour, label=name)
    ax.set_xscale("log")
    # Always to 99.99 %, as HdrHistogram's plots are; a line ends where its samples do (a step
    # of 1,000 results knows no percentile past 99.9 %), and further only with more.
    top = max((x for _, s in shown for _, x in distribution(s["hgrm"])), default=0.0)
    marks = {label: x for label, x in MARKS.items() if x <= max(10_000.0, top * 1.5)}
    ax.set_xlim(1.0, max(marks.values()))
    ax.xaxis.set_major_locator(FixedLocator(list(marks.values())))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: next((k for k, v in marks.items() if v == x), "")))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title("latency by percentile")
    if shown:  # one line per step: a column beside the plot, never over it
        ax.legend(title="offered", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _over_time_panel(ax: Axes, steps: list[dict[str, Any]]) -> None:
    offset, times, series, rates_ = 0.0, [], {name: [] for name in ("p50", "p90", "p99")}, []
    for step in steps:
        for t, rate, p50, p90, p99, _ in step.get("per_second", []):
            times.append(offset + t)
            rates_.append(rate)
            for name, value in zip(series, (p50, p90, p99)):
                series[name].append(value)
        offset += step.get("duration_s", 0.0)
    for name, values in series.items():
        ax.plot(times, values, color=COLOURS[name], label=name)
    ax.set_xlabel("seconds")
    ax.set_ylabel("latency (ms), each second")
    ax.grid(True, alpha=0.3)
    throughput = ax.twinx()
    throughput.plot(times, rates_, color="black", linestyle=":", label="results/s")
    throughput.set_ylabel("results per second")
    throughput.set_ylim(bottom=0)
    _legend_above(ax, "latency and throughput over time", ax.get_lines() + throughput.get_lines())


def _ramp_panel(ax: Axes, steps: list[dict[str, Any]]) -> None:
    # A rate run twice (the ramp tries a miss again) is shown by its last run: the one it judged.
    steps = sorted({s["offered_rate"]: s for s in steps}.values(), key=lambda s: s["offered_rate"])
    offered = [s["offered_rate"] for s in steps]
    for name in PERCENTILES:
        ax.plot(offered, [s["latency_ms"][name] for s in steps], marker="o", color=COLOURS[name], label=name)
    ax.set_xlabel("offered rate (requests/s)")
    ax.set_ylabel("latency (ms)")
    ax.grid(True, alpha=0.3)
    achieved = ax.twinx()
    achieved.plot(offered, [s["achieved_rate"] for s in steps], marker="s", color="black", linestyle=":",
                  label="achieved/s")
    achieved.set_ylabel("achieved rate (results/s)")
    achieved.set_ylim(bottom=0)
    _legend_above(ax, "the ramp: latency and achieved rate by offered rate", ax.get_lines() + achieved.get_lines())


def write_plot(steps: list[dict[str, Any]], path: Path) -> list[Path]:
    """The run's PNG at `path` and each step's `.hgrm` beside it; returns every file written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(3, 1, figsize=(9, 12), layout="constrained")
    _distribution_panel(axes[0], steps)
    _over_time_panel(axes[1], steps)
    _ramp_panel(axes[2], steps)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return [path, *write_hgrm(steps, path)]


def write_hgrm(steps: list[dict[str, Any]], path: Path) -> list[Path]:
    """`<name>.hgrm` for one step; `<name>-<rate>rps.hgrm` each (`-2` for a rate run again), for a ramp."""
    written = []
    runs: dict[float, int] = {}
    for step in steps:
        runs[step["offered_rate"]] = runs.get(step["offered_rate"], 0) + 1
        if not step.get("hgrm"):
            continue
        again = f"-{runs[step['offered_rate']]}" if runs[step["offered_rate"]] > 1 else ""
        name = path.stem if len(steps) == 1 else f"{path.stem}-{step['offered_rate']:g}rps{again}"
        target = path.with_name(f"{name}.hgrm")
        target.write_text(step["hgrm"])
        written.append(target)
    return written
