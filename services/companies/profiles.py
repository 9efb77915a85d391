"""Company profiles from config/companies.yaml (ROUTER_COMPANIES_FILE), validated on loading.

The router loads them at start to route requests, the gateway to list them (GET /v1/companies,
the page): both from this module, so the gateway offers exactly what routing does. A broken
profile (unknown symbology, out-of-range option, bad enrichment settings) stops either at start
with a message naming the company and the key, instead of failing jobs one by one later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from services.contract import FORMATS
from services.render.digital_link import DEFAULT_RESOLVER, DigitalLinkError, checked_base
from services.render.options import OptionError, validate_options
from services.render.symbologies import CATALOGUE, lookup
from services.settings import ConfigError

DEFAULT = "Default"
# The shipped profiles; ROUTER_COMPANIES_FILE names another file (router and gateway alike).
DEFAULT_COMPANIES = Path(__file__).resolve().parents[2] / "config" / "companies.yaml"


@dataclass(frozen=True)
class EnrichmentSettings:
    """A company's own HTTP endpoint for render parameters (`enrichment:`); the router calls it."""
    url: str
    timeout_s: float = 0.5
    attempts: int = 3
    backoff_s: float = 0.1
    breaker_failures: int = 5  # consecutive failed requests that open the breaker
    breaker_reset_s: float = 30.0  # how long it stays open before one trial call
    on_failure: str = "fail"  # "fail": the job fails enrichment_unavailable; "defaults": go on without

    @classmethod
    def parse(cls, company: str, raw: Any) -> "EnrichmentSettings | None":
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise ConfigError(f"{company}.enrichment needs a url")
        fields = {"url": raw["url"]}
        for key, name, kind in (("timeout_seconds", "timeout_s", float), ("attempts", "attempts", int),
                                ("backoff_seconds", "backoff_s", float),
                                ("breaker_failures", "breaker_failures", int),
                                ("breaker_reset_seconds", "breaker_reset_s", float)):
            if key in raw:
                value = raw[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ConfigError(f"{company}.enrichment.{key} must be a positive number")
                fields[name] = kind(value)
        on_failure = raw.get("on_failure", "fail")
        if on_failure not in ("fail", "defaults"):
            raise ConfigError(f"{company}.enrichment.on_failure must be fail or defaults")
        return cls(**fields, on_failure=on_failure)  # type: ignore[arg-type]


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
    # Where `"digital_link": true` points: the company's GS1 Digital Link resolver.
    digital_link_resolver: str = DEFAULT_RESOLVER


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
    resolver = raw.get("digital_link_resolver", fallback.digital_link_resolver if fallback else DEFAULT_RESOLVER)
    try:
        resolver = checked_base(str(resolver))
    except DigitalLinkError as exc:
        raise ConfigError(f"{name}.digital_link_resolver: {exc}") from None

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
        digital_link_resolver=resolver,
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
