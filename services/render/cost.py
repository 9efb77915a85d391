"""What a request will cost in CPU, known before any of it is spent.

Most symbologies check in well under a millisecond whatever they are given. A few encode a
large symbol with mask or codeword optimisation, and there the renderer's `check()` alone can
take hundreds of milliseconds (Han Xin version 84: ~200 ms; a 7,089-digit QR: ~100 ms), all
of it inside libzint, which holds the GIL. The gateway needs the cost first, to charge the
caller's rate budget for it and to keep such work off its event loop (services/gateway/costs.py).

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


@dataclass(frozen=True)
class Costly:
    at_max_length_ms: float  # a check of max_length characters (the worst kind of data)
    at_max_version_ms: float  # a check of data "A" forced to the largest version
    max_version: int
    floor_ms: float  # a check of the catalogue's example (UPNQR spends 2 ms on any data)


# `python -m devstack.bench.check_cost` on 2026-12-06 (2 cores, busy: the figures drift by tens
# of percent with the machine, which is why the gateway settles with the measured time).
COSTLY: dict[tuple[str, str], Costly] = {
    ("codablockf", "zint"): Costly(179.6, 0.0, 0, 0.0),
    ("pdf417", "zint"): Costly(112.5, 0.0, 0, 0.0),
    ("pdf417-compact", "zint"): Costly(96.2, 0.0, 0, 0.0),
    ("micropdf417", "zint"): Costly(0.4, 0.0, 0, 0.0),
    ("qrcode", "zint"): Costly(344.4, 38.1, 40, 0.1),
    ("upnqr", "zint"): Costly(49.9, 0.0, 0, 2.5),
    ("datamatrix", "zint"): Costly(119.5, 47.4, 48, 0.1),
    ("aztec", "zint"): Costly(193.4, 22.5, 36, 0.0),
    ("hanxin", "zint"): Costly(441.1, 313.1, 84, 0.0),
    ("gridmatrix", "zint"): Costly(323.3, 14.5, 13, 0.0),
    ("codeone", "zint"): Costly(422.5, 21.3, 10, 0.0),
}
# Every other check stays under a millisecond at its longest data (the same run), and this is
# the fixed part of every check: a flat figure.
CHEAP_MS = 0.7
EXPONENT = 1.5
# A job's check is paid again downstream: the generator checks with the profile's engine, draws
# and decodes the result back. Measured: Han Xin v84 check 335 ms, render + verify 686 ms; a
# 7,089-digit QR 62 and 202 ms (the render includes its own check).
PIPELINE_FACTOR = 3.0


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
