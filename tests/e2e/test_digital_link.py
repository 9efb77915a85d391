"""GS1 Digital Link through the real pipeline: every image decoded, its URI compared with the one
the AIs make and read back by an independent parser (biip); GTIN with each qualifier combination,
SSCC and GLN keys, query attributes, every refusal, the reverse (a link as a GS1 symbol's data),
the company's resolver, and a 1,000-row Digital Link batch."""
from __future__ import annotations

import io
import itertools
import uuid
import zipfile
from typing import Any

import aiohttp
import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from loadtest.batches import download, manifest_rows, submit_csv, wait_finished
from tests.support.client import fetch, generate, next_message
from tests.support.decode import decode
from tests.support.keys import KEY_A

GTIN = "09506000134352"
BASE = "https://id.example.com"


def _ais(link: str) -> list[tuple[str, str]]:
    return sorted((es.ai.ai, es.value) for es in GS1DigitalLinkURI.parse(link).element_strings)


async def _made(ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession, **fields: Any) -> str:
    """The one text the job's image decodes to."""
    _, final = await generate(ws, **fields)
    assert final["type"] == "completed" and final["verified"] is True, final
    _, content_type, body = await fetch(session, final["url"])
    found = decode(body, content_type)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("symbology", ["qrcode", "datamatrix"])
async def test_gtin_with_each_qualifier_combination_and_query_attributes(gateway_a: str, symbology: str) -> None:
    qualifiers = [("22", "2A"), ("10", "ABC/1"), ("21", uuid.uuid4().hex[:8].upper())]
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        for n in range(4):
            for chosen in itertools.combinations(qualifiers, n):
                ais = {"01": GTIN, "17": "271231", "3103": "000195", **dict(reversed(chosen))}
                link = await _made(ws, session, symbology=symbology, data={"gs1": ais},
                                   options={"digital_link": BASE})
                path = "".join(f"/{ai}/{value.replace('/', '%2F')}" for ai, value in chosen)
                assert link == f"{BASE}/01/{GTIN}{path}?17=271231&3103=000195"
                assert _ais(link) == sorted(ais.items())


async def test_sscc_and_gln_keys(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        sscc = await _made(ws, session, symbology="qrcode", options={"digital_link": BASE},
                           data={"gs1": {"00": "106141412345678908", "02": "00614141123452", "37": "25"}})
        assert sscc == f"{BASE}/00/106141412345678908?02=00614141123452&37=25"
        gln = await _made(ws, session, symbology="aztec", options={"digital_link": BASE},
                          data="(414)9521321000001(254)32a")
        assert gln == f"{BASE}/414/9521321000001/254/32a" and _ais(gln) == [("254", "32a"), ("414", "9521321000001")]


async def test_true_is_the_companys_resolver(gateway_a: str) -> None:
    body = {"data": {"gs1": {"01": GTIN}}, "options": {"digital_link": True}}
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            assert await _made(ws, session, **body) == f"https://id.gs1.org/01/{GTIN}"  # Default's
        async with session.ws_connect(f"{gateway_a}/v1/ws", headers={"X-API-Key": KEY_A}) as ws:
            await next_message(ws)
            assert await _made(ws, session, company="CompanyA", **body) == f"https://id.companya.example/01/{GTIN}"


@pytest.mark.parametrize("body,code,named", [
    ({"data": {"gs1": {"10": "ABC", "17": "271231"}}}, "invalid_data", "AI (10)"),  # a qualifier without its key
    ({"data": {"gs1": {"01": GTIN, "00": "106141412345678908"}}}, "invalid_data", "AI (00)"),  # two keys
    ({"data": {"gs1": {"01": "09506000134353"}}}, "invalid_check_digit", "AI (01)"),
    ({"data": {"gs1": {"01": GTIN, "17": "271331"}}}, "invalid_data", "AI (17)"),  # month 13
    ({"data": {"gs1": {"01": GTIN}}, "options": {"digital_link": "http://id.example.com"}}, "invalid_option",
     "digital_link"),
    ({"data": {"gs1": {"01": GTIN}}, "options": {"digital_link": "https://id.example.com/?q=1"}}, "invalid_option",
     "digital_link"),
    ({"data": {"gs1": {"01": GTIN}}, "options": {"digital_link": BASE, "gs1": True}}, "invalid_option", "gs1"),
    ({"symbology": "code128", "data": "(01)" + GTIN, "options": {"digital_link": BASE}}, "invalid_option",
     "digital_link"),
    ({"symbology": "gs1_128", "data": f"{BASE}/01/{GTIN}/21/1/10/A", "options": {}}, "invalid_data", "AI (10)"),  # reverse
])
async def test_what_makes_no_digital_link_is_a_400_naming_the_ai_or_the_field(
        gateway_a: str, body: dict[str, Any], code: str, named: str) -> None:
    body = {"symbology": "qrcode", "options": {"digital_link": BASE}, **body}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json=body) as resp:
            answer = await resp.json()
    assert resp.status == 400 and answer["error"]["code"] == code, answer
    assert named in answer["error"]["message"], answer


