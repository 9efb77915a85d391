"""Find and lazily unmount what a killed process left mounted below a folder of ours."""
from __future__ import annotations

import subprocess
from pathlib import Path


def _unescape(field: str) -> str:
    # /proc/self/mountinfo octal-escapes space, tab, newline and backslash (`\040`).
    return field.encode().decode("unicode_escape")


def mounts_under(*roots: Path) -> list[str]:
    """Mount points at or below `roots`, deepest first so children go before their parents."""
    prefixes = tuple(str(r.resolve()) for r in roots)
    found = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split()[4])
        if any(point == p or point.startswith(p + "/") for p in prefixes):
            found.add(point)
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def unmount_under(*roots: Path) -> None:
    for point in mounts_under(*roots):
        subprocess.run(["umount", "-l", point], check=False, stderr=subprocess.DEVNULL)
