"""Docs that must stay true: every setting a service reads is in the README's configuration table."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(r"""env\.(?:str|int|float|choice)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def settings_read_by_services() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "services").rglob("*.py"):
        names.update(READ.findall(source.read_text()))
    return names


def documented_names(readme: str) -> set[str]:
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    # The table abbreviates pairs: "`GATEWAY_RATE_LIMIT` / `_BURST`" is also GATEWAY_RATE_BURST.
    for first, tail in re.findall(r"`([A-Z][A-Z0-9_]+)` / `(_[A-Z0-9_]+)`", readme):
        names.update(first[:i] + tail for i, char in enumerate(first) if char == "_")
    return names


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    names = settings_read_by_services()
    assert len(names) > 30  # the pattern still finds the settings
    missing = sorted(names - documented_names(readme))
    assert missing == []
