"""The cost model charges what a check can cost before it runs: cheap checks a flat figure,
costly ones growing with the symbol they ask for, never below what the catalogue's example
costs (UPNQR)."""
from __future__ import annotations

from services.render.cost import CHEAP_MS, check_ms
from services.render.symbologies import CATALOGUE


def test_a_linear_symbology_is_cheap_at_any_length() -> None:
    code128 = CATALOGUE["code128"]
    assert check_ms(code128, "A" * code128.max_length, {}) == CHEAP_MS


def test_a_short_qr_is_cheap_and_a_long_one_is_not() -> None:
    qr = CATALOGUE["qrcode"]
    assert check_ms(qr, "https://example.com/p/1", {}) < 1.0
    assert check_ms(qr, "1" * qr.max_length, {}) > 100


def test_a_forced_large_version_is_costly_whatever_the_data() -> None:
    hanxin = CATALOGUE["hanxin"]
    assert check_ms(hanxin, "A", {"version": 84}) > 100
    assert check_ms(hanxin, "A", {"version": 84}) > check_ms(hanxin, "A", {"version": 42}) > check_ms(hanxin, "A", {})


def test_the_estimate_grows_with_the_data() -> None:
    aztec = CATALOGUE["aztec"]
    costs = [check_ms(aztec, "1" * n, {}) for n in (100, 1000, 2000, 3823)]
    assert costs == sorted(costs) and costs[0] < costs[-1]


def test_upnqr_is_never_below_its_fixed_cost() -> None:
    assert check_ms(CATALOGUE["upnqr"], "A", {}) > 1.0
