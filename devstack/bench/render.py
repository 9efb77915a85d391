"""`make bench-render`: render time per symbology family, format and engine, in one process.

Side by side with python-barcode's own default PNG writer (ImageWriter with its defaults),
the baseline the generator started from. Times are medians of `--runs` renders of the same
symbol (no caching: every call encodes and draws), verification off and on. ZPL labels at 8
dots per mm, graphic and (where ZPL has the command) native, beside a PNG of the same dots (203
dpi): their verification draws the label back with zebrash and decodes that.
"""
from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import barcode
from barcode.writer import ImageWriter

from services.render import api, zpl_native
from services.render.symbologies import CATALOGUE

CASES = [  # (family, symbology, engine)
    ("linear", "code128", "python-barcode"),
    ("linear", "code128", "zint"),
    ("retail", "ean13", "python-barcode"),
    ("retail", "ean13", "zint"),
    ("gs1", "databar-expanded", "zint"),
    ("2d", "qrcode", "zint"),
    ("2d", "datamatrix", "zint"),
    ("stacked", "pdf417", "zint"),
    ("postal", "usps-imb", "zint"),
    ("pharma", "pzn8", "zint"),
]
# (row name, format, options): every format at its defaults, then ZPL at 8 dots per mm beside
# the PNG of the same dots.
VARIANTS: list[tuple[str, str, dict[str, object]]] = [
    ("png", "png", {}), ("svg", "svg", {}), ("pdf", "pdf", {}), ("eps", "eps", {}),
    ("png203", "png", {"dpi": 203}), ("zpl", "zpl", {"dpmm": 8}), ("zpl-n", "zpl", {"dpmm": 8, "zpl_mode": "native"}),
]


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: imports, font loading
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--variants", default=",".join(v[0] for v in VARIANTS),
                        help="comma-separated rows of: " + ", ".join(v[0] for v in VARIANTS))
    args = parser.parse_args()
    wanted = args.variants.split(",")

    def baseline() -> None:
        out = io.BytesIO()
        barcode.get("code128", "HELLO-123", writer=ImageWriter()).write(out)

    print(f"median ms per render, {args.runs} runs each (verification: decode back with zxing-cpp)")
    print(f"{'baseline: python-barcode ImageWriter defaults, code128 PNG':62} {median_ms(baseline, args.runs):7.2f}")
    print(f"{'family':8} {'symbology':18} {'engine':15} {'format':6} {'render':>8} {'+verify':>8}")
    for family, name, engine in CASES:
        symbology = CATALOGUE[name]
        for row, fmt, options in VARIANTS:
            if row not in wanted or (options.get("zpl_mode") == "native" and name not in zpl_native.NATIVE):
                continue
            plain = median_ms(lambda: api.render(symbology, symbology.example, fmt, options, engine, False), args.runs)
            checked = median_ms(lambda: api.render(symbology, symbology.example, fmt, options, engine, True), args.runs)
            verified = f"{checked:8.2f}" if symbology.verifiable else "       -"
            print(f"{family:8} {name:18} {engine:15} {row:6} {plain:8.2f} {verified}")


if __name__ == "__main__":
    main()
