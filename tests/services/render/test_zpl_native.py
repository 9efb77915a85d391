"""ZPL native labels drawn back by the independent renderer (zebrash) and decoded with zxing-cpp:
every command zebrash draws, at every density, with data that needs escaping where the
symbology takes it; the label holds the symbol and its quiet zones; the commands zebrash does
not draw still do not draw (so their `why` holds). Needs Node and zpl-renderer-js (scripts/zpl)."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from devstack import install, paths
from services.render import api, engine_zint, zpl_native
from services.render.errors import JobError
from services.render.geometry import geometry
from services.render.symbologies import CATALOGUE
from services.render.types import SymbolInfo
from services.render.verify import verify
from services.render.zpl import DPI_OF_DPMM
from services.render.zpl_native import NATIVE, native_label, unsupported_options, unverifiable
from services.render.zpl_render import ZplRenderer, ZplRenderError

# Two data values a symbology; the second needs ^FH escapes (^ ~ _, control characters) where
# the symbology takes them.
CASES: dict[str, tuple[str, ...]] = {
    "code128": ("ZPL-123", "a>b^c~d_e\x01f"),
    "gs1_128": ("(01)09506000134352(10)AB12", "(10)ABC(17)251231(21)XYZ_9"),
    "ean14": ("09501101530003", "0950110153000"),
    "sscc18": ("12345678901234567", "00000000000000001"),
    "code39": ("ZPL39", "A-Z $/+%. 09"),
    "ean13": ("5901234123457", "400638133393"),
    "isbn13": ("9783161484100", "978030640615"),
    "isbn10": ("316148410X", "0306406152"),
    "issn": ("03178471", "00280836"),
    "jan": ("4901234567894", "450123456789"),
    "itf": ("12345678", "001234567890"),
    "qrcode": ("https://example.com/zpl", "a^b~c_d\x01\t\n end,"),
    "datamatrix": ("ZPL DM 42", "a^b~c_d\x1d,`|#"),
    "pdf417": ("ZPL PDF417", "x^y~z_w\n" + "long data 1234567890 " * 5),
    "aztec": ("ZPL AZTEC", "a^b~c_d\x00 more"),
}
NOT_DRAWN = {"code93": "ZPL93", "ean8": "96385074", "upca": "036000291452", "upce": "0123456",
             "codabar": "A123456A", "databar": "0950600013435"}


@pytest.fixture(scope="module")
def renderer() -> Iterator[ZplRenderer]:
    install.install_zpl_renderer()  # what `make test` did already; idempotent
    zpl = ZplRenderer(paths.zpl_modules())
    yield zpl
    zpl.close()


def _options(dpmm: int, **extra: Any) -> dict[str, Any]:
    return {"dpi": DPI_OF_DPMM[dpmm], **extra}


def _info(name: str, data: str, options: dict[str, Any], engine: str | None = None) -> SymbolInfo:
    return api.check(CATALOGUE[name], data, options, engine)


def _dark_box(image: Image.Image) -> tuple[int, int, int, int]:
    box = image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None, "nothing drawn"
    return box


def _draw(renderer: ZplRenderer, name: str, info: SymbolInfo, options: dict[str, Any],
          dpmm: int) -> tuple[Image.Image, bytes]:
    zpl, width, height = native_label(name, info, options, dpmm)
    image = renderer.render(zpl, width, height, dpmm)
    assert image.size == (width, height)
    return image, zpl


def test_the_cases_cover_every_command_zebrash_draws() -> None:
    assert set(CASES) == {name for name, native in NATIVE.items() if native.renders_back}
    assert set(NOT_DRAWN) | {"maxicode"} == {name for name, native in NATIVE.items() if not native.renders_back}
    assert all(native.why for native in NATIVE.values() if not native.renders_back)
    assert set(NATIVE) <= set(CATALOGUE)


@pytest.mark.parametrize("dpmm", sorted(DPI_OF_DPMM))
def test_native_labels_print_back_to_their_data_at_every_density(renderer: ZplRenderer, dpmm: int) -> None:
    spent, failures = [], []
    for name, values in CASES.items():
        for data in values:
            options = _options(dpmm)
            info = _info(name, data, options)
            assert unverifiable(name, info, options) is None, (name, data)
            started = time.perf_counter()
            image, zpl = _draw(renderer, name, info, options, dpmm)
            spent.append(time.perf_counter() - started)
            try:
                verify(image, CATALOGUE[name], info.scan, geometry(options).dots_per_module)
            except JobError as exc:
                failures.append(f"{name} {data!r} at {dpmm} dpmm: {exc.message} ({zpl!r})")
                continue
            left, top, right, bottom = _dark_box(image)
            if left < 1 or top < 1 or right > image.width - 1 or bottom > image.height - 1:
                failures.append(f"{name} {data!r} at {dpmm} dpmm: drawn to the label's edge {(left, top, right, bottom)}")
    assert not failures, "\n".join(failures)
    print(f"{dpmm} dpmm: {1000 * sum(spent) / len(spent):.1f} ms per label ({len(spent)} labels)")


def test_a_wrong_label_does_not_pass(renderer: ZplRenderer) -> None:
    """The check above can fail: the same label against other data, and a label of other data."""
    options = _options(8)
    info = _info("code128", "ZPL-123", options)
    image, _ = _draw(renderer, "code128", info, options, 8)
    with pytest.raises(JobError):
        verify(image, CATALOGUE["code128"], ("ZPL-124",), 3)
    other = _info("qrcode", "https://example.com/other", options)
    image, _ = _draw(renderer, "qrcode", other, options, 8)
    with pytest.raises(JobError):
        verify(image, CATALOGUE["qrcode"], _info("qrcode", "https://example.com/zpl", options).scan, 3)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_label_holds_the_symbol_and_its_quiet_zones(renderer: ZplRenderer, name: str) -> None:
    dpmm = 12
    options = _options(dpmm, **({} if NATIVE[name].hri is False else {"write_text": False}))
    info = _info(name, CASES[name][0], options)
    image, _ = _draw(renderer, name, info, options, dpmm)
    module = geometry(options).dots_per_module
    native = NATIVE[name]
    left, top, right, bottom = _dark_box(image)
    q_left, q_right = native.quiet[0] * module, native.quiet[1] * module
    q_vertical = q_left if name in ("qrcode", "datamatrix", "pdf417", "aztec") else min(q_left, q_right)
    assert left >= q_left and image.width - right >= q_right, (name, image.size, (left, top, right, bottom))
    assert top >= q_vertical and image.height - bottom >= q_vertical, (name, image.size, (left, top, right, bottom))
    verify(image, CATALOGUE[name], info.scan, module)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_turned_labels_print_back_whole(renderer: ZplRenderer, rotation: int) -> None:
    for name in ("code128", "ean13", "itf", "pdf417", "datamatrix", "aztec"):
        for dpmm in (6, 24):
            options = _options(dpmm, rotation=rotation)
            info = _info(name, CASES[name][0], options)
            image, zpl = _draw(renderer, name, info, options, dpmm)
            assert f"^{NATIVE[name].command[1:]}{'NRIB'[rotation // 90]}".encode() in zpl
            verify(image, CATALOGUE[name], info.scan, geometry(options).dots_per_module)
            left, top, right, bottom = _dark_box(image)
            assert left >= 1 and top >= 1 and right <= image.width - 1 and bottom <= image.height - 1, (name, dpmm)


def test_options_native_mode_takes_print_back(renderer: ZplRenderer) -> None:
    for name, data, extra in [("code39", "ZPL39", {"checksum": True}), ("code128", "ZPL-123", {"quiet_zone": 0}),
                              ("qrcode", "hello", {"ecc_level": "H"}), ("pdf417", "hello", {"ecc_level": "5"}),
                              ("aztec", "hello", {"ecc_level": "50%"}), ("aztec", "hello", {"version": 3}),
                              ("aztec", "hello", {"version": 7}), ("datamatrix", "hello", {"version": 5}),
                              ("datamatrix", "(01)09506000134352(10)AB12(21)X", {"gs1": True}),
                              ("code128", "ZPL-123", {"module_height": 5, "module_width": 0.5})]:
        options = _options(8, **extra)
        info = _info(name, data, options)
        image, zpl = _draw(renderer, name, info, options, 8)
        expected = (info.text,) if name == "code39" else info.scan  # with its check character
        verify(image, CATALOGUE[name], expected, geometry(options).dots_per_module)
    assert b"^FDZPL397^FS" in native_label("code39", _info("code39", "ZPL39", _options(8)), _options(8, checksum=True),
                                           8)[0]


def test_latin1_code128_goes_in_mode_n_with_fnc4(renderer: ZplRenderer) -> None:
    options = _options(8)
    info = _info("code128", "café xy", options, "zint")
    zpl, _, _ = native_label("code128", info, options, 8)
    assert b",N^FD>:caf>6i xy^FS" in zpl  # start B, FNC4, "i" (233 - 128)
    assert unverifiable("code128", info, options) is None
    image, _ = _draw(renderer, "code128", info, options, 8)
    verify(image, CATALOGUE["code128"], info.scan, 3)


@pytest.mark.parametrize("data, slip", [("café", "last single character"), ("abé12345678", "code set C")])
def test_zebrash_slips_in_mode_n_are_named_and_still_there(renderer: ZplRenderer, data: str, slip: str) -> None:
    """Data-dependent: zebrash drops a lone last character after an invocation and cannot change
    to code set C; unverifiable() says so, and zebrash still gets such labels wrong."""
    options = _options(8)
    info = _info("code128", data, options, "zint")
    why = unverifiable("code128", info, options)
    assert why is not None and slip in why
    image, _ = _draw(renderer, "code128", info, options, 8)
    with pytest.raises(JobError):
        verify(image, CATALOGUE["code128"], info.scan, 3)


@pytest.mark.parametrize("name", sorted(NOT_DRAWN))
def test_commands_zebrash_does_not_draw_still_come_out_as_text(renderer: ZplRenderer, name: str) -> None:
    options = _options(8)
    info = _info(name, NOT_DRAWN[name], options)
    image, zpl = _draw(renderer, name, info, options, 8)
    assert NATIVE[name].command.encode() in zpl
    assert zxingcpp.read_barcodes(image.convert("L")) == [], f"zebrash draws {NATIVE[name].command} now"
    _dark_box(image)  # the field's data, as text
    with pytest.raises(JobError):
        verify(image, CATALOGUE[name], info.scan, 3)


def test_zebrash_still_refuses_plain_maxicode(renderer: ZplRenderer) -> None:
    options = _options(8)
    info = _info("maxicode", "HELLO MAXICODE", options)
    zpl, width, height = native_label("maxicode", info, options, 8)
    assert zpl.startswith(b"^XA^PW") and b"^BD4,1,1^FDHELLO MAXICODE^FS" in zpl
    with pytest.raises(ZplRenderError, match="invalid length of maxicode data"):
        renderer.render(zpl, width, height, 8)


# --- no renderer needed -------------------------------------------------------------------------


def test_hex_escapes() -> None:
    assert zpl_native.hex_escaped("plain_text-123") == ("plain_text-123", False)  # no ^FH: "_" is itself
    assert zpl_native.hex_escaped("a^b~c_d") == ("a_5Eb_7Ec_5Fd", True)
    assert zpl_native.hex_escaped("tab\there\n\x00\x7f") == ("tab_09here_0A_00_7F", True)
    assert zpl_native.hex_escaped("café") == ("caf_E9", True)


@pytest.mark.parametrize("name, data", [("code128", "a^b~c_d"), ("qrcode", "a^b~c_d\n"), ("datamatrix", "^~_"),
                                        ("pdf417", "~^~"), ("aztec", "x~y")])
def test_field_data_never_carries_a_command_prefix(name: str, data: str) -> None:
    options = _options(8)
    zpl, _, _ = native_label(name, _info(name, data, options), options, 8)
    field = re.search(rb"\^FH_\^FD(.*)\^FS\^XZ\n$", zpl)
    assert field is not None, zpl
    assert not re.search(rb"[\^~\x00-\x1f]", field.group(1))
    assert zpl.isascii()


def test_label_frame() -> None:
    options = _options(8)
    zpl, width, height = native_label("code128", _info("code128", "ZPL-123", options), options, 8)
    assert zpl.startswith(f"^XA^PW{width}^LL{height}^LH0,0^FO".encode()) and zpl.endswith(b"^XZ\n")
    assert b"^BY3,3.0,120^BCN,120,Y,N,N,A^FDZPL-123^FS" in zpl  # 0.33 mm at 8 dpmm: 3 dots; 15 mm bars


def test_code128_modes_and_sets() -> None:
    info = SymbolInfo(data="010950600013435210AB12(21)X", text="(01)09506000134352(10)AB12(21)X", scan=())
    bc = zpl_native.code128("gs1_128", info)
    assert (bc.mode, bc.field) == ("D", "(01)09506000134352(10)AB12>8(21)X")  # FNC1 after (10), not (01)
    plan = zpl_native.code128_plan
    assert plan(list("12345678")).field == ">;12345678"
    assert plan(list("ZPL-12345678")).field == ">:ZPL->512345678"
    assert plan(list("ab\x01c")).field == ">:ab>765>6c"  # subset A as digit pairs: SOH is 65
    assert plan(list("a>b")).field == ">:a>0b" and plan(list("a>b")).lone_tail
    assert plan(list("A")).field == ">933" and not plan(list("A")).lone_tail  # start A costs nothing
    assert plan(list("1234A")).field == ">;1234>733"  # code A instead of B after C: same length
    assert plan(list("x~")).hex and plan(list("x~")).field == ">:x_7E"
    assert plan(list("12345")).field == ">:1>52345"


def test_other_field_data() -> None:
    assert zpl_native.code39_check("ZPL39") == "7"
    assert zpl_native.code93_field("Ab$/+%&") == "A)B$/+%(F"  # shifts as Zebra's & ' ( ), own $ / + % as they are
    assert zpl_native.upce_manufacturer_product("123456") == "1234500006"
    assert zpl_native.upce_manufacturer_product("123450") == "1200000345"
    options = _options(8)
    zpl, _, _ = native_label("upce", _info("upce", "0123456", options), options, 8)
    assert b"^B9N,120,Y,N,Y^FD1234500006^FS" in zpl  # UPC-A 012345000065
    zpl, _, _ = native_label("datamatrix", _info("datamatrix", "a`b", options), options, 8)
    assert b",200,,,6,|,1^FDa`b^FS" in zpl  # an escape character the data does not hold


def test_data_native_mode_cannot_carry_is_refused() -> None:
    options = _options(8)
    for name, data, engine in [("qrcode", "café", None), ("ean13", "5901234123457+12", "zint"),
                               ("upce", "1123456", None)]:
        info = _info(name, data, options, engine)
        with pytest.raises(JobError) as caught:
            native_label(name, info, options, 8)
        assert "zpl_mode graphic" in caught.value.message


def test_unsupported_options() -> None:
    assert unsupported_options("code128", _options(8, module_width=0.33, quiet_zone=2, rotation=90,
                                                   module_height=10, write_text=False)) == []
    assert unsupported_options("code128", _options(8, foreground="#ff0000", background="#FFFFFF")) == ["foreground"]
    assert unsupported_options("code128", _options(8, font_size=10, text_distance=2)) == ["font_size", "text_distance"]
    assert unsupported_options("code93", _options(8, small_text=True)) == ["small_text"]
    assert unsupported_options("qrcode", _options(8, version=5, rotation=90, gs1=True, ecc_level="Q")) == [
        "gs1", "rotation", "version"]
    assert unsupported_options("qrcode", _options(24, module_width=1.0)) == ["module_width"]  # 24 dots: ^BQ takes 1-10
    assert unsupported_options("qrcode", _options(24, module_width=0.4)) == []
    assert unsupported_options("datamatrix", _options(24, module_width=1.0, version=24, gs1=True)) == []
    assert unsupported_options("datamatrix", _options(8, version=30)) == ["version"]
    assert unsupported_options("aztec", _options(8, version=3, ecc_level="23%")) == ["ecc_level"]
    assert unsupported_options("databar", _options(8, write_text=True)) == ["write_text"]
    assert unsupported_options("maxicode", _options(8, module_width=0.5, rotation=180)) == ["module_width", "rotation"]
    assert unsupported_options("code16k", _options(8)) == ["zpl_mode"]  # no native command


def test_sizes_are_upper_bounds() -> None:
    """What the label is sized from: Data Matrix squares as libzint numbers them; Aztec and QR
    bounds never below libzint's symbol for the same data."""
    for version in range(1, 25):
        side = engine_zint.check("datamatrix", "1", {"version": version}).width_modules
        assert zpl_native.datamatrix_side(1, version) == side
        assert zpl_native.datamatrix_side(zpl_native._DM_SQUARES[version - 1][1]) == side
    for length in (1, 10, 50, 200, 800):
        data = "Zq9." * (length // 4) + "x" * (length % 4)
        for ecc in ("10%", "23%", "50%"):
            zint = engine_zint.check("aztec", data, {"ecc_level": ecc}).width_modules or 0
            assert zpl_native.aztec_side(len(data), int(ecc[:-1])) >= zint, (length, ecc)
        for level in "LMQH":
            zint = engine_zint.check("qrcode", data, {"ecc_level": level}).width_modules or 0
            assert zpl_native.qr_side(len(data), level) >= zint, (length, level)
