"""Options out of range, of the wrong type or not applicable are errors naming the option."""
from __future__ import annotations

import pytest

from services.options import ANY_ENGINE, OptionError, validate_options
from services.symbologies import CATALOGUE


@pytest.mark.parametrize("name,options,option", [
    ("code128", {"module_width": 0.01}, "module_width"),
    ("code128", {"module_width": "wide"}, "module_width"),
    ("code128", {"dpi": 96.5}, "dpi"),
    ("code128", {"dpi": 10_000}, "dpi"),
    ("code128", {"module_height": 0.5}, "module_height"),
    ("code128", {"quiet_zone": -1}, "quiet_zone"),
    ("code128", {"foreground": "black"}, "foreground"),
    ("code128", {"rotation": 45}, "rotation"),
    ("code128", {"write_text": 1}, "write_text"),
    ("code128", {"font_size": 100}, "font_size"),
    ("qrcode", {"ecc_level": "X"}, "ecc_level"),
    ("qrcode", {"version": 41}, "version"),
    ("microqr", {"version": 5}, "version"),
    ("datamatrix", {"version": 0}, "version"),
    ("qrcode", {"module_height": 10}, "module_height"),  # a matrix symbol has no bar height
    ("qrcode", {"write_text": True}, "write_text"),  # nor printed text
    ("ean13", {"ecc_level": "H"}, "ecc_level"),
    ("code128", {"gs1": True}, "gs1"),
])
def test_bad_options_name_themselves(name: str, options: dict[str, object], option: str) -> None:
    with pytest.raises(OptionError) as caught:
        validate_options(CATALOGUE[name], options)
    assert caught.value.option == option
    assert option in str(caught.value)


def test_an_option_of_another_engine_is_accepted_until_the_engine_is_known() -> None:
    code128 = CATALOGUE["code128"]
    validate_options(code128, {"small_text": True}, ANY_ENGINE)
    with pytest.raises(OptionError):
        validate_options(code128, {"small_text": True}, "python-barcode")
    validate_options(code128, {"small_text": True}, "zint")
