"""Issue-3 features through the real pipeline: zint symbologies, GS1 input, dry run."""
from __future__ import annotations

import aiohttp

from tests.support.client import fetch, generate, next_message
from tests.support.decode import decode


async def test_zint_symbologies_travel_the_pipeline_and_read_back(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        for symbology, fmt, data, formats in [("qrcode", "png", "Grüße aus Köln", ("QRCode",)),
                                              ("datamatrix", "svg", "DM-E2E", ("DataMatrix",)),
                                              ("aztec", "pdf", "AZ-E2E", ("Aztec",))]:
            _, final = await generate(ws, symbology=symbology, data=data, format=fmt,
                                      options={"module_width": 0.5, "dpi": 300})
            assert final["type"] == "completed", final
            status, content_type, body = await fetch(session, final["url"])
            assert status == 200
            assert decode(body, content_type, formats) == [data]
        _, eps = await generate(ws, symbology="usps-imb", data="01234567094987654321-01234567891", format="eps")
        assert eps["type"] == "completed" and eps["content_type"] == "application/postscript"


async def test_structured_gs1_data_and_the_ai_named_in_errors(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        _, good = await generate(ws, data={"gs1": {"01": "09501101530003", "17": "251231", "10": "AB12"}})
        assert good["type"] == "completed", good
        status, content_type, body = await fetch(session, good["url"])
        assert decode(body, content_type, ("Code128",)) == ["(01)09501101530003(17)251231(10)AB12"]
        await ws.send_json({"type": "generate", "symbology": "datamatrix",
                            "data": {"gs1": {"01": "09501101530003", "17": "251331"}}})
        bad = await next_message(ws)
        assert bad["type"] == "error" and bad["error"]["code"] == "invalid_data"
        assert "AI (17)" in bad["error"]["message"]


async def test_dry_run_answers_without_the_pipeline(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/validate", json={"symbology": "ean13", "data": "590123412345"}) as r:
            body = await r.json()
        assert r.status == 200
        assert (body["data"], body["check_digit"], body["verified"]) == ("5901234123457", "7", True)
        async with session.post(f"{gateway_a}/v1/validate",
                                json={"symbology": "qrcode", "data": "HELLO", "options": {"version": 5}}) as r:
            assert (await r.json())["width_modules"] == 37
        async with session.post(f"{gateway_a}/v1/validate", json={"symbology": "ean13", "data": "5901234123458"}) as r:
            assert r.status == 422
            assert (await r.json())["error"]["code"] == "invalid_check_digit"
        async with session.post(f"{gateway_a}/v1/validate",
                                json={"symbology": "qrcode", "data": "x", "options": {"ecc_level": "Z"}}) as r:
            assert r.status == 400
            assert "ecc_level" in (await r.json())["error"]["message"]
        async with session.get(f"{gateway_a}/v1/symbologies") as r:
            catalogue = (await r.json())["symbologies"]
        assert len(catalogue) >= 90
        qr = next(s for s in catalogue if s["name"] == "qrcode")
        assert qr["engine"] == "zint" and qr["verified"] is True and "ecc_level" in qr["options"]
