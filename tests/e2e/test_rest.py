"""The REST path end to end, and the gateway's rejections of bad input."""
from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.support.client import fetch
from tests.support.decode import decode
from tests.support.metrics import scrape


async def _final(session: aiohttp.ClientSession, url: str, body: object) -> dict:  # type: ignore[type-arg]
    """Submit a job and wait for its final status, as a REST client would."""
    status, queued = await _submit(session, url, body)
    assert status == 202, queued
    async with session.get(f"{url}/v1/jobs/{queued['job_id']}", params={"wait": "20"}) as resp:
        return await resp.json()  # type: ignore[no-any-return]


async def _submit(session: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with session.post(f"{url}/v1/jobs", json=body) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
async def test_submit_wait_fetch_and_decode(gateway_a: str, fmt: str) -> None:
    data = f"REST-{uuid.uuid4().hex[:10].upper()}"
    async with aiohttp.ClientSession() as session:
        status, body = await _submit(session, gateway_a, {"symbology": "code128", "data": data, "format": fmt})
        assert status == 202 and body["status"] == "queued"
        job_id = body["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            job = await resp.json()
        assert job["status"] == "completed", job
        status, content_type, file_body = await fetch(session, f"{gateway_a}/v1/jobs/{job_id}/file")
        assert status == 200
        assert decode(file_body, content_type) == [data]


async def test_invalid_check_digit_over_rest(gateway_a: str) -> None:
    """Data the symbology cannot take is refused before Kafka (issue 14 item 6), naming the rule."""
    async with aiohttp.ClientSession() as session:
        status, refused = await _submit(session, gateway_a, {"symbology": "ean8", "data": "96385070"})
    assert status == 400 and refused["error"]["code"] == "invalid_check_digit"
    assert "5" in refused["error"]["message"]  # the digit it should have been


async def test_letters_in_a_numeric_code_over_rest(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        status, refused = await _submit(session, gateway_a, {"symbology": "itf", "data": "12AB"})
    assert status == 400 and refused["error"]["code"] == "invalid_characters"


async def test_data_the_profiles_symbology_cannot_take_is_a_failed_job(gateway_a: str) -> None:
    """Without a symbology the company profile picks it in the router, after the gateway: the
    generator's own check answers, as a failed job with a data code (never verification_failed)."""
    async with aiohttp.ClientSession() as session:
        job = await _final(session, gateway_a, {"data": "EMOJI-\U0001F600"})
        assert job["status"] == "failed"
        assert job["error"]["code"] == "invalid_characters"
        async with session.get(f"{gateway_a}/v1/jobs/{job['job_id']}/file") as resp:
            assert resp.status == 409
            assert (await resp.json())["error"]["code"] == "not_ready"


BAD_BODIES: list[tuple[object, int, str]] = [
    ([1, 2], 400, "invalid_request"),
    ({}, 400, "invalid_request"),
    ({"data": None}, 400, "invalid_request"),
    ({"data": ["x"]}, 400, "invalid_request"),
    ({"data": "A", "symbology": 7}, 400, "invalid_request"),
    ({"data": "A", "client_id": 7}, 400, "invalid_request"),
    ({"data": "Y", "resume_token": True}, 400, "invalid_request"),  # found by `make fuzz`
    ({"data": "Y", "resume_token": "1.abc"}, 400, "invalid_request"),  # a token without its client id
    ({"data": "A", "symbology": "qr-ish"}, 400, "unknown_symbology"),
    ({"data": "A", "format": "tiff"}, 400, "unknown_format"),
    ({"data": "1" * 9, "symbology": "ean8"}, 400, "data_too_long"),
    ({"data": "A" * 8000}, 400, "data_too_long"),
    ({"data": "A", "symbology": "code128", "options": {"dpi": "high"}}, 400, "invalid_option"),
]


@pytest.mark.parametrize("body,status,code", BAD_BODIES)
async def test_bad_bodies_are_rejected_with_a_code(gateway_a: str, body: object, status: int, code: str) -> None:
    async with aiohttp.ClientSession() as session:
        got_status, got = await _submit(session, gateway_a, body)
    assert got_status == status
    assert got["error"]["code"] == code
    assert got["error"]["message"]


async def test_malformed_json_and_oversized_body(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", data=b"{oops",
                                headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["code"] == "invalid_json"
        async with session.post(f"{gateway_a}/v1/jobs", data=b"{" + b" " * 100_000 + b"}",
                                headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 413
            assert (await resp.json())["error"]["code"] == "payload_too_large"


async def test_unknown_job_and_bad_wait(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway_a}/v1/jobs/nope") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "not_found"
        async with session.get(f"{gateway_a}/v1/jobs/nope/file") as resp:
            assert resp.status == 404
        async with session.get(f"{gateway_a}/v1/jobs/nope", params={"wait": "soon"}) as resp:
            assert resp.status == 400
        for loose in ("\t4", " 4", "1e1", "nan", "-1"):  # make fuzz: float() took "\t4" as 4
            async with session.get(f"{gateway_a}/v1/jobs/nope", params={"wait": loose}) as resp:
                assert resp.status == 400, loose
        async with session.get(f"{gateway_a}/v1/nothing-here") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "not_found"


async def test_catalogue_health_and_openapi(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway_a}/v1/symbologies") as resp:
            names = {s["name"] for s in (await resp.json())["symbologies"]}
        assert {"code128", "ean13", "upca", "itf", "codabar", "gs1_128", "pzn"} <= names
        async with session.get(f"{gateway_a}/healthz") as resp:
            assert resp.status == 200
        async with session.get(f"{gateway_a}/readyz") as resp:
            assert resp.status == 200
            assert (await resp.json())["checks"]["job_state_caught_up"] is True
        async with session.get(f"{gateway_a}/openapi.json") as resp:
            doc = await resp.json()
        assert doc["openapi"].startswith("3.")
        assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/file", "/v1/symbologies",
                "/v1/formats"} <= set(doc["paths"])
        async with session.get(f"{gateway_a}/v1/formats") as resp:
            formats = {f["name"]: f for f in (await resp.json())["formats"]}
        assert set(formats) == {"png", "svg", "pdf", "eps", "zpl"}
        assert formats["zpl"] == {"name": "zpl", "content_type": "application/zpl", "extension": "zpl",
                                  "vector": False, "inline": False, "on_sheet": False}
        assert formats["svg"] == {"name": "svg", "content_type": "image/svg+xml", "extension": "svg", "vector": True,
                                  "inline": True, "on_sheet": True}
        assert not formats["pdf"]["inline"] and not formats["eps"]["on_sheet"]
        metrics = await scrape(session, gateway_a)
        assert "barcode_gateway_jobs_published_total" in metrics
        assert metrics["barcode_gateway_jobs_evicted_total"] == 0  # far below GATEWAY_MAX_JOBS


async def test_the_openapi_document_says_a_bad_batch_row_is_reported_not_refused(gateway_a: str) -> None:
    """`make fuzz` (schemathesis ST201): the document required every batch row to be an object
    with `data`, and a batch with a row lacking it (or a null row) was accepted, that row
    reported in `errors`. The document now says what the service does."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/batches?dry_run=1",
                                json={"symbology": "code128", "items": [{"data": "A-1"}, {}, {"data": ""}, None]}) as resp:
            answer = await resp.json()
        assert resp.status == 200 and answer["valid"] == 1 and answer["invalid"] == 3, answer
        assert [(e["row"], e["code"]) for e in answer["errors"]] == [(2, "invalid_request"), (3, "invalid_request"),
                                                                     (4, "invalid_request")]
        async with session.get(f"{gateway_a}/openapi.json") as resp:
            doc = await resp.json()
    body = doc["paths"]["/v1/batches"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    row = body["properties"]["items"]["items"]
    assert not {"type", "required", "properties"} & set(row) and "per row" in row["description"]
    # A batch setting given as null is read as absent (make fuzz: `"format": null` was accepted).
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/batches?dry_run=1",
                                json={"symbology": "code128", "format": None, "sheet": None, "items": [{"data": "A"}]}) as resp:
            assert resp.status == 200 and (await resp.json())["valid"] == 1
    for name in ("symbology", "format", "company", "options", "sheet", "idempotency_key"):
        assert {"type": "null"} in body["properties"][name]["anyOf"], name


async def test_a_wrong_method_is_405_with_the_allowed_ones(gateway_a: str) -> None:
    """RFC 9110: a 405 names the methods that work (it came without Allow)."""
    async with aiohttp.ClientSession() as session:
        async with session.delete(f"{gateway_a}/v1/jobs") as resp:
            assert resp.status == 405
            assert (await resp.json())["error"]["code"] == "method_not_allowed"
            assert "POST" in {m.strip() for m in resp.headers["Allow"].split(",")}
