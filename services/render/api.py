"""The rendering entry points: pick the engine, render, verify; or only check (dry run)."""
from __future__ import annotations

import dataclasses
import io
import time
from types import ModuleType
from typing import Any

from PIL import Image

from services.contract import ErrorCode
from services.render import digital_link, engine_pybarcode, engine_zint, zpl, zpl_label, zpl_native
from services.render.budget import MAX_PIXELS, RASTER_DOTS, enforce, raster_options
from services.render.errors import JobError
from services.render.formats import FORMATS
from services.render.geometry import geometry
from services.render.options import OptionError, check_format_options
from services.render.symbologies import PYBARCODE, ZINT, ZINT_NO_TEXT, Symbology
from services.render.types import Rendered, SymbolInfo
from services.render.verify import verify, verify_digital_link

ENGINES: dict[str, ModuleType] = {PYBARCODE: engine_pybarcode, ZINT: engine_zint}
# zxing-cpp reads MaxiCode only upright: a rotated one is verified from its upright raster (the
# same symbol; rotation is the engine's last step).
_READ_UPRIGHT_ONLY = {"maxicode"}


def engine_for(symbology: Symbology, engine: str | None) -> ModuleType:
    name = engine or symbology.engine
    if name not in symbology.engines:
        raise JobError(ErrorCode.INVALID_OPTION, f"engine {name!r} cannot draw {symbology.name}; it has "
                                                 f"{', '.join(symbology.engines)}")
    return ENGINES[name]


def _check_length(symbology: Symbology, data: str) -> None:
    if len(data) > symbology.max_length:
        raise JobError(ErrorCode.DATA_TOO_LONG, f"data is {len(data)} characters; {symbology.name} takes at most "
                                                f"{symbology.max_length}")


def as_digital_link(data: str, options: dict[str, Any]) -> tuple[str, dict[str, Any], digital_link.Pairs] | None:
    """(the link, the options it is drawn with, its AIs) for a job with `digital_link`, else None.
    The AIs are checked as a GS1 element string by libzint first (formats, dates, check digits:
    its messages name the AI), as they are for every GS1 symbol."""
    base = options.get("digital_link")
    if not base:
        return None
    try:
        pairs = digital_link.pairs_of(data)
        link = digital_link.uri(pairs, digital_link.resolver(base))
    except digital_link.DigitalLinkError as exc:
        raise JobError(ErrorCode.INVALID_DATA, f"digital_link: {exc}") from None
    try:
        engine_zint.check("datamatrix", digital_link.element_string(pairs), {"gs1": True})
    except JobError as exc:
        raise JobError(exc.code, exc.message.replace("datamatrix:", "GS1 data:", 1)) from None
    return link, {k: v for k, v in options.items() if k != "digital_link"}, pairs


def check(symbology: Symbology, data: str, options: dict[str, Any], engine: str | None = None,
          fmt: str | None = None, max_pixels: int = MAX_PIXELS) -> SymbolInfo:
    """Everything short of drawing: normalised data, check digit, text, size. Microseconds for
    zint, well under a millisecond for python-barcode; safe to call on an event loop.

    Raises output_too_large when the bitmap the job would allocate exceeds `max_pixels`: the
    PNG (`fmt` png, or None: not known yet, the largest case), or for a vector format the raster
    verification decodes."""
    link = as_digital_link(data, options)
    if link is not None:
        data, options, _ = link
    _check_length(symbology, data)
    module = engine_for(symbology, engine)
    if fmt is not None:
        try:
            check_format_options(symbology, fmt, options)
        except OptionError as exc:
            raise JobError(ErrorCode.INVALID_OPTION, str(exc)) from None
    native = fmt == "zpl" and zpl.mode_of(options) == zpl.NATIVE
    dpmm = zpl.dpmm_of(options)
    if fmt == "zpl":
        # The label's symbol is drawn at the printer's density, as a bitmap (graphic mode) or
        # sized like one (native): budgeted as that PNG.
        options, fmt = zpl.drawing_options(options), "png"
    info: SymbolInfo = module.check(symbology.name, data, options)
    if native:
        # The printer's command refuses some data its symbology takes (non-ASCII in a 2D
        # command, EAN add-ons): writing the label costs ~60 µs, so it is checked here too.
        zpl_native.native_label(symbology.name, info, options, dpmm)
    if fmt is None or fmt == "png":
        enforce(info, max_pixels)
    elif symbology.verifiable:
        enforce(module.check(symbology.name, data, raster_options(options)), max_pixels,
                f"the raster that verifies this {fmt}")
    return info


def prints_text(symbology: Symbology, info: SymbolInfo, options: dict[str, Any], engine: str | None = None) -> bool:
    """Whether the drawn symbol shows its human-readable text (`info` from check() with the
    same options and engine): both engines print it unless `write_text` is false, and libzint
    never under the symbologies it draws without (ZINT_NO_TEXT; check() still names a text for
    DPD and Korea Post)."""
    if engine_for(symbology, engine) is engine_zint and symbology.name in ZINT_NO_TEXT:
        return False
    return bool(info.text) and bool(options.get("write_text", True))


def render(symbology: Symbology, data: str, fmt: str, options: dict[str, Any], engine: str | None = None,
           verify_output: bool = True, max_pixels: int = MAX_PIXELS) -> Rendered:
    """Draw one barcode and, where zxing-cpp can read the symbology, decode it back."""
    if fmt not in symbology.formats:
        raise JobError(ErrorCode.FORMAT_NOT_ALLOWED, f"{symbology.name} cannot be drawn as {fmt}")
    module = engine_for(symbology, engine)
    link = as_digital_link(data, options)
    if link is not None:
        # The link is drawn as any text is (its check and budget in the call below), then read
        # back as AIs: the decoded text is the link.
        data, options, pairs = link
        rendered = render(symbology, data, fmt, options, engine, verify_output, max_pixels)
        if verify_output and rendered.unverified is None:
            verify_digital_link(data, pairs)
        return rendered
    # The budget again, before anything is allocated (microseconds; whoever calls render
    # directly is guarded too). The engine's own render checks the data again.
    check(symbology, data, options, engine, fmt, max_pixels)
    if fmt == "zpl":
        return zpl_label.render(symbology, data, options, module, verify_output)
    rendered: Rendered = module.render(symbology.name, data, fmt, options)
    if verify_output and symbology.verifiable:
        rendered = dataclasses.replace(rendered, drawn_ns=time.time_ns())
        px_per_module = geometry(options).dots_per_module
        if FORMATS[fmt].verified_on == "raster" or (symbology.name in _READ_UPRIGHT_ONLY and options.get("rotation", 0)):
            image, px_per_module = module.raster(symbology.name, data, options), RASTER_DOTS
        elif rendered.raster is not None:
            image = rendered.raster
        else:
            image = Image.open(io.BytesIO(rendered.body))  # the exact bytes the client gets
        verify(image, symbology, rendered.info.scan, px_per_module)
    return rendered
