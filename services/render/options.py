"""Render option validation against the catalogue: type, range, pattern, applicability.

Used by the gateway (400 before Kafka), the router (company profiles at start, merged options
per job) and the generator (defensively). An option is never silently ignored: one the
symbology (or its engine) does not take is an error naming it.
"""
from __future__ import annotations

import re
from typing import Any

from services.render import digital_link, zpl, zpl_native
from services.render.geometry import MAX_DOTS_PER_MODULE, geometry
from services.render.symbologies import CATALOGUE, OptionSpec, Symbology


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
    elif spec.type == "link":
        if value is not True and not isinstance(value, str):
            raise OptionError(name, "must be a resolver's https URL, or true for the company's resolver")
        if isinstance(value, str):
            try:
                digital_link.checked_base(value)
            except digital_link.DigitalLinkError as exc:
                raise OptionError(name, str(exc).removeprefix(f"{name}: ")) from None
        return
    elif spec.type == "string":
        if not isinstance(value, str):
            raise OptionError(name, "must be a string")
        # fullmatch: with re.match, "$" also matches before a final newline ("#ffffff\n").
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            raise OptionError(name, f"{value!r} does not match {spec.pattern}")
    if spec.choices is not None and value not in spec.choices:
        raise OptionError(name, f"{value!r} is not one of {', '.join(map(str, spec.choices))}")


def _check_geometry(options: dict[str, Any]) -> None:
    """Options valid one by one but not together: a module wider than any engine draws."""
    if "module_width" not in options and "dpi" not in options:
        return
    geo = geometry(options)
    if geo.dots_per_module > MAX_DOTS_PER_MODULE:
        raise OptionError("module_width", f"{geo.requested_x_mm:g} mm at {geo.dpi} dpi is {geo.dots_per_module} "
                                          f"printer dots per module; at most {MAX_DOTS_PER_MODULE}")


# Symbol contrast (ISO/IEC 15416): the reflectance difference between bars and background,
# here the luminance difference of the two colours. 40% is the standard's lowest passing
# grade; below it, or with bars lighter than the background, scanners (and our decode-back
# verification) cannot be relied on to read the symbol.
MIN_CONTRAST = 0.4


def _luminance(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255


def _check_colours(options: dict[str, Any]) -> None:
    if "foreground" not in options and "background" not in options:
        return
    foreground, background = options.get("foreground", "#000000"), options.get("background", "#ffffff")
    contrast = _luminance(background) - _luminance(foreground)
    if contrast < MIN_CONTRAST:
        raise OptionError("foreground" if "foreground" in options else "background",
                          f"{foreground} bars on {background} have {max(contrast, 0):.0%} symbol contrast; at least "
                          f"{MIN_CONTRAST:.0%}, with bars darker than the background")


# Options a ZPL label does not take, and why: it is drawn at the printer's density, in black.
_NOT_ZPL = {
    "dpi": "a ZPL label is drawn at the printer's density: give dpmm (6, 8, 12 or 24 dots per mm) instead",
    "foreground": "a thermal printer prints black dots on a white label: no colours in format zpl",
    "background": "a thermal printer prints black dots on a white label: no colours in format zpl",
}


def applies_to_format(name: str, fmt: str) -> bool:
    """Whether a company's default option applies to this format (a profile's dpi is no ZPL
    label's; its dpmm no PNG's): one that does not is left out, as one the symbology does not
    take is."""
    return name not in (_NOT_ZPL if fmt == "zpl" else zpl.ZPL_OPTIONS)


def check_format_options(symbology: Symbology, fmt: str, options: dict[str, Any]) -> None:
    """Options that apply to one output format only, or not to one: ZPL's density and mode are
    a ZPL label's alone; a ZPL label is drawn at the printer's density (dpmm, not dpi) in the
    printer's black."""
    if fmt != "zpl":
        for name in zpl.ZPL_OPTIONS:
            if name in options:
                raise OptionError(name, f"applies to format zpl only, not {fmt}")
        return
    for name, why in _NOT_ZPL.items():
        if name in options:
            raise OptionError(name, why)
    if zpl.mode_of(options) == zpl.NATIVE:
        if symbology.name not in zpl_native.NATIVE:
            raise OptionError("zpl_mode", f"{symbology.name} has no native ZPL command; zpl_mode graphic draws "
                                          f"every symbology")
        refused = zpl_native.unsupported_options(symbology.name, zpl.drawing_options(options))
        if refused:
            raise OptionError(refused[0], f"the printer's own {zpl_native.NATIVE[symbology.name].command} command "
                                          f"cannot honour it; zpl_mode graphic draws it as asked")


ANY_ENGINE = "*"


def validate_options(symbology: Symbology, options: Any, engine: str | None = None,
                     fmt: str | None = None) -> dict[str, Any]:
    """Return the options unchanged if every one applies and is in range; else raise OptionError.

    `engine`: the engine that will draw it (default: the symbology's default engine), or
    ANY_ENGINE where that is not known yet (the gateway: the company profile picks it). `fmt`:
    the output format when known (options of one format only are checked against it).
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
    if options.get("digital_link") and options.get("gs1"):
        raise OptionError("gs1", "a Digital Link is a URL, not GS1 mode data: give gs1 or digital_link, not both")
    if fmt is not None:
        check_format_options(symbology, fmt, options)
    _check_geometry(zpl.drawing_options(options) if fmt == "zpl" else options)
    _check_colours(options)
    return options


def _all_specs() -> dict[str, tuple[OptionSpec, ...]]:
    out: dict[str, list[OptionSpec]] = {}
    for symbology in CATALOGUE.values():
        for engine in symbology.engines:
            for name, spec in symbology.options_for(engine).items():
                if spec not in out.setdefault(name, []):
                    out[name].append(spec)
    return {name: tuple(specs) for name, specs in out.items()}


_ALL_SPECS = _all_specs()


def option_type(name: str) -> str | None:
    """The declared type of an option of any symbology ("integer", "number", "boolean",
    "string"; one name has one type across the catalogue), or None for no such option."""
    specs = _ALL_SPECS.get(name)
    return specs[0].type if specs else None


def validate_unscoped(options: Any) -> dict[str, Any]:
    """Options of a request that names no symbology (the company profile will pick one): every
    option must be one some symbology takes, with a value that symbology accepts. Values are
    scalars, so nothing a client nests in them travels on."""
    if not isinstance(options, dict):
        raise OptionError("options", "must be a JSON object")
    for name, value in options.items():
        specs = _ALL_SPECS.get(name)
        if specs is None:
            raise OptionError(name, f"is not an option of any symbology; they take: {', '.join(sorted(_ALL_SPECS))}")
        errors: list[OptionError] = []
        for spec in specs:
            try:
                _check(name, spec, value)
                break
            except OptionError as exc:
                errors.append(exc)
        else:
            raise errors[0]
    _check_geometry(options)
    _check_colours(options)
    return options