async def test_a_link_as_gs1_data_is_its_element_string_and_the_dry_run_answers_both_forms(gateway_a: str) -> None:
    link = f"{BASE}/01/{GTIN}/10/ABC123?17=271231"
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        _, final = await generate(ws, symbology="gs1_128", data=link)
        assert final["type"] == "completed", final
        _, content_type, body = await fetch(session, final["url"])
        assert decode(body, content_type, ("Code128",)) == [f"(01){GTIN}(10)ABC123(17)271231"]
        async with session.post(f"{gateway_a}/v1/validate", json={"symbology": "datamatrix", "data": link,
                                                                   "options": {"gs1": True}}) as resp:
            dry = await resp.json()
        assert dry["element_string"] == f"(01){GTIN}(10)ABC123(17)271231"
        assert dry["digital_link"] == f"https://id.gs1.org/01/{GTIN}/10/ABC123?17=271231"
        async with session.post(f"{gateway_a}/v1/validate", json={
                "symbology": "qrcode", "data": {"gs1": {"01": GTIN, "10": "ABC123"}}, "options": {"digital_link": BASE}}) as resp:
            dry = await resp.json()
        assert (dry["element_string"], dry["digital_link"]) == (f"(01){GTIN}(10)ABC123", f"{BASE}/01/{GTIN}/10/ABC123")


async def test_a_1000_row_digital_link_batch_decodes_row_by_row(gateway_a: str) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    rows = [(GTIN, f"{tag}{n:04d}", f"27{(n % 12) + 1:02d}28") for n in range(1000)]
    text = "(01),(21),(17),digital_link\n" + "".join(f"{g},{s},{e},{BASE}\n" for g, s, e in rows)
    async with aiohttp.ClientSession() as session:
        accepted = await submit_csv(session, gateway_a, text, symbology="qrcode")
        assert (accepted["total"], accepted["invalid"]) == (1000, 0), accepted
        final = await wait_finished(session, gateway_a, accepted["batch_id"], within_s=300)
        assert final["status"] == "completed" and final["completed"] == 1000, final
        archive = await download(session, final["archive_url"])
        manifest = manifest_rows(await download(session, final["manifest_url"]))
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        for line, (gtin, serial, expiry) in zip(manifest, rows):
            assert line["verified"] == "true", line
            found = decode(zf.read(line["file"]), "image/png", ("QRCode",))
            assert found == [f"{BASE}/01/{gtin}/21/{serial}?17={expiry}"], (line, found)
            assert _ais(found[0]) == sorted([("01", gtin), ("21", serial), ("17", expiry)])


async def test_an_image_url_takes_digital_link_true_or_an_address(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        for value, base in (("true", "https://id.gs1.org"), (BASE, BASE)):
            params = {"symbology": "qrcode", "data": f"(01){GTIN}(10)IMG1", "digital_link": value}
            async with session.get(f"{gateway_a}/v1/barcode", params=params) as resp:
                assert resp.status == 200, await resp.text()
                assert decode(await resp.read(), resp.content_type) == [f"{base}/01/{GTIN}/10/IMG1"]
