"""Batches end to end on the real stack: a CSV of a few hundred mixed rows in, a ZIP whose every
file decodes to its row, a manifest that matches the input, and a PDF label sheet whose every
label decodes too; progress over the WebSocket; cancel; idempotency; and a batch that loses no
row and counts none twice while every service is SIGKILLed in the middle of it."""
from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from devstack.stack import Stack
from loadtest.batches import (check_archive, check_sheet, download, manifest_rows, run_batches, submit_csv,
                              wait_finished)
from tests.support.client import next_message
from tests.support.decode import decode

SYMBOLOGIES = ("code128", "qrcode", "datamatrix", "ean13")


def _ean12(n: int) -> str:
    return f"590{n:09d}"


def _mixed_rows(count: int, tag: str) -> list[tuple[str, str]]:
    rows = []
    for n in range(count):
        symbology = SYMBOLOGIES[n % len(SYMBOLOGIES)]
        data = _ean12(n) if symbology == "ean13" else f"{tag}{n:03d}"
        rows.append((data, symbology))
    return rows


def _csv(rows: list[tuple[str, str]]) -> str:
    return "data,symbology\n" + "".join(f"{d},{s}\n" for d, s in rows)


async def test_a_csv_batch_gives_a_zip_a_manifest_and_a_label_sheet_that_decode_to_its_rows(gateway_a: str) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    rows = _mixed_rows(240, tag)
    rows[9] = ("12345", "ean13")  # too short: reported for its row, the batch goes on
    rows[20] = (f"{tag}-NOSUCH", "nosuch")  # unknown symbology
    rows[40] = ("X" * 40 + tag, "code128")  # valid, but wider than the sheet's label: not placed
    # Every sixth row as SVG: in the ZIP as SVG, on the sheet as vectors.
    formats = ["svg" if n % 6 == 5 else "png" for n in range(len(rows))]
    text = "data,symbology,format\n" + "".join(f"{d},{s},{f}\n" for (d, s), f in zip(rows, formats))
    async with aiohttp.ClientSession() as session:
        accepted = await submit_csv(session, gateway_a, text)
        assert accepted["total"] == 240 and accepted["invalid"] == 2
        assert [(e["row"], e["code"]) for e in accepted["errors"]] == [(10, "invalid_length"), (21, "unknown_symbology")]
        final = await wait_finished(session, gateway_a, accepted["batch_id"], within_s=180)
        assert final["status"] == "completed", final
        assert (final["completed"], final["failed"], final["total"]) == (238, 2, 240)
        assert final["labels"] == 237 and final["labels_not_placed"] == 1
        assert [(e["row"], e["code"]) for e in final["errors"]] == [(10, "invalid_length"), (21, "unknown_symbology")]
        archive = await download(session, final["archive_url"])
        manifest = manifest_rows(await download(session, final["manifest_url"]))
        sheet = await download(session, final["sheet_url"])
    assert [(int(m["row"]), m["data"], m["symbology"], m["format"]) for m in manifest] == \
        [(n + 1, d, s, f) for n, ((d, s), f) in enumerate(zip(rows, formats))]
    assert {int(m["row"]): m["error_code"] for m in manifest if m["status"] == "failed"} == \
        {10: "invalid_length", 21: "unknown_symbology"}
    assert manifest[40]["label"].startswith("not placed") and "does not fit" in manifest[40]["label"]
    assert check_archive(archive, manifest) == 238
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:  # the SVG files too (check_archive reads PNGs)
        svgs = [m for m in manifest if m["file"].endswith(".svg")]
        assert len(svgs) == 40
        for m in svgs:
            assert any(t.startswith(m["data"]) for t in decode(zf.read(m["file"]), "image/svg+xml")), m
    assert check_sheet(sheet, manifest) == 237
    assert b"/Subtype /Form" in sheet  # the SVG rows' labels are vectors


