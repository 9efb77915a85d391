"""Invalid data per family comes back with the right code and a message naming the problem."""
from __future__ import annotations

import pytest

from services.render import api
from services.render.errors import JobError
from services.render.symbologies import CATALOGUE


@pytest.mark.parametrize("name,engine,data,code,mentions", [
    ("ean13", "zint", "5901234123458", "invalid_check_digit", "7"),
    ("upca", "zint", "036000291453", "invalid_check_digit", "2"),
    ("upce", "zint", "01234560", "invalid_check_digit", ""),
    ("databar", "zint", "09501101530004", "invalid_check_digit", ""),
    ("itf14", "zint", "09501101530004", "invalid_check_digit", ""),
    ("gs1_128", "python-barcode", "(01)09501101530004", "invalid_check_digit", "(01)"),
    ("gs1_128", "zint", "(01)09501101530003(17)251331", "invalid_data", "(17)"),
    ("databar-expanded", "zint", "(01)09501101530003(3103)12", "invalid_length", "(3103)"),
    ("code39", "zint", "lower case", "invalid_characters", ""),
    ("rm4scc", "zint", "SN34RD1A!", "invalid_characters", ""),
    ("koreapost", "zint", "12345X", "invalid_characters", ""),
    ("pharmacode", "zint", "131071", "invalid_data", ""),
    ("usps-imb", "zint", "0123456709498765432A", "invalid_characters", ""),
    ("vin", "zint", "1M8GDM9AYKP042788", "invalid_check_digit", ""),
    ("upu-s10", "zint", "EE876543215CA", "invalid_check_digit", ""),
    ("qrcode", "zint", "x" * 8000, "data_too_long", ""),
])
def test_invalid_data(name: str, engine: str, data: str, code: str, mentions: str) -> None:
    with pytest.raises(JobError) as caught:
        api.render(CATALOGUE[name], data, "png", {}, engine)
    assert caught.value.code == code, caught.value.message
    assert mentions in caught.value.message


def test_zint_messages_name_the_offending_gs1_ai() -> None:
    with pytest.raises(JobError) as caught:
        api.check(CATALOGUE["datamatrix"], "(01)09501101530003(17)259931", {"gs1": True})
    assert "AI (17)" in caught.value.message
