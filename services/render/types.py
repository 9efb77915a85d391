"""What an engine returns: the file, and facts about the symbol for dry runs and verification."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image


@dataclass(frozen=True)
class SymbolInfo:
    data: str  # normalised data as encoded (check digits added)
    text: str  # human-readable text as printed ('' when none)
    scan: tuple[str, ...]  # texts a correct decode may return
    width_modules: int | None = None
    rows: int | None = None
    version: int | None = None  # 2D symbol size/version chosen
    x_mm: float | None = None  # X-dimension actually drawn (snapped to dots)
    warnings: tuple[str, ...] = ()
    # The PNG's size in pixels at these options: quiet zones, text and rotation included.
    # Known before any bitmap is allocated (render/budget.py checks it against the budget).
    width_px: int | None = None
    height_px: int | None = None

    @property
    def pixels(self) -> int:
        return (self.width_px or 0) * (self.height_px or 0)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data": self.data, "text": self.text, "x_dimension_mm": self.x_mm,
                               "warnings": list(self.warnings)}
        for key in ("width_modules", "rows", "version", "width_px", "height_px"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    info: SymbolInfo
    raster: Image.Image | None = field(default=None, repr=False)  # what verification decodes
    # Why the file was not decoded back as it is, though the symbology can be (a ZPL label with
    # no independent renderer to draw it, or a printer command it cannot draw); None: it was.
    unverified: str | None = None
    # time.time_ns() when drawing ended and decoding it back began: a trace's render and verify
    # spans (services/tracing.py). None: not verified here (a ZPL label checks itself).
    drawn_ns: int | None = None