async def test_a_batch_over_the_websocket_reports_progress_then_completion(gateway_a: str) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    items = [{"data": f"{tag}{n:03d}"} for n in range(120)]
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)  # hello
        await ws.send_str(orjson.dumps({"type": "batch", "request_id": "b1", "symbology": "code128",
                                        "items": items, "sheet": {"preset": "avery-l7651"}}).decode())
        accepted = await next_message(ws)
        assert accepted["type"] == "batch_accepted" and accepted["total"] == 120 and accepted["request_id"] == "b1"
        seen: list[dict[str, Any]] = []
        while True:
            message = await next_message(ws, timeout=120)
            assert message["batch_id"] == accepted["batch_id"], message
            seen.append(message)
            if message["type"] == "batch_completed":
                break
            assert message["type"] == "batch_progress"
    done = [m["done"] for m in seen]
    assert done == sorted(done) and done[-1] == 120  # counts only grow
    assert seen[-1]["status"] == "completed" and seen[-1]["archive_url"] and seen[-1]["sheet_url"]


async def test_a_repeated_idempotency_key_gets_the_same_batch_and_other_rows_get_409(gateway_a: str) -> None:
    key = uuid.uuid4().hex
    body = {"symbology": "qrcode", "idempotency_key": key, "items": [{"data": f"IDEM-{key}-{n}"} for n in range(5)]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/batches", json=body) as resp:
            first = await resp.json()
            assert resp.status == 202, first
        async with session.post(f"{gateway_a}/v1/batches", json=body) as resp:
            again = await resp.json()
            assert resp.status == 200 and again["batch_id"] == first["batch_id"] and again["replayed"]
        async with session.post(f"{gateway_a}/v1/batches", json={**body, "items": body["items"][:4]}) as resp:
            assert resp.status == 409 and (await resp.json())["error"]["code"] == "idempotency_key_reused"
        final = await wait_finished(session, gateway_a, first["batch_id"], within_s=60)
    assert final["status"] == "completed" and final["completed"] == 5


async def test_cancel_stops_the_rows_not_started(gateway_a: str) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    rows = [(f"{tag}{n:05d}", "code128") for n in range(3000)]
    async with aiohttp.ClientSession() as session:
        accepted = await submit_csv(session, gateway_a, _csv(rows))
        async with session.delete(f"{gateway_a}/v1/batches/{accepted['batch_id']}") as resp:
            assert resp.status == 202 and (await resp.json())["status"] == "cancelling"
        final = await wait_finished(session, gateway_a, accepted["batch_id"], within_s=120)
        manifest = manifest_rows(await download(session, final["manifest_url"]))
    assert final["status"] == "cancelled" and final["cancelled"] > 0
    assert final["completed"] + final["failed"] + final["cancelled"] == 3000
    assert sum(m["status"] == "cancelled" for m in manifest) == final["cancelled"]


async def test_the_load_tools_batch_mode_follows_batches_to_verified_outputs(gateway_a: str) -> None:
    lines: list[str] = []
    runs = await run_batches(gateway_a, batches=2, rows=40, symbologies=("qrcode", "ean13"), verify=True,
                             within_s=120, say=lines.append)
    assert [r.final["completed"] for r in runs] == [40, 40]
    assert all(r.accepted_s <= (r.last_row_s or 0) <= (r.outputs_s or 0) for r in runs)
    assert sum("40 files and 40 labels decoded" in line for line in lines) == 2


async def test_a_csv_that_arrives_in_pieces_is_read_whole(gateway_a: str) -> None:
    """Found by `make bench-batches`: one read of the body took what had arrived, and a
    10,000-row CSV became a batch of 7,517 rows (the last one cut short)."""
    text = _csv([(f"PIECE{n:05d}", "code128") for n in range(2000)]).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(text), 4096):
            yield text[start:start + 4096]
            await asyncio.sleep(0.005)

    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/batches", data=pieces(), headers={"Content-Type": "text/csv"}) as resp:
            body = await resp.json()
        assert resp.status == 202 and (body["total"], body["invalid"]) == (2000, 0), body
        async with session.delete(f"{gateway_a}/v1/batches/{body['batch_id']}"):
            pass  # the rows themselves are not what this test is about


async def test_a_dry_run_reports_the_rows_and_sends_nothing(gateway_a: str) -> None:
    text = _csv([("DRY-1", "code128"), ("12345", "ean13"), ("DRY-3", "qrcode")])
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/batches", data=text, params={"dry_run": "1"},
                                headers={"Content-Type": "text/csv"}) as resp:
            body = await resp.json()
    assert resp.status == 200 and body["dry_run"] and "batch_id" not in body
    assert (body["total"], body["valid"], body["invalid"]) == (3, 2, 1) and body["errors"][0]["row"] == 2


