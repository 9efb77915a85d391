"""GET /v1/barcode end to end on the real stack: an image URL answered with the verified file,
made once and served from the store after (on any replica), bwip-js's parameters, 304s, and the
refusals a template author would meet. Every image fetched is decoded."""
from __future__ import annotations

import asyncio
import json
import io
import uuid

import aiohttp
from PIL import Image

from tests.support.decode import decode
from tests.support.keys import KEY_A, KEY_B
from tests.support.metrics import scrape


def _data() -> str:
    return f"IMG-{uuid.uuid4().hex[:10].upper()}"


async def _get(session: aiohttp.ClientSession, url: str, params: dict[str, str],
               headers: dict[str, str] | None = None) -> tuple[int, aiohttp.typedefs.LooseHeaders, bytes]:
    async with session.get(f"{url}/v1/barcode", params=params, headers=headers or {}) as resp:
        return resp.status, resp.headers, await resp.read()


async def test_a_url_is_made_once_then_served_from_the_store_and_revalidated_with_its_etag(gateway_a: str) -> None:
    data = _data()
    params = {"symbology": "code128", "data": data, "module_width": "0.5", "write_text": "false"}
    async with aiohttp.ClientSession() as session:
        before = await scrape(session, gateway_a)
        status, headers, first = await _get(session, gateway_a, params)
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert decode(first, "image/png") == [data]
        etag = headers["ETag"]
        assert etag.startswith('"') and headers["Cache-Control"].startswith("public, max-age=")
        status, headers, again = await _get(session, gateway_a, params)
        assert status == 200 and again == first and headers["ETag"] == etag
        status, headers, empty = await _get(session, gateway_a, params, {"If-None-Match": etag})
        assert status == 304 and empty == b"" and headers["ETag"] == etag
        after = await scrape(session, gateway_a)
    assert after["barcode_gateway_image_misses_total"] - before["barcode_gateway_image_misses_total"] == 1
    assert after["barcode_gateway_image_hits_total"] - before["barcode_gateway_image_hits_total"] == 2
    assert after["barcode_gateway_jobs_published_total"] - before["barcode_gateway_jobs_published_total"] == 1
    # The miss's file came back with its result and the repeat from memory: the store was never
    # read to answer (the 304 needed nothing at all).
    assert after["barcode_gateway_image_from_memory_total"] - before["barcode_gateway_image_from_memory_total"] == 2


async def test_another_replica_serves_the_same_url_without_a_new_job(gateway_a: str, gateway_b: str) -> None:
    data = _data()
    params = {"symbology": "qrcode", "data": data, "format": "svg"}
    async with aiohttp.ClientSession() as session:
        status, headers, made = await _get(session, gateway_a, params)
        assert status == 200 and headers["Content-Type"].startswith("image/svg")
        assert decode(made, headers["Content-Type"]) == [data]
        # Once the other replica has read the job's request (its state feed batches fetches for
        # up to GATEWAY_STATE_FETCH_WAIT_MS), it serves the URL from that job.
        job_url = f"{gateway_b}/v1/jobs/{headers['X-Job-Id']}"
        deadline = asyncio.get_running_loop().time() + 10
        while (await session.get(job_url)).status != 200:
            assert asyncio.get_running_loop().time() < deadline, "the other replica never read the job"
            await asyncio.sleep(0.05)
        before = await scrape(session, gateway_b)
        status, _, served = await _get(session, gateway_b, params)
        after = await scrape(session, gateway_b)
    assert status == 200 and served == made
    assert after["barcode_gateway_image_misses_total"] == before["barcode_gateway_image_misses_total"]
    assert after["barcode_gateway_jobs_published_total"] == before["barcode_gateway_jobs_published_total"]


async def test_identical_requests_at_once_make_one_job(gateway_a: str) -> None:
    params = {"symbology": "datamatrix", "data": _data()}
    async with aiohttp.ClientSession() as session:
        before = await scrape(session, gateway_a)
        answers = await asyncio.gather(*(_get(session, gateway_a, params) for _ in range(6)))
        after = await scrape(session, gateway_a)
    assert {status for status, _, _ in answers} == {200} and len({body for _, _, body in answers}) == 1
    assert decode(answers[0][2], "image/png") == [params["data"]]
    assert after["barcode_gateway_jobs_published_total"] - before["barcode_gateway_jobs_published_total"] == 1


