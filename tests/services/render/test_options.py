"""Options out of range, of the wrong type or not applicable are errors naming the option."""
from __future__ import annotations

import pytest

from services.render.options import ANY_ENGINE, OptionError, validate_options, validate_unscoped
from services.render.symbologies import CATALOGUE


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
    # Issue 14: "$" of the colour pattern matched before a final newline.
    ("code128", {"foreground": "#ffffff\n"}, "foreground"),
    # Valid alone, not together: 472 printer dots per module (engines draw at most 400).
    ("code128", {"module_width": 5.0, "dpi": 2400}, "module_width"),
    ("qrcode", {"module_width": 5.0, "dpi": 2400}, "module_width"),
    # White bars on white: nothing reads it (verification_failed before).
    ("aztec", {"foreground": "#ffffff"}, "foreground"),
    ("code128", {"foreground": "#ffeedd", "background": "#ffffff"}, "foreground"),
    ("code128", {"background": "#000000"}, "background"),
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


def test_options_without_a_symbology_are_flat_and_known() -> None:
    nested: dict[str, object] = {}
    for _ in range(1000):
        nested = {"a": nested}
    for options, option in [({"dpi": nested}, "dpi"), ({"nope": 1}, "nope"), ({"foreground": "#000000\n"}, "foreground"),
                            ({"module_width": 5.0, "dpi": 2400}, "module_width")]:
        with pytest.raises(OptionError) as caught:
            validate_unscoped(options)
        assert caught.value.option == option
    # What some symbology takes passes: Han Xin's version 84, QR's ecc_level, Aztec's "23%".
    validate_unscoped({"version": 84, "ecc_level": "23%", "module_width": 0.5, "foreground": "#112233"})
