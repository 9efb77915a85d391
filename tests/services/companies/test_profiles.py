from __future__ import annotations

from pathlib import Path

import pytest

from services.companies.profiles import DEFAULT, DEFAULT_COMPANIES, load_profiles
from services.settings import ConfigError


def test_shipped_profiles_load() -> None:
    profiles = load_profiles(DEFAULT_COMPANIES)
    assert {"Default", "CompanyA", "CompanyB"} <= set(profiles)
    assert profiles["CompanyA"].symbology == "ean13"
    assert "ean13" not in profiles["CompanyB"].allowed_symbologies
    assert profiles[DEFAULT].allowed_formats == {"png", "svg", "pdf", "eps", "zpl"}


def test_adding_a_company_is_an_edit_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(DEFAULT_COMPANIES.read_text() + """
  CompanyC:
    defaults: {symbology: itf, format: pdf, options: {write_text: false}}
    allowed_symbologies: [itf]
""")
    profile = load_profiles(path)["CompanyC"]
    assert (profile.symbology, profile.format, profile.allowed_symbologies) == ("itf", "pdf", {"itf"})


@pytest.mark.parametrize("yaml_text,names", [
    ("companies: {}", "Default"),
    ("companies: {Default: {defaults: {symbology: qr}}}", "Default.defaults.symbology"),
    ("companies: {Default: {defaults: {symbology: code128, format: gif}}}", "Default.defaults.format"),
    ("companies: {Default: {defaults: {symbology: code128, options: {dpi: 5}}}}", "dpi"),
    ("companies: {Default: {defaults: {symbology: code128}}, X: {allowed_symbologies: [zzz]}}", "X.allowed"),
    ("companies: [", "cannot read"),
])
def test_broken_profiles_fail_at_start_naming_the_key(tmp_path: Path, yaml_text: str, names: str) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        load_profiles(path)


@pytest.mark.parametrize("extra,names", [
    ("engines: {qrcode: python-barcode}", "cannot draw"),
    ("engines: {nope: zint}", "unknown symbology"),
    ("verify: maybe", "verify"),
])
def test_engine_and_verify_settings_are_checked(tmp_path: Path, extra: str, names: str) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text(f"companies:\n  Default:\n    defaults: {{symbology: code128}}\n    {extra}\n")
    with pytest.raises(ConfigError, match=names):
        load_profiles(path)


def test_enrichment_settings_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "companies.yaml"
    path.write_text("companies:\n  Default:\n    defaults: {symbology: code128}\n"
                    "    enrichment: {url: 'http://127.0.0.1:1/p', timeout_seconds: 0.2, on_failure: defaults}\n")
    settings = load_profiles(path)["Default"].enrichment
    assert settings is not None and (settings.timeout_s, settings.on_failure) == (0.2, "defaults")
    path.write_text("companies:\n  Default:\n    defaults: {symbology: code128}\n    enrichment: {url: x, attempts: 0}\n")
    with pytest.raises(ConfigError, match="attempts"):
        load_profiles(path)
