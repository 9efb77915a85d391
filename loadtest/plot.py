"""A PNG of a load run, drawn with Pillow (already a dependency): latency percentiles against
offered rate (one point per ramp step) and p99 over time (one point per second)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

WIDTH, HEIGHT, MARGIN = 900, 340, 60
COLOURS = {"p50": (31, 119, 180), "p90": (44, 160, 44), "p99": (214, 39, 40), "p99.9": (148, 103, 189)}


def _panel(draw: ImageDraw.ImageDraw, top: int, title: str, xlabel: str,
           series: dict[str, list[tuple[float, float]]]) -> None:
    points = [p for values in series.values() for p in values]
    left, right, bottom = MARGIN, WIDTH - 20, top + HEIGHT - 40
    draw.text((left, top + 5), title, fill="black")
    draw.line([(left, top + 25), (left, bottom), (right, bottom)], fill="black")
    if not points:
        draw.text((left + 10, top + 60), "no data", fill="black")
        return
    x_max = max(x for x, _ in points) or 1.0
    y_max = max(y for _, y in points) or 1.0
    for fraction in (0.25, 0.5, 0.75, 1.0):
        y = bottom - fraction * (bottom - top - 30)
        draw.line([(left - 4, y), (right, y)], fill=(225, 225, 225))
        draw.text((4, y - 6), f"{y_max * fraction:.0f} ms", fill="black")
        draw.text((left + fraction * (right - left) - 15, bottom + 6), f"{x_max * fraction:g}", fill="black")
    draw.text((right - 120, bottom + 20), xlabel, fill="black")

    def at(x: float, y: float) -> tuple[float, float]:
        return left + x / x_max * (right - left), bottom - y / y_max * (bottom - top - 30)

    for offset, (name, values) in enumerate(series.items()):
        colour = COLOURS.get(name, (0, 0, 0))
        xy = [at(x, y) for x, y in values]
        if len(xy) > 1:
            draw.line(xy, fill=colour, width=2)
        for x, y in xy:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((right - 80, top + 5 + 14 * offset), name, fill=colour)


def write_plot(steps: list[dict[str, Any]], path: Path) -> None:
    image = Image.new("RGB", (WIDTH, 2 * HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    by_rate = {name: [(s["offered_rate"], s["latency_ms"][name]) for s in steps] for name in COLOURS}
    _panel(draw, 0, "latency percentiles vs offered rate", "requests/s", by_rate)
    last = steps[-1] if steps else {"timeline": []}
    _panel(draw, HEIGHT, f"p99 over time at {last.get('offered_rate', 0):g}/s (last step)", "seconds",
           {"p99": [(t, p99) for t, _, p99 in last["timeline"]]})
    image.save(path)
