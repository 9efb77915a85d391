"""Recently served image files: bounded in bytes, least recently used out first."""
from __future__ import annotations

from services.gateway.images.memory import RecentFiles


def test_the_least_recently_used_go_first_and_the_size_stays_bounded() -> None:
    files = RecentFiles(capacity_bytes=100)
    for name in "abcd":
        files.put(name, b"x" * 10)
    assert files.get("a") == b"x" * 10  # a is now the most recent
    for name in "efghijk":
        files.put(name, b"y" * 10)
    assert files.size <= 100 and len(files) == 10
    assert files.get("a") is not None and files.get("b") is None  # b was the oldest unused


def test_a_file_over_a_tenth_of_the_capacity_is_not_kept() -> None:
    files = RecentFiles(capacity_bytes=100)
    files.put("big", b"z" * 11)
    assert files.get("big") is None and files.size == 0
