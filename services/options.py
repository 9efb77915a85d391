"""Render option validation against the catalogue: type, range, pattern, applicability.

Used by the gateway (400 before Kafka), the router (company profiles at start, merged options
per job) and the generator (defensively). An option is never silently ignored: one the
symbology (or its engine) does not take is an error naming it.
"""
from __future__ import annotations

import re
from typing import Any

from services.symbologies import OptionSpec, Symbology


class OptionError(ValueError):
    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"option {option!r}: {message}")
        self.option = option


def _check(name: str, spec: OptionSpec, value: Any) -> None:
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise OptionError(name, "must be true or false")
    elif spec.type in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(name, f"must be a{'n integer' if spec.type == 'integer' else ' number'}")
        if spec.type == "integer" and value != int(value):
            raise OptionError(name, f"{value} is not a whole number")
        if spec.minimum is not None and value < spec.minimum:
            raise OptionError(name, f"{value} is below the minimum {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise OptionError(name, f"{value} is above the maximum {spec.maximum:g}")
    elif spec.type == "string":
        if not isinstance(value, str):
            raise OptionError(name, "must be a string")
        if spec.pattern is not None and not re.match(spec.pattern, value):
            raise OptionError(name, f"{value!r} does not match {spec.pattern}")
    if spec.choices is not None and value not in spec.choices:
        raise OptionError(name, f"{value!r} is not one of {', '.join(map(str, spec.choices))}")


ANY_ENGINE = "*"


def validate_options(symbology: Symbology, options: Any, engine: str | None = None) -> dict[str, Any]:
    """Return the options unchanged if every one applies and is in range; else raise OptionError.

    `engine`: the engine that will draw it (default: the symbology's default engine), or
    ANY_ENGINE where that is not known yet (the gateway: the company profile picks it).
    """
    if not isinstance(options, dict):
        raise OptionError("options", "must be a JSON object")
    if engine == ANY_ENGINE:
        specs = {k: v for e in reversed(symbology.engines) for k, v in symbology.options_for(e).items()}
        where = symbology.name
    else:
        engine = engine or symbology.engine
        specs = symbology.options_for(engine)
        where = f"{symbology.name} ({engine})"
    for name, value in options.items():
        spec = specs.get(name)
        if spec is None:
            raise OptionError(name, f"does not apply to {where}; it takes: {', '.join(sorted(specs))}")
        _check(name, spec, value)
    return options
