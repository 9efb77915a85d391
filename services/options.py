"""Render option validation against the catalogue: type, range, pattern, applicability.

Used by the gateway (400 before Kafka), the router (company profiles at start, merged options
per job) and the generator (defensively). An option is never silently ignored.
"""
from __future__ import annotations

import re
from typing import Any

from services.symbologies import Symbology


class OptionError(ValueError):
    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"option {option!r}: {message}")
        self.option = option


def validate_options(symbology: Symbology, options: Any) -> dict[str, Any]:
    """Return the options unchanged if every one is known and in range; else raise OptionError."""
    if not isinstance(options, dict):
        raise OptionError("options", "must be a JSON object")
    specs = symbology.options
    for name, value in options.items():
        spec = specs.get(name)
        if spec is None:
            raise OptionError(name, f"not an option of {symbology.name}; known: {', '.join(sorted(specs))}")
        if spec.type == "boolean":
            if not isinstance(value, bool):
                raise OptionError(name, "must be true or false")
        elif spec.type == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise OptionError(name, "must be a number")
            if spec.minimum is not None and value < spec.minimum:
                raise OptionError(name, f"{value} is below the minimum {spec.minimum}")
            if spec.maximum is not None and value > spec.maximum:
                raise OptionError(name, f"{value} is above the maximum {spec.maximum}")
        elif spec.type == "string":
            if not isinstance(value, str):
                raise OptionError(name, "must be a string")
            if spec.pattern is not None and not re.match(spec.pattern, value):
                raise OptionError(name, f"{value!r} does not match {spec.pattern}")
    return options
