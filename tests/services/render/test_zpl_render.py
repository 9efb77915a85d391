"""ZPL labels drawn back by the independent renderer (zebrash) and decoded with zxing-cpp: fifteen
symbologies at every printer density, through the same render.api a job uses."""
from __future__ import annotations

import time

import pytest
import zxingcpp

from services.render import api, zpl_render
from services.render.symbologies import CATALOGUE
from services.render.zpl import DPI_OF_DPMM
from tests.support.decode import zpl_label_image

CASES = [("code128", "ZPL-123"), ("qrcode", "https://example.com/zpl"), ("datamatrix", "ZPL DM 42"),
         ("ean13", "5901234123457"), ("ean8", "96385074"), ("upca", "036000291452"), ("code39", "ZPL39"),
         ("itf", "12345678"), ("code93", "ZPL93"), ("pdf417", "ZPL PDF417"), ("aztec", "ZPL AZTEC"),
         ("gs1_128", "(01)09506000134352(10)AB12"), ("codabar", "A123456A"), ("databar", "0950600013435"),
         ("microqr", "12345")]


@pytest.mark.parametrize("dpmm", sorted(DPI_OF_DPMM))
def test_fifteen_symbologies_print_back_to_their_data_at_every_density(dpmm: int) -> None:
    spent = []
    for name, data in CASES:
        symbology = CATALOGUE[name]
        started = time.perf_counter()
        label = api.render(symbology, data, "zpl", {"dpmm": dpmm})  # drawn back and decoded inside
        spent.append(time.perf_counter() - started)
        assert label.unverified is None, label.unverified
        assert label.content_type == "application/zpl"
        printed = zpl_label_image(label.body)  # and once more here, outside the service's code
        texts = {r.text for r in zxingcpp.read_barcodes(printed)}
        assert texts & set(label.info.scan), (name, dpmm, texts, label.info.scan)
    print(f"{dpmm} dpmm: {1000 * sum(spent) / len(spent):.1f} ms per label, render and verify")


def test_a_denser_printer_gets_a_label_of_more_dots_for_the_same_millimetres() -> None:
    sizes = {}
    for dpmm in (8, 24):
        label = api.render(CATALOGUE["qrcode"], "HELLO", "zpl", {"dpmm": dpmm, "module_width": 0.5})
        sizes[dpmm] = int(label.body.split(b"^PW", 1)[1].split(b"^", 1)[0])
    # 0.5 mm is 4 dots at 8 dots per mm and 12 at 24: three times the dots, the same size.
    assert sizes[24] == 3 * sizes[8]


def test_without_a_renderer_the_label_says_it_was_not_drawn_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> zpl_render.ZplRenderer:
        raise zpl_render.ZplRendererUnavailable("node is not installed")

    monkeypatch.setattr(zpl_render, "shared", unavailable)
    label = api.render(CATALOGUE["code128"], "NO RENDERER", "zpl", {})
    assert label.unverified is not None and "node is not installed" in label.unverified
    assert label.body.startswith(b"^XA")


def test_a_renderer_that_cannot_start_is_not_tried_again_for_every_label(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: object) -> None:
    monkeypatch.setattr(zpl_render, "_shared", None)
    monkeypatch.setattr(zpl_render, "_failed", None)
    monkeypatch.setenv(zpl_render.MODULES_ENV, str(tmp_path))  # no zpl-renderer-js there
    tries = []
    real = zpl_render.ZplRenderer

    def counted(*args: object) -> zpl_render.ZplRenderer:
        tries.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(zpl_render, "ZplRenderer", counted)
    for _ in range(3):
        with pytest.raises(zpl_render.ZplRendererUnavailable, match="not installed"):
            zpl_render.shared()
    assert len(tries) == 1
