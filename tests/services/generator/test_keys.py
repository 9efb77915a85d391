from __future__ import annotations

from services.generator.keys import object_key


def test_same_request_same_key_any_option_order() -> None:
    a = object_key("code128", "ABC", "png", {"module_width": 0.3, "write_text": False})
    b = object_key("code128", "ABC", "png", {"write_text": False, "module_width": 0.3})
    assert a == b and a.endswith(".png") and a.startswith("v1/")


def test_any_difference_changes_the_key() -> None:
    base = object_key("code128", "ABC", "png", {})
    assert len({base, object_key("code128", "ABD", "png", {}), object_key("code128", "ABC", "svg", {}),
                object_key("code39", "ABC", "png", {}), object_key("code128", "ABC", "png", {"dpi": 200})}) == 5
