from __future__ import annotations

from services.generator.keys import object_key

PB = "python-barcode-0.16.1"


def test_same_request_same_key_any_option_order() -> None:
    a = object_key("code128", "ABC", "png", {"module_width": 0.3, "write_text": False}, PB)
    b = object_key("code128", "ABC", "png", {"write_text": False, "module_width": 0.3}, PB)
    assert a == b and a.endswith(".png") and a.startswith("v1/")


def test_any_difference_changes_the_key() -> None:
    base = object_key("code128", "ABC", "png", {}, PB)
    variants = {base, object_key("code128", "ABD", "png", {}, PB), object_key("code128", "ABC", "svg", {}, PB),
                object_key("code39", "ABC", "png", {}, PB), object_key("code128", "ABC", "png", {"dpi": 200}, PB),
                object_key("code128", "ABC", "png", {}, "zint-bindings-1.2.2")}
    assert len(variants) == 6
