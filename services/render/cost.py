"""What a request will cost in CPU, known before any of it is spent.

Most symbologies check in well under a millisecond whatever they are given. A few encode a
large symbol with mask or codeword optimisation, and there the renderer's `check()` takes a few
milliseconds (a 7,089-digit QR: ~4 ms), inside libzint, which holds the GIL. Drawing is another
matter: a Han Xin version 84 as PDF takes ~500 ms of the generator (a rectangle per dark run,
written out), as PNG ~6 ms. The gateway needs both costs first, to charge the caller's rate
budget for them and to keep costly checks off its event loop (services/gateway/jobs/costs.py).

The model errs high: `devstack/bench/check_cost.py` times every symbology at several data
lengths and kinds and at every `version`, and fits `CHEAP_MS + figure * fraction ** 1.5` over
every time it saw (the figure is the largest that any one time needs); a request is charged
that for the fraction of `max_length` (or of the largest version) it asks for. Encoding grows
faster than linearly (mask scoring is per module of an area), and CHEAP_MS covers the fixed
part of a short check. The gateway settles with the CPU the check
really took, so an estimate that is high costs a caller nothing in the end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.render.symbologies import Symbology
from services.render.zpl import ZPL_OPTIONS
from services.render.types import SymbolInfo


@dataclass(frozen=True)
class Costly:
    at_max_length_ms: float  # a check of max_length characters (the worst kind of data)
    at_max_version_ms: float  # a check of data "A" forced to the largest version
    max_version: int
    floor_ms: float  # a check of the catalogue's example (UPNQR spends 2 ms on any data)


# `python -m devstack.bench.check_cost` on 2026-12-06, after libzint's outline was measured with
# blank modules (engine_zint._outline): before, the same table went up to 441 ms (Han Xin),
# nearly all of it libzint merging the rectangles of a symbol only to learn its size.
COSTLY: dict[tuple[str, str], Costly] = {
    ("codablockf", "zint"): Costly(1.3, 0.0, 0, 0.0),
    ("pdf417", "zint"): Costly(5.1, 0.0, 0, 0.0),
    ("pdf417-compact", "zint"): Costly(5.4, 0.0, 0, 0.0),
    ("qrcode", "zint"): Costly(37.7, 2.7, 40, 0.0),
    ("aztec", "zint"): Costly(6.6, 0.5, 36, 0.0),
    ("hanxin", "zint"): Costly(13.1, 0.2, 84, 0.0),
}
# Every other check stays under a millisecond at its longest data (the same run), and this is
# the fixed part of every check: a flat figure.
CHEAP_MS = 0.7
EXPONENT = 1.5
# A job's check is paid again downstream: the generator checks with the profile's engine, and
# its render checks once more before drawing. Drawing and decoding back is charged apart
# (render_ms): it depends on the format and the symbol's size, which the check reports.
PIPELINE_FACTOR = 3.0


@dataclass(frozen=True)
class RenderCost:
    fixed_ms: float
    per_megapixel_ms: float  # of the PNG the check measured (a vector job's verification raster grows with it)
    per_kilomodule_ms: float  # modules (width x rows): a vector file draws a rectangle per dark run


# `python -m devstack.bench.render_cost` on 2026-12-06: render + verify of every symbology's
# example and of the largest symbols, per format; the figures bound every time measured from
# above (the smallest sum over the sample that does: 2-3.3x the real total).
RENDER: dict[str, RenderCost] = {
    "png": RenderCost(1.0, 25.0, 0.18),  # 119 renders, slowest 20.5 ms
    "svg": RenderCost(2.0, 30.0, 4.27),  # slowest 178 ms
    "pdf": RenderCost(10.0, 30.0, 12.88),  # slowest 578 ms (Han Xin version 84)
    "eps": RenderCost(12.0, 30.0, 12.22),  # slowest 477 ms
    # The label drawn back by zebrash (20-30 ms for a 0.1-megapixel label, its PNG included) and
    # decoded: `--formats zpl`, 19:34 UTC, 121 renders, slowest 700 ms (3 megapixels), 3.4x the real total.
    "zpl": RenderCost(40.0, 300.0, 0.00),
}
# What the arrival token already pays for: every catalogue example as PNG but MaxiCode is
# estimated under this (Code 128 5.2 ms; it really takes 1-3 ms), so ordinary jobs cost one
# token and the rate limit stays a count of requests for them. A job estimated above it pays
# the rest: a Code 128 as PDF ~10 tokens, a Han Xin version 84 as PDF ~640.
RENDER_FREE_MS = 8.0


def check_ms(symbology: Symbology, data: str, options: dict[str, Any], engine: str | None = None) -> float:
    """The CPU of `api.check` for this request, in ms: an upper bound for the worst engine the
    request may end up with (the company profile picks it later when `engine` is None)."""
    worst = CHEAP_MS
    for name in (engine,) if engine else symbology.engines:
        costly = COSTLY.get((symbology.name, name))
        if costly is None:
            continue
        fraction = min(1.0, len(data) / symbology.max_length)
        worst = max(worst, costly.floor_ms, CHEAP_MS + costly.at_max_length_ms * fraction ** EXPONENT)
        version = options.get("version")
        if costly.max_version and isinstance(version, int) and not isinstance(version, bool):
            fraction = min(1.0, max(version, 0) / costly.max_version)
            worst = max(worst, CHEAP_MS + costly.at_max_version_ms * fraction ** EXPONENT)
    return worst


def _unnamed_formats(symbology: Symbology, options: dict[str, Any]) -> list[str]:
    """What a job that leaves its format to the company profile may become, for its charge: the
    symbology's picture formats, and a ZPL label only when its options are a label's (a profile
    defaulting to ZPL is the company's own choice: charging every caller's unnamed job as a
    label drawn back, 40 ms and more, would cut the rate of the picture jobs that are the norm
    by four)."""
    label = any(name in options for name in ZPL_OPTIONS)
    return [f for f in symbology.formats if f != "zpl" or label]


def render_ms(symbology: Symbology, info: SymbolInfo, fmt: str | None, options: dict[str, Any] | None = None) -> float:
    """The generator's CPU to draw and decode back a symbol `check()` described, in ms, for
    `fmt` (None: the company profile picks it, so the costliest it may pick: _unnamed_formats)."""
    megapixels = info.pixels / 1e6
    kilomodules = (info.width_modules or 0) * (info.rows or 1) / 1000
    # Every format has its figures (tests/services/render/test_cost.py): one without would be free.
    return max(RENDER[f].fixed_ms + RENDER[f].per_megapixel_ms * megapixels + RENDER[f].per_kilomodule_ms * kilomodules
               for f in ([fmt] if fmt else _unnamed_formats(symbology, options or {})))
