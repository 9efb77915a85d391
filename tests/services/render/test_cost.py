"""The cost model charges what a check can cost before it runs: cheap checks a flat figure,
costly ones growing with the symbol they ask for, never below what the catalogue's example
costs (UPNQR)."""
from __future__ import annotations

from services.render import api
from services.render.cost import CHEAP_MS, RENDER, RENDER_FREE_MS, check_ms, render_ms
from services.render.formats import FORMATS
from services.render.symbologies import CATALOGUE


def test_a_linear_symbology_is_cheap_at_any_length() -> None:
    code128 = CATALOGUE["code128"]
    assert check_ms(code128, "A" * code128.max_length, {}) == CHEAP_MS


def test_a_short_qr_is_cheap_and_a_long_one_is_not() -> None:
    qr = CATALOGUE["qrcode"]
    assert check_ms(qr, "https://example.com/p/1", {}) < 1.0
    assert check_ms(qr, "1" * qr.max_length, {}) > 10


def test_a_forced_large_version_is_costly_whatever_the_data() -> None:
    hanxin = CATALOGUE["hanxin"]
    assert check_ms(hanxin, "A", {"version": 84}) > CHEAP_MS
    assert check_ms(hanxin, "A", {"version": 84}) > check_ms(hanxin, "A", {"version": 42}) > check_ms(hanxin, "A", {})


def test_the_estimate_grows_with_the_data() -> None:
    aztec = CATALOGUE["aztec"]
    costs = [check_ms(aztec, "1" * n, {}) for n in (100, 1000, 2000, 3823)]
    assert costs == sorted(costs) and costs[0] < costs[-1]


def test_a_large_symbol_costs_more_to_draw_as_a_vector_file_than_as_png() -> None:
    hanxin = CATALOGUE["hanxin"]
    large = api.check(hanxin, "A", {"version": 84}, "zint", "png")
    small = api.check(hanxin, "A", {}, "zint", "png")
    assert render_ms(hanxin, large, "pdf") > render_ms(hanxin, large, "svg") > render_ms(hanxin, large, "png")
    assert render_ms(hanxin, large, "pdf") > 100 * render_ms(hanxin, small, "png")


def test_an_ordinary_job_draws_within_its_arrival_token() -> None:
    over = [name for name, symbology in CATALOGUE.items()
            if render_ms(symbology, api.check(symbology, symbology.example, {}, None, "png"), "png") > RENDER_FREE_MS]
    assert over == ["maxicode"]


def test_every_format_has_its_drawing_cost() -> None:
    assert set(RENDER) == set(FORMATS)


def test_a_job_without_a_format_is_charged_its_costliest_picture_format() -> None:
    hanxin = CATALOGUE["hanxin"]
    info = api.check(hanxin, "A", {"version": 84}, "zint", None)
    pictures = [fmt for fmt in hanxin.formats if fmt != "zpl"]
    assert render_ms(hanxin, info, None) == max(render_ms(hanxin, info, fmt) for fmt in pictures)


def test_a_job_without_a_format_but_with_a_labels_options_is_charged_as_a_zpl_label() -> None:
    code128 = CATALOGUE["code128"]
    info = api.check(code128, "LABEL", {}, "zint", None)
    assert render_ms(code128, info, None) < render_ms(code128, info, "zpl")  # a picture, unless asked
    assert render_ms(code128, info, None, {"dpmm": 8}) == render_ms(code128, info, "zpl")
