"""Company profiles from config/companies.yaml, validated when the router starts.

A broken profile (unknown symbology, out-of-range option) stops the router at start with a
message naming the company and the key, instead of failing jobs one by one later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from services.contract import FORMATS
from services.render.options import OptionError, validate_options
from services.render.symbologies import CATALOGUE, lookup
from services.router.enrichment import EnrichmentSettings
from services.settings import ConfigError

DEFAULT = "Default"


@dataclass(frozen=True)
class Profile:
    name: str
    symbology: str
    format: str
    options: dict[str, Any] = field(default_factory=dict)
    allowed_symbologies: frozenset[str] = frozenset(CATALOGUE)
    allowed_formats: frozenset[str] = frozenset(FORMATS)
    engines: dict[str, str] = field(default_factory=dict)  # symbology -> engine, where not the default
    verify: bool = True  # decode every raster back before publishing
    enrichment: EnrichmentSettings | None = None


def _engines(company: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{company}.engines must be a mapping of symbology: engine")
    out = {}
    for name, engine in raw.items():
        symbology = lookup(str(name))
        if symbology is None:
            raise ConfigError(f"{company}.engines: unknown symbology {name!r}")
        if engine not in symbology.engines:
            raise ConfigError(f"{company}.engines.{name}: {engine!r} cannot draw it; one of "
                              f"{', '.join(symbology.engines)}")
        out[symbology.name] = str(engine)
    return out


def _allowed(company: str, key: str, raw: Any, known: set[str], resolve: Any) -> frozenset[str]:
    if raw is None or raw == "*":
        return frozenset(known)
    if not isinstance(raw, list):
        raise ConfigError(f"{company}.{key} must be a list or \"*\"")
    names = set()
    for item in raw:
        name = resolve(str(item))
        if name is None:
            raise ConfigError(f"{company}.{key}: unknown {item!r}")
        names.add(name)
    return frozenset(names)


def _profile(name: str, raw: Any, fallback: Profile | None) -> Profile:
    if not isinstance(raw, dict):
        raise ConfigError(f"company {name!r} must be a mapping")
    defaults = raw.get("defaults") or {}
    symbology_name = defaults.get("symbology", fallback.symbology if fallback else None)
    symbology = lookup(str(symbology_name)) if symbology_name else None
    if symbology is None:
        raise ConfigError(f"{name}.defaults.symbology: unknown {symbology_name!r}")
    fmt = defaults.get("format", fallback.format if fallback else "png")
    if fmt not in FORMATS:
        raise ConfigError(f"{name}.defaults.format: unknown {fmt!r}")
    options = defaults.get("options") or {}
    engines = _engines(name, raw.get("engines"))
    verify = raw.get("verify", fallback.verify if fallback else True)
    if not isinstance(verify, bool):
        raise ConfigError(f"{name}.verify must be true or false")
    try:
        validate_options(symbology, options, engines.get(symbology.name))
    except OptionError as exc:
        raise ConfigError(f"{name}.defaults.options: {exc}") from None

    def resolve_symbology(item: str) -> str | None:
        found = lookup(item)
        return found.name if found else None

    return Profile(
        name=name,
        symbology=symbology.name,
        format=fmt,
        options=dict(options),
        allowed_symbologies=_allowed(name, "allowed_symbologies", raw.get("allowed_symbologies"),
                                     set(CATALOGUE), resolve_symbology),
        allowed_formats=_allowed(name, "allowed_formats", raw.get("allowed_formats"), set(FORMATS),
                                 lambda f: f if f in FORMATS else None),
        engines=engines,
        verify=verify,
        enrichment=EnrichmentSettings.parse(name, raw.get("enrichment")),
    )


def load_profiles(path: Path) -> dict[str, Profile]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read company profiles {path}: {exc}") from exc
    companies = (document or {}).get("companies")
    if not isinstance(companies, dict) or DEFAULT not in companies:
        raise ConfigError(f"{path}: needs a `companies:` mapping with a {DEFAULT!r} entry")
    default = _profile(DEFAULT, companies[DEFAULT], None)
    profiles = {DEFAULT: default}
    for name, raw in companies.items():
        if name != DEFAULT:
            profiles[str(name)] = _profile(str(name), raw, default)
    return profiles
