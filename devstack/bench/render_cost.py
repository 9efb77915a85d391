"""`python -m devstack.bench.render_cost`: the generator's CPU to draw and decode back one
barcode, per format, for the gateway's cost model (services/render/cost.RENDER).

It times `api.render` with verification (best of two) for every symbology's example with each
engine, and for the largest symbols the catalogue allows (forced versions, data at the longest,
large module widths and heights), in every format. Each time is described by the checked
symbol: the PNG's megapixels and the symbol's kilomodules (width x rows). Per format it then
picks the estimate `fixed + a * megapixels + b * kilomodules` that bounds every time measured
from above with the smallest sum over the sample (fixed and a from a grid, b the least that
covers each), and prints it as a Python literal, with how far above the real total it is.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from services.render import api
from services.render.errors import JobError
from services.render.symbologies import CATALOGUE
from services.render.zpl import DPI_OF_DPMM

# The largest symbols: what made the table's figures (and an attacker's choice).
LARGE: list[tuple[str, str, dict[str, Any]]] = [
    ("hanxin", "A", {"version": 84}), ("hanxin", "A", {"version": 40}), ("qrcode", "1" * 7089, {}),
    ("qrcode", "A", {"version": 40}), ("qrcode", "A", {"version": 20}), ("datamatrix", "A", {"version": 24}),
    ("aztec", "A", {"version": 36}), ("gridmatrix", "A", {"version": 13}), ("codeone", "1" * 3500, {}),
    ("pdf417", "1" * 2500, {}), ("codablockf", "A" * 2000, {}), ("code128", "A" * 80, {}),
    ("qrcode", "A", {"version": 10, "dpi": 600, "module_width": 0.5}),
    ("code128", "HELLO", {"dpi": 1200, "module_height": 100, "module_width": 0.5}),
    ("hanxin", "A", {"version": 84, "module_width": 0.5, "dpi": 600}),
    ("datamatrix", "A", {"version": 24, "module_width": 1.0, "dpi": 600}),
    ("maxicode", "A" * 50, {"module_width": 1.0, "dpi": 600}),
]
FORMATS = ("png", "svg", "pdf", "eps", "zpl")
FIXED_GRID = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40)
PER_MEGAPIXEL_GRID = (0, 1, 2, 5, 8, 10, 15, 20, 25, 30, 40, 100, 200, 300, 400)  # ZPL: drawn back per dot

Sample = tuple[float, float, float]  # (ms, megapixels, kilomodules)


def best_ms(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def for_format(options: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A ZPL label takes the printer's density, not a dpi: the nearest one (24 dots per mm for
    the large cases' 600 and 1200 dpi)."""
    if fmt != "zpl" or "dpi" not in options:
        return options
    dpi = options["dpi"]
    dpmm = min(DPI_OF_DPMM, key=lambda d: abs(DPI_OF_DPMM[d] - dpi))
    return {**{k: v for k, v in options.items() if k != "dpi"}, "dpmm": dpmm}


def samples(formats: tuple[str, ...] = FORMATS) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {fmt: [] for fmt in formats}
    cases = [(name, symbology.example, {}) for name, symbology in CATALOGUE.items()] + LARGE
    for name, data, base in cases:
        symbology = CATALOGUE[name]
        for engine in symbology.engines:
            for fmt in formats:
                if fmt not in symbology.formats:
                    continue
                options = for_format(base, fmt)
                try:
                    # The symbol as the format draws it (a ZPL label's at the printer's density).
                    info = api.check(symbology, data, options, engine, fmt)
                    ms = best_ms(lambda: api.render(symbology, data, fmt, options, engine, True))
                except JobError:
                    continue
                out[fmt].append((ms, info.pixels / 1e6, (info.width_modules or 0) * (info.rows or 1) / 1000))
    return out


def fit(points: list[Sample]) -> tuple[float, float, float, float]:
    """(fixed, per megapixel, per kilomodule, estimate total / real total)"""
    best: tuple[float, float, float, float] | None = None
    for fixed in FIXED_GRID:
        for per_mpx in PER_MEGAPIXEL_GRID:
            needed = [(ms - fixed - per_mpx * mpx) / kmod if kmod > 0.01
                      else (0.0 if ms <= fixed + per_mpx * mpx else float("inf")) for ms, mpx, kmod in points]
            per_kmod = max(0.0, *needed)
            if per_kmod == float("inf"):
                continue
            total = sum(fixed + per_mpx * mpx + per_kmod * kmod for _, mpx, kmod in points)
            if best is None or total < best[3]:
                best = (fixed, per_mpx, per_kmod, total)
    assert best is not None, "no estimate on the grid covers every sample"
    fixed, per_mpx, per_kmod, total = best
    return fixed, per_mpx, per_kmod, total / sum(ms for ms, _, _ in points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated (default: all)")
    args = parser.parse_args()
    measured = samples(tuple(args.formats.split(",")))
    print("RENDER: dict[str, RenderCost] = {")
    notes = []
    for fmt, points in measured.items():
        fixed, per_mpx, per_kmod, over = fit(points)
        print(f"    {fmt!r}: RenderCost({fixed:.1f}, {per_mpx:.1f}, {per_kmod:.2f}),")
        notes.append(f"# {fmt}: {len(points)} renders, slowest {max(ms for ms, _, _ in points):.1f} ms, "
                     f"estimates {over:.1f}x the real total")
    print("}")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