async def test_bwip_js_parameters_draw_the_same_pixels_per_module(gateway_a: str) -> None:
    """scale is pixels per module, as in bwip-js: scale=4 is twice as wide as scale=2."""
    data = _data()
    async with aiohttp.ClientSession() as session:
        widths = {}
        for scale in ("2", "4"):
            status, headers, body = await _get(session, gateway_a, {"bcid": "code128", "text": data, "scale": scale,
                                                                    "height": "10", "includetext": ""})
            assert status == 200, body
            assert decode(body, headers["Content-Type"]) == [data]
            image = Image.open(io.BytesIO(body))
            widths[scale] = image.width
            assert round(image.info["dpi"][0]) == 72 * int(scale)
        status, headers, body = await _get(session, gateway_a, {"bcid": "azteccode", "text": data, "rotate": "R",
                                                                "barcolor": "000080", "paddingwidth": "4"})
        assert status == 200 and decode(body, headers["Content-Type"]) == [data]
    assert abs(widths["4"] - 2 * widths["2"]) <= 8  # the quiet zones are whole modules too


async def test_gs1_data_as_element_string_text(gateway_a: str) -> None:
    params = {"symbology": "gs1_128", "data": "(01)09506000134352(10)AB12"}
    async with aiohttp.ClientSession() as session:
        status, headers, body = await _get(session, gateway_a, params)
    assert status == 200
    assert decode(body, headers["Content-Type"], ("Code128",)) == ["(01)09506000134352(10)AB12"]


async def test_refusals_are_json_with_the_json_apis_codes(gateway_a: str) -> None:
    cases = [
        ({"symbology": "ean8", "data": "96385070"}, 400, "invalid_check_digit"),
        ({"symbology": "code128", "data": "A", "module_width": "wide"}, 400, "invalid_option"),
        ({"symbology": "code128", "data": "A", "module_width": "99"}, 400, "invalid_option"),
        ({"symbology": "code128", "data": "A", "colour": "red"}, 400, "invalid_option"),
        ({"symbology": "nope", "data": "A"}, 400, "unknown_symbology"),
        ({"data": "A"}, 400, "invalid_request"),
        ({"bcid": "code182", "text": "A"}, 400, "unknown_symbology"),
        ({"bcid": "code128", "text": "A", "alttext": "B"}, 400, "invalid_option"),
        ({"bcid": "code128", "text": "A", "scaleX": "2", "scaleY": "3"}, 400, "invalid_option"),
        ({"bcid": "code128"}, 400, "invalid_request"),
    ]
    async with aiohttp.ClientSession() as session:
        for params, status, code in cases:
            got, headers, body = await _get(session, gateway_a, params)
            assert got == status and headers["Content-Type"].startswith("application/json"), (params, got, body)
            error = json.loads(body)["error"]
            assert error["code"] == code, (params, error)
            if params.get("bcid") == "code182":
                assert "'code128'" in error["message"]  # the nearest name


async def test_a_keyed_company_makes_a_signed_link_that_works_without_its_key(gateway_a: str, gateway_b: str) -> None:
    data = _data()
    body = {"symbology": "code128", "data": data, "company": "CompanyA"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway_a}/v1/barcode", params={"symbology": "code128", "data": data,
                                                                  "company": "CompanyA"}) as resp:
            assert resp.status == 403 and (await resp.json())["error"]["code"] == "company_not_allowed"
        async with session.post(f"{gateway_a}/v1/links", json=body, headers={"X-API-Key": KEY_A}) as resp:
            assert resp.status == 200, await resp.text()
            link = await resp.json()
        assert "X-API-Key" not in link["url"] and KEY_A not in link["url"] and link["expires_at"] > 0
        # Any replica, no key: the company's image, privately cacheable.
        async with session.get(link["url"].replace(gateway_a, gateway_b)) as resp:
            assert resp.status == 200 and resp.headers["Cache-Control"].startswith("private")
            assert decode(await resp.read(), resp.headers["Content-Type"]) == [data]
        tampered = link["url"].replace(data, data + "X")
        async with session.get(tampered) as resp:
            assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_link"
        # Links that never expire only where the company's settings allow them (CompanyB here).
        async with session.post(f"{gateway_a}/v1/links", json={**body, "ttl_seconds": 0},
                                headers={"X-API-Key": KEY_A}) as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_request"
        async with session.post(f"{gateway_a}/v1/links", json={"symbology": "qrcode", "data": data, "ttl_seconds": 0},
                                headers={"X-API-Key": KEY_B}) as resp:
            forever = await resp.json()
        assert forever["expires_at"] is None and "expires=" not in forever["url"]
        async with session.get(forever["url"]) as resp:
            assert resp.status == 200 and decode(await resp.read(), resp.headers["Content-Type"]) == [data]
        # A link is checked like a job when it is made, not when a template first shows it.
        async with session.post(f"{gateway_a}/v1/links", json={"symbology": "ean8", "data": "96385070"}) as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_check_digit"
