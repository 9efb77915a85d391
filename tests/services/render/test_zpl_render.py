"""ZPL graphic labels drawn back by the independent renderer (zebrash) and decoded with zxing-cpp:
every density, fifteen symbologies. Needs Node and zpl-renderer-js (scripts/zpl)."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import zxingcpp

from services.render import api
from services.render.symbologies import CATALOGUE
from services.render.zpl import DPI_OF_DPMM, label
from devstack import install, paths
from services.render.zpl_render import ZplRenderer

CASES = [("code128", "ZPL-123"), ("qrcode", "https://example.com/zpl"), ("datamatrix", "ZPL DM 42"),
         ("ean13", "5901234123457"), ("ean8", "96385074"), ("upca", "036000291452"), ("code39", "ZPL39"),
         ("itf", "12345678"), ("code93", "ZPL93"), ("pdf417", "ZPL PDF417"), ("aztec", "ZPL AZTEC"),
         ("gs1_128", "(01)09506000134352(10)AB12"), ("codabar", "A123456A"), ("databar", "0950600013435"),
         ("microqr", "12345")]


@pytest.fixture(scope="module")
def renderer() -> Iterator[ZplRenderer]:
    install.install_zpl_renderer()  # what `make test` did already; idempotent
    zpl = ZplRenderer(paths.zpl_modules())
    yield zpl
    zpl.close()


@pytest.mark.parametrize("dpmm", sorted(DPI_OF_DPMM))
def test_every_symbology_prints_back_to_its_data_at_every_density(renderer: ZplRenderer, dpmm: int) -> None:
    spent = []
    for name, data in CASES:
        symbology = CATALOGUE[name]
        options = {"dpi": DPI_OF_DPMM[dpmm], "module_width": max(0.25, 2 / dpmm)}
        drawn = api.render(symbology, data, "png", options, None, verify_output=False)
        from PIL import Image
        import io
        image = Image.open(io.BytesIO(drawn.body))
        zpl = label(image)
        started = time.perf_counter()
        printed = renderer.render(zpl, image.width, image.height, dpmm)
        spent.append(time.perf_counter() - started)
        texts = {r.text for r in zxingcpp.read_barcodes(printed)}
        expected = drawn.info.scan if hasattr(drawn.info, "scan") and isinstance(drawn.info.scan, str) else data
        assert texts, f"{name} at {dpmm} dpmm: nothing decoded"
        assert any(data in t or t in data or t == expected for t in texts), (name, dpmm, texts)
    print(f"{dpmm} dpmm: {1000 * sum(spent) / len(spent):.1f} ms per label")
