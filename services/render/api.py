"""The rendering entry points: pick the engine, render, verify; or only check (dry run)."""
from __future__ import annotations

import io
from types import ModuleType
from typing import Any

from PIL import Image

from services.contract import ErrorCode
from services.render import engine_pybarcode, engine_zint
from services.render.errors import JobError
from services.render.types import Rendered, SymbolInfo
from services.render.verify import verify
from services.symbologies import PYBARCODE, ZINT, Symbology

ENGINES: dict[str, ModuleType] = {PYBARCODE: engine_pybarcode, ZINT: engine_zint}


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


def check(symbology: Symbology, data: str, options: dict[str, Any], engine: str | None = None) -> SymbolInfo:
    """Everything short of drawing: normalised data, check digit, text, size. Microseconds for
    zint, well under a millisecond for python-barcode; safe to call on an event loop."""
    _check_length(symbology, data)
    info: SymbolInfo = engine_for(symbology, engine).check(symbology.name, data, options)
    return info


def render(symbology: Symbology, data: str, fmt: str, options: dict[str, Any], engine: str | None = None,
           verify_output: bool = True) -> Rendered:
    """Draw one barcode and, where zxing-cpp can read the symbology, decode it back."""
    if fmt not in symbology.formats:
        raise JobError(ErrorCode.FORMAT_NOT_ALLOWED, f"{symbology.name} cannot be drawn as {fmt}")
    module = engine_for(symbology, engine)
    _check_length(symbology, data)  # the engine's own render checks everything else
    rendered: Rendered = module.render(symbology.name, data, fmt, options)
    if verify_output and symbology.verifiable:
        if rendered.raster is not None:
            image = rendered.raster
        elif fmt == "png":
            image = Image.open(io.BytesIO(rendered.body))  # the exact bytes the client gets
        else:
            image = module.raster(symbology.name, data, options)
        verify(image, symbology, rendered.info.scan)
    return rendered
