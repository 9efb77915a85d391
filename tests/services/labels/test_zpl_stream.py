"""labels.zpl: each row's symbol on a label of the sheet's size at the sheet's density, drawn back
by the independent renderer and decoded before it is written; what does not fit or cannot be a
ZPL label is left out with its reason."""
from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image

from services.labels.layout import layout_from
from services.labels.zpl_stream import ZplStream, caption_field
from services.render import api
from services.render.formats import FORMATS
from services.render.symbologies import CATALOGUE
from tests.support.decode import zpl_label_image, zpl_renderer


def _labels(stream: bytes) -> list[bytes]:
    return re.findall(rb"\^XA.*?\^XZ\n", stream, re.S)


def _reads(label: bytes) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(zpl_label_image(label))}


def test_rows_of_every_placeable_format_become_labels_that_read_as_their_rows() -> None:
    out = io.BytesIO()
    stream = ZplStream(out, layout_from({"preset": "avery-l7160", "dpmm": 8}), zpl_renderer().render)
    qr, code128 = CATALOGUE["qrcode"], CATALOGUE["code128"]
    rows = [
        (api.render(qr, "ROW-ZPL", "zpl", {"dpmm": 8}).body, "zpl", "ROW-ZPL"),
        (api.render(qr, "ROW-PNG-203", "png", {"dpi": 203}).body, "png", "ROW-PNG-203"),  # dot for dot
        (api.render(qr, "ROW-PNG-300", "png", {"dpi": 300, "module_width": 0.5}).body, "png", "ROW-PNG-300"),  # resampled
        (api.render(code128, "ROW-SVG", "svg", {}).body, "svg", "ROW-SVG"),
    ]
    said = [stream.add(body, FORMATS[fmt], data) for body, fmt, data in rows]
    assert said == ["label 1", "label 2", "label 3", "label 4"]
    labels = _labels(out.getvalue())
    assert len(labels) == 4
    for label, (_, _, data) in zip(labels, rows):
        assert data in _reads(label)
        # the sheet's 63.5 x 38.1 mm label at 8 dots per mm
        assert b"^PW508^LL305" in label


def test_what_cannot_be_a_label_is_left_out_with_its_reason() -> None:
    out = io.BytesIO()
    stream = ZplStream(out, layout_from({"preset": "avery-l7651"}), zpl_renderer().render)  # 38.1 x 21.2 mm
    wide = api.render(CATALOGUE["code128"], "X" * 40, "png", {"dpi": 203}).body
    assert "does not fit" in stream.add(wide, FORMATS["png"], "X" * 40)
    pdf = api.render(CATALOGUE["qrcode"], "PDF ROW", "pdf", {}).body
    assert stream.add(pdf, FORMATS["pdf"], "PDF ROW").startswith("not placed: pdf rows")
    assert out.getvalue() == b"" and stream.labels == 0


def test_a_caption_cannot_inject_zpl_and_keeps_its_characters() -> None:
    field = caption_field("A^XZ~JR_ü", 0, 0, 400, 8)
    assert b"^XZ" not in field.split(b"^FD", 1)[1] and b"~" not in field
    assert b"A_5EXZ_7EJR_5F_C3_BC" in field  # ^ ~ _ and the UTF-8 of ü as ^FH escapes
    image = Image.new("L", (80, 80), 255)  # a blank symbol with that caption renders without error
    out = io.BytesIO()
    ZplStream(out, layout_from({"preset": "avery-l7160"}), None).add(
        _png(image), FORMATS["png"], "A^XZ~JR_ü")
    assert out.getvalue().count(b"^XZ") == 1


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(203, 203))
    return buffer.getvalue()


def test_native_rows_of_one_layout_share_a_stored_format_and_still_read_as_their_rows() -> None:
    out = io.BytesIO()
    stream = ZplStream(out, layout_from({"preset": "avery-l7160", "dpmm": 8}), zpl_renderer().render)
    code128 = CATALOGUE["code128"]
    rows = [f"S{n}_^" for n in range(6)]  # ^ and _ travel as ^FH escapes in the recall
    bodies = [api.render(code128, data, "zpl", {"dpmm": 8, "zpl_mode": "native", "write_text": False}).body
              for data in rows]
    assert [stream.add(body, FORMATS["zpl"], data) for body, data in zip(bodies, rows)] == \
        [f"label {n}" for n in range(1, 7)]
    written = out.getvalue()
    assert written.count(b"^DF") == 1 and written.count(b"^XF") == 5  # the first row whole, then stored
    whole = len(_labels(written)[0])
    assert len(written) < 6 * whole * 0.8
    # A printer keeps the stored format between labels; so does the renderer within one stream.
    blocks = re.findall(rb"\^XA.*?\^XZ\n", written, re.S)
    store = next(b for b in blocks if b"^DF" in b)
    for n, block in enumerate(b for b in blocks if b"^DF" not in b):
        image = zpl_renderer().render(block if b"^XF" not in block else store + block, 508, 305, 8)
        assert rows[n] in {r.text for r in zxingcpp.read_barcodes(image)}
