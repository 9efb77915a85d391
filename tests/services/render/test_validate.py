from __future__ import annotations

import pytest

from services.render.errors import JobError
from services.render.validate import gs1_mod10, normalise


@pytest.mark.parametrize("symbology,data,scan", [
    ("ean13", "590123412345", "5901234123457"),  # check digit computed
    ("ean13", "5901234123457", "5901234123457"),  # check digit verified
    ("ean8", "9638507", "96385074"),
    ("upca", "03600029145", "0036000291452"),
    ("isbn13", "978-3-16-148410-0", "9783161484100"),
    ("isbn10", "3-16-148410-X", "9783161484100"),
    ("issn", "0317-8471", "9770317847001"),
    ("pzn", "123456", "PZN-1234562"),
    ("ean14", "0950110153000", "(01)09501101530003"),
    ("codabar", "40156", "A40156A"),
    ("gs1_128", "(01)09501101530003(10)AB12", "(01)09501101530003(10)AB12"),
])
def test_valid_data_is_normalised(symbology: str, data: str, scan: str) -> None:
    assert normalise(symbology, data, {}).scan == scan


@pytest.mark.parametrize("symbology,data,code", [
    ("ean13", "5901234123458", "invalid_check_digit"),
    ("ean8", "96385070", "invalid_check_digit"),
    ("upca", "036000291453", "invalid_check_digit"),
    ("isbn10", "3161484101", "invalid_check_digit"),
    ("pzn", "1234563", "invalid_check_digit"),
    ("gs1_128", "(01)09501101530004", "invalid_check_digit"),
    ("ean13", "59012341234A", "invalid_characters"),
    ("itf", "12AB", "invalid_characters"),
    ("code39", "lower", "invalid_characters"),
    ("code128", "naïve", "invalid_characters"),
    ("codabar", "A12E4B", "invalid_characters"),
    ("ean13", "12345", "invalid_length"),
    ("itf", "123", "invalid_length"),
    ("pzn", "12345678", "invalid_length"),
    ("jan", "123456789012", "invalid_data"),
    ("isbn13", "1234567890123", "invalid_data"),
    ("gs1_128", "0109501101530003", "invalid_data"),
])
def test_invalid_data_names_the_rule(symbology: str, data: str, code: str) -> None:
    with pytest.raises(JobError) as caught:
        normalise(symbology, data, {})
    assert caught.value.code == code
    assert symbology.split("_")[0] in caught.value.message.lower() or "ai" in caught.value.message.lower()


def test_gs1_check_digit() -> None:
    assert gs1_mod10("590123412345") == 7
    assert gs1_mod10("0950110153000") == 3


def test_gs1_variable_length_fields_are_separated_by_fnc1() -> None:
    drawn = normalise("gs1_128", "(10)AB12(17)251231", {}).data
    assert drawn == "10AB12\xf117251231"
    # A fixed-length AI needs no separator.
    assert normalise("gs1_128", "(17)251231(10)AB12", {}).data == "1725123110AB12"
