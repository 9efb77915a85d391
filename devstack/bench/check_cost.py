"""`python -m devstack.bench.check_cost`: the CPU a renderer `check()` costs, per symbology, for
the gateway's cost model (services/render/cost.py).

For every symbology and engine it times `api.check` (best of three) on data of a few kinds
(digits, upper-case, lower-case, bytes) at 1/8, 1/4, 1/2 and all of `max_length`, and with data
"A" at each `version` the symbology takes. Each time is scaled up to what it would be at the
full length ((time - CHEAP_MS) / fraction ** 1.5) or the largest version (the same with version / max),
and the largest of those is the symbology's figure: the cost model (services/render/cost.py)
charges CHEAP_MS plus that figure times the fraction a request asks for, to the same power,
which bounds every time measured here from above (encoding grows faster than linearly: mask
scoring is per module of an area; CHEAP_MS covers the fixed part of a short check). Symbologies whose every check stays under
COSTLY_MS are left out (the model charges them CHEAP_MS). Prints the table as a Python
literal for services/render/cost.py and as markdown for docs/api.md.
"""
from __future__ import annotations

import argparse
import time
from typing import Any

from services.render import api
from services.render.errors import JobError
from services.render.options import OptionError, validate_options
from services.render.cost import CHEAP_MS, EXPONENT
from services.render.symbologies import CATALOGUE, Symbology

COSTLY_MS = 1.0  # "more than a millisecond": what must not run on the gateway's event loop
FRACTIONS = (0.125, 0.25, 0.5, 1.0)
KINDS = ("1", "A", "a", "\u00e9")


def best_ms(symbology: Symbology, data: str, options: dict[str, Any], engine: str) -> float | None:
    """The fastest of three checks in ms, or None when the check refuses the data."""
    best = None
    for _ in range(3):
        started = time.perf_counter()
        try:
            validate_options(symbology, options, engine)
            api.check(symbology, data, options, engine, None)
        except (JobError, OptionError):
            return None
        elapsed = (time.perf_counter() - started) * 1000
        best = elapsed if best is None else min(best, elapsed)
    return best


def by_length(symbology: Symbology, engine: str) -> tuple[float, float, float]:
    """(the model's figure, the slowest check seen, the check of the catalogue's example: the
    floor of any check, e.g. UPNQR spends 2 ms on any data)"""
    worst = slowest = 0.0
    floor = best_ms(symbology, symbology.example, {}, engine) or 0.0
    for kind in KINDS:
        for fraction in FRACTIONS:
            length = max(1, int(symbology.max_length * fraction))
            ms = best_ms(symbology, kind * length, {}, engine)
            if ms is not None:
                worst = max(worst, (ms - CHEAP_MS) / (length / symbology.max_length) ** EXPONENT)
                slowest = max(slowest, ms)
    return worst, slowest, floor


def by_version(symbology: Symbology, engine: str) -> tuple[float, float, int]:
    """(the model's figure, the slowest check seen, the largest version)"""
    spec = symbology.options_for(engine).get("version")
    if spec is None or spec.maximum is None:
        return 0.0, 0.0, 0
    top = int(spec.maximum)
    worst = slowest = 0.0
    for version in range(int(spec.minimum or 1), top + 1):
        ms = best_ms(symbology, "A", {"version": version}, engine)
        if ms is not None:
            worst = max(worst, (ms - CHEAP_MS) / (version / top) ** EXPONENT)
            slowest = max(slowest, ms)
    return worst, slowest, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    rows = []
    for symbology in CATALOGUE.values():
        for engine in symbology.engines:
            length_ms, slowest_by_length, fastest = by_length(symbology, engine)
            version_ms, slowest_by_version, top = by_version(symbology, engine)
            if max(slowest_by_length, slowest_by_version) >= COSTLY_MS:
                rows.append((symbology.name, engine, length_ms, version_ms, top, fastest))
    print("COSTLY = {")
    for name, engine, length_ms, version_ms, top, fastest in rows:
        print(f"    ({name!r}, {engine!r}): Costly({length_ms:.1f}, {version_ms:.1f}, {top}, {fastest:.1f}),")
    print("}\n")
    print("| symbology | engine | shortest data | max_length | largest version (data \"A\") |")
    print("|---|---|---|---|---|")
    for name, engine, length_ms, version_ms, top, fastest in rows:
        version = f"{CHEAP_MS + version_ms:.0f} ms (version {top})" if top else "-"
        print(f"| {name} | {engine} | {fastest:.1f} ms | {CHEAP_MS + length_ms:.0f} ms | {version} |")


if __name__ == "__main__":
    main()
