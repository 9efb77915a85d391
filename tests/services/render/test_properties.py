"""Property-based: any valid input round-trips through render and decode."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.render import api
from services.symbologies import CATALOGUE
from tests.support.decode import decode

ASCII_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40)
# QR Code in UTF-8: letters and symbols from several scripts, no control characters.
UNICODE_TEXT = st.text(alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"), max_codepoint=0xFFFF),
                       min_size=1, max_size=60)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(data=ASCII_PRINTABLE, engine=st.sampled_from(["python-barcode", "zint"]))
def test_code128_round_trips(data: str, engine: str) -> None:
    rendered = api.render(CATALOGUE["code128"], data, "png", {}, engine)
    assert decode(rendered.body, "image/png", ("Code128",)) == [data]


@PROPERTY
@given(data=UNICODE_TEXT, ecc=st.sampled_from(["L", "M", "Q", "H"]))
def test_qr_round_trips(data: str, ecc: str) -> None:
    rendered = api.render(CATALOGUE["qrcode"], data, "png", {"ecc_level": ecc})
    assert decode(rendered.body, "image/png", ("QRCode",)) == [data]
