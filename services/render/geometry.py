"""Print geometry from the options: X-dimension snapped to whole printer dots.

A printer at 300 dpi cannot print a 0.33 mm bar: it prints 4 dots (0.339 mm) or 3 (0.254 mm).
Every engine draws with the snapped X-dimension, so the PNG at `dpi` has whole pixels per
module and vector output has the size the printer will actually produce.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MM_PER_INCH = 25.4
DEFAULT_X_MM = 0.33  # GS1's nominal X-dimension for retail symbols
DEFAULT_DPI = 300
# libzint draws at most 200x scale (2 pixels per module at scale 1): 400 dots per module. The
# same bound for every engine, so an option set is valid or not whatever engine draws it.
MAX_DOTS_PER_MODULE = 400


@dataclass(frozen=True)
class Geometry:
    requested_x_mm: float
    dpi: int
    dots_per_module: int
    explicit: bool = True  # the client asked for this X-dimension (warn if it had to move)

    @property
    def x_mm(self) -> float:
        """The X-dimension actually drawn."""
        return self.dots_per_module * MM_PER_INCH / self.dpi

    def warnings(self) -> list[str]:
        out = []
        if self.explicit and abs(self.x_mm - self.requested_x_mm) / self.requested_x_mm > 0.01:
            out.append(f"module_width {self.requested_x_mm:g} mm snapped to {self.x_mm:.4f} mm "
                       f"({self.dots_per_module} dots at {self.dpi} dpi)")
        return out


def geometry(options: dict[str, Any], default_x_mm: float = DEFAULT_X_MM) -> Geometry:
    x_mm = float(options.get("module_width", default_x_mm))
    dpi = int(options.get("dpi", DEFAULT_DPI))
    return Geometry(x_mm, dpi, max(1, round(x_mm * dpi / MM_PER_INCH)), explicit="module_width" in options)
