"""The pixel budget: the largest bitmap one job may allocate, checked before anything is drawn.

The engines' `check()` computes the final PNG's size (quiet zones, human-readable text, borders
and rotation included: SymbolInfo.width_px/height_px) from the encoded symbol, without
allocating it. A vector job allocates a bitmap too: verification decodes a raster of the
symbol, drawn at `raster_options()`. Either is refused `output_too_large` above the budget, so
Pillow's decompression-bomb limit (89 M pixels) is never what stops a job.

The default is sized for the generator's memory limit (helm values: 768 MiB): four render
threads each holding a worst-case bitmap (python-barcode: RGB, rotated, then converted for
zxing-cpp, about 8 bytes per pixel) fit beside the process. devstack/bench/render_budget.py
measures it.
"""
from __future__ import annotations

from typing import Any

from services.contract import ErrorCode
from services.render.errors import JobError
from services.render.geometry import MM_PER_INCH
from services.render.types import SymbolInfo

MAX_PIXELS = 12_000_000

# Verification of vector output decodes a raster at a decoder-friendly size: 4 dots per module
# at 300 dpi, bars no taller and quiet zones no wider than a scanner needs. What is decoded is
# the same encoding as the file; only the geometry a decoder ignores is bounded.
RASTER_DOTS = 4
RASTER_X_MM = RASTER_DOTS * MM_PER_INCH / 300
RASTER_MAX_HEIGHT_MM = 30.0
RASTER_MAX_QUIET_MM = 5.0


def raster_options(options: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in options.items() if k not in ("rotation", "module_width", "dpi")}
    out.update(module_width=RASTER_X_MM, dpi=300)
    if "module_height" in out:
        out["module_height"] = min(float(out["module_height"]), RASTER_MAX_HEIGHT_MM)
    if "quiet_zone" in out:
        out["quiet_zone"] = min(float(out["quiet_zone"]), RASTER_MAX_QUIET_MM)
    return out


def enforce(info: SymbolInfo, max_pixels: int, what: str = "the PNG") -> None:
    """Raise output_too_large when the bitmap `info` describes exceeds the budget."""
    if info.pixels > max_pixels:
        raise JobError(ErrorCode.OUTPUT_TOO_LARGE,
                       f"{what} would be {info.width_px} x {info.height_px} pixels ({info.pixels / 1e6:.1f} million); "
                       f"at most {max_pixels / 1e6:g} million: lower dpi, module_width, module_height or quiet_zone")