async def test_a_caller_has_a_bounded_number_of_batches_running(gateway_a: str) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    accepted: list[str] = []
    async with aiohttp.ClientSession() as session:
        try:
            for n in range(6):
                text = _csv([(f"{tag}{n}{r:05d}", "code128") for r in range(3000)])
                async with session.post(f"{gateway_a}/v1/batches", data=text, headers={"Content-Type": "text/csv"}) as resp:
                    body = await resp.json()
                if resp.status == 429:
                    break
                assert resp.status == 202, body
                accepted.append(body["batch_id"])
            assert resp.status == 429 and body["error"]["code"] == "too_many_in_flight", body
            assert "GATEWAY_MAX_BATCHES_PER_CALLER" in body["error"]["message"] and len(accepted) <= 4
        finally:
            for batch_id in accepted:
                async with session.delete(f"{gateway_a}/v1/batches/{batch_id}"):
                    pass
            for batch_id in accepted:
                await wait_finished(session, gateway_a, batch_id, within_s=60)


async def test_bad_batches_are_refused_with_the_line_or_field_named(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/batches", data=b'data\n"unterminated\n',
                                headers={"Content-Type": "text/csv"}) as resp:
            error = (await resp.json())["error"]
            assert resp.status == 400 and error["code"] == "invalid_csv" and "line" in error["message"]
        async with session.post(f"{gateway_a}/v1/batches", json={"items": [{"data": "A"}],
                                                                 "sheet": {"preset": "nosuch"}}) as resp:
            error = (await resp.json())["error"]
            assert resp.status == 400 and error["code"] == "invalid_sheet" and "nosuch" in error["message"]
        async with session.get(f"{gateway_a}/v1/batches/{uuid.uuid4().hex}") as resp:
            assert resp.status == 404


def _kill_and_restart(stack: Stack, name: str) -> None:
    svc = stack.services[name]
    svc.kill()
    time.sleep(0.5)
    svc.start(wait=False)


async def _done_at_least(session: aiohttp.ClientSession, gateway: str, batch_id: str, rows: int,
                         within_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{gateway}/v1/batches/{batch_id}") as resp:
                body: dict[str, Any] = await resp.json()
                if resp.status == 200 and body["done"] >= rows:
                    return body
        except aiohttp.ClientError:
            pass  # the gateway is being restarted
        await asyncio.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not reach {rows} rows in {within_s} s")


async def test_sigkills_of_every_service_mid_batch_lose_no_row_and_count_none_twice(tmp_path: Path) -> None:
    """Its own stack: killing the shared one would upset other tests."""
    stack = Stack.create(tmp_path)
    try:
        await asyncio.to_thread(stack.start_infra)  # these run event loops of their own
        gateway = (await asyncio.to_thread(stack.start_pipeline))[0]
        total = 1500
        rows = [(f"KILL{n:05d}", "code128") for n in range(total)]
        async with aiohttp.ClientSession() as session:
            accepted = await submit_csv(session, gateway, _csv(rows))
            batch_id = accepted["batch_id"]
            for share, name in ((0.1, "generator"), (0.25, "batcher"), (0.4, "notifier"), (0.55, "router"),
                                (0.7, "gateway")):
                now = await _done_at_least(session, gateway, batch_id, int(total * share))
                assert now["status"] == "running" and now["done"] < total, now  # killed mid-batch
                print(f"SIGKILL {name} at {now['done']} of {total} rows")
                await asyncio.to_thread(_kill_and_restart, stack, name)
            await asyncio.to_thread(stack.services["gateway"].wait_ready, 60)
            final = await wait_finished(session, gateway, batch_id, within_s=300)
            manifest = manifest_rows(await download(session, final["manifest_url"]))
            archive = await download(session, final["archive_url"])
    finally:
        await asyncio.to_thread(stack.stop)
    assert final["status"] == "completed", final
    assert (final["completed"], final["failed"], final["cancelled"]) == (total, 0, 0)
    assert [int(m["row"]) for m in manifest] == list(range(1, total + 1))  # each row once
    assert all(m["status"] == "completed" and m["data"] == rows[int(m["row"]) - 1][0] for m in manifest)
    assert check_archive(archive, manifest) == total
