"""Property-based: any valid input round-trips through render and decode."""
from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from services.gateway.edge.errors import ApiError
from services.gateway.jobs.validation import parse_generate
from services.render import api
from services.render.errors import JobError
from services.render.options import OptionError, validate_options
from services.render.symbologies import CATALOGUE, OptionSpec
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


# Whatever the gateway accepts renders and verifies, over the whole catalogue (issue 14): the
# gateway runs the renderer's exact check(), so no client input can end as verification_failed,
# render_failed or an internal error. RENDER_PROPERTY_EXAMPLES sets the count (default 800,
# about 10 s); a bug found here is a check() that is not exact.
CATALOGUE_PROPERTY = settings(max_examples=int(os.environ.get("RENDER_PROPERTY_EXAMPLES", "800")), deadline=None,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_SIZES: dict[str, st.SearchStrategy[Any]] = {
    # Mostly small (fast to draw), sometimes at the budget's edge.
    "dpi": st.sampled_from([72, 96, 150, 203, 300, 600, 1200, 2400]),
    "module_width": st.one_of(st.sampled_from([0.1, 0.19, 0.25, 0.33, 0.5]), st.floats(0.1, 5.0)),
    "quiet_zone": st.one_of(st.sampled_from([0, 1, 2.5]), st.floats(0.0, 50.0)),
    "module_height": st.one_of(st.sampled_from([1, 5, 15]), st.floats(1.0, 200.0)),
    "foreground": st.sampled_from(["#000000", "#112233", "#ffffff\n", "#FFEEDD", "red"]),
    "background": st.sampled_from(["#ffffff", "#ffeedd", "#000000"]),
}


def _option_value(name: str, spec: OptionSpec) -> st.SearchStrategy[Any]:
    if name in _SIZES:
        return _SIZES[name]
    if spec.choices is not None:
        return st.sampled_from(spec.choices)
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "integer":
        return st.integers(int(spec.minimum or 0), int(spec.maximum or 100))
    return st.floats(spec.minimum or 0.0, spec.maximum or 100.0)


@st.composite
def _requests(draw: st.DrawFn) -> dict[str, Any]:
    symbology = CATALOGUE[draw(st.sampled_from(sorted(CATALOGUE)))]
    example = symbology.example
    data = draw(st.one_of(
        st.just(example),
        st.text("0123456789", min_size=1, max_size=30),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30),
        st.text(example + "😀é\x00\x80-/", min_size=1, max_size=len(example) + 3),  # its own characters, and some
        ANY_TEXT,
        st.builds(lambda i, c: example[:i] + c + example[i + 1:], st.integers(0, len(example)), ANY_TEXT),
    ))
    specs = {k: v for e in symbology.engines for k, v in symbology.options_for(e).items()}
    names = draw(st.lists(st.sampled_from(sorted(specs)), max_size=4, unique=True))
    options = {name: draw(_option_value(name, specs[name])) for name in names}
    return {"symbology": symbology.name, "data": data, "format": draw(st.sampled_from(symbology.formats)),
            "options": options}


@CATALOGUE_PROPERTY
@given(body=_requests())
def test_whatever_the_gateway_accepts_renders_and_verifies(body: dict[str, Any]) -> None:
    note(repr(body))
    try:
        request = parse_generate(body, "job", None)
    except ApiError as exc:
        event(f"refused {exc.code}")
        return  # refused with a code, before Kafka: fine
    symbology = CATALOGUE[body["symbology"]]
    drawable = 0
    for engine in symbology.engines:  # the company profile may pick either
        try:
            validate_options(symbology, request.options, engine)
            api.check(symbology, request.data, request.options, engine, request.format)
        except (OptionError, JobError):
            continue  # the generator refuses it with a data/option code, as the gateway would
        api.render(symbology, request.data, request.format or "png", request.options, engine)
        drawable += 1
    event(f"rendered by {drawable} engine(s)")
    assert drawable, "the gateway accepted what no engine draws"
