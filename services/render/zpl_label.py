"""A ZPL job: the label drawn, then drawn back from its own bytes by an independent renderer and
decoded, like every other output.

`graphic` (every symbology): the engine draws the PNG at the printer's density (one pixel, one
dot) and render/zpl.py writes it as a graphic field. `native` (render/zpl_native.py): the
printer's own barcode command, with our module width in dots. Either way what is verified is
the label as zebrash (render/zpl_render.py) draws it from the ZPL. Where that cannot be done
(no renderer here, or a command it does not draw) the result says why (`Rendered.unverified`):
a graphic label's bitmap is still decoded before it is written out.
"""
from __future__ import annotations

import io
import logging
from types import ModuleType
from typing import Any

from PIL import Image

from services.render import zpl, zpl_native, zpl_render
from services.render.formats import FORMATS
from services.render.geometry import geometry
from services.render.symbologies import Symbology
from services.render.types import Rendered
from services.render.verify import verify

log = logging.getLogger(__name__)
CONTENT_TYPE = FORMATS["zpl"].content_type


def _drawn_back(label: bytes, width: int, height: int, dpmm: int) -> tuple[Image.Image | None, str | None]:
    """The label as the independent renderer prints it, or None and why it could not."""
    try:
        return zpl_render.shared().render(label, width, height, dpmm), None
    except zpl_render.ZplRendererUnavailable as exc:
        log.warning("ZPL labels are not drawn back: %s", exc)
        return None, f"no ZPL renderer to draw the label back here ({exc})"


def _native(symbology: Symbology, data: str, drawing: dict[str, Any], dpmm: int, module: ModuleType,
            verify_output: bool) -> Rendered:
    """The printer's own barcode command: verified where zebrash draws it faithfully, else the
    result says why not (zpl_native.unverifiable)."""
    info = module.check(symbology.name, data, drawing)
    label, width, height = zpl_native.native_label(symbology.name, info, drawing, dpmm)
    if not (verify_output and symbology.verifiable):
        return Rendered(label, CONTENT_TYPE, info)
    why = zpl_native.unverifiable(symbology.name, info, drawing)
    if why is not None:
        return Rendered(label, CONTENT_TYPE, info, unverified=why)
    printed, why = _drawn_back(label, width, height, dpmm)
    if printed is None:
        return Rendered(label, CONTENT_TYPE, info, unverified=why)
    verify(printed, symbology, info.scan, geometry(drawing).dots_per_module)
    return Rendered(label, CONTENT_TYPE, info)


def render(symbology: Symbology, data: str, options: dict[str, Any], module: ModuleType,
           verify_output: bool) -> Rendered:
    dpmm = zpl.dpmm_of(options)
    drawing = zpl.drawing_options(options)
    if zpl.mode_of(options) == zpl.NATIVE:
        return _native(symbology, data, drawing, dpmm, module, verify_output)
    dots = geometry(drawing).dots_per_module
    png = module.render(symbology.name, data, "png", drawing)
    bitmap = Image.open(io.BytesIO(png.body))
    label = zpl.label(bitmap)
    rendered = Rendered(label, CONTENT_TYPE, png.info)
    if not (verify_output and symbology.verifiable):
        return rendered
    printed, why = _drawn_back(label, bitmap.width, bitmap.height, dpmm)
    if printed is None:
        verify(bitmap, symbology, png.info.scan, dots)  # at least the dots the label carries
        return Rendered(label, CONTENT_TYPE, png.info, unverified=why)
    verify(printed, symbology, png.info.scan, dots)
    return rendered
