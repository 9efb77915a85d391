"""ZPL labels through the real pipeline: jobs at every printer density in fifteen symbologies,
each label fetched from the store, drawn by the independent renderer (zebrash) and decoded; the
options a ZPL label refuses; and a label's bytes sent to a printer's raw port (a TCP listener of
the test's own standing in for port 9100)."""
from __future__ import annotations

import asyncio
import re
import uuid

import aiohttp
import zxingcpp

from services.render import api, zpl_native
from services.render.symbologies import CATALOGUE
from tests.support.client import fetch, generate, next_message
from tests.support.decode import zpl_label_image

CASES = [("code128", "ZPL-E2E-128"), ("qrcode", "https://example.com/zpl?e2e=1"), ("datamatrix", "ZPL DM E2E"),
         ("ean13", "5901234123457"), ("ean8", "96385074"), ("upca", "036000291452"), ("code39", "ZPLE2E"),
         ("itf", "12345678"), ("code93", "ZPL93"), ("pdf417", "ZPL PDF417 E2E"), ("aztec", "ZPL AZTEC E2E"),
         ("gs1_128", "(01)09506000134352(10)E2E"), ("codabar", "A123456A"), ("databar", "0950600013435"),
         ("microqr", "12345")]


def _decoded(body: bytes) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(zpl_label_image(body))}


async def test_fifteen_symbologies_at_four_densities_come_back_as_labels_that_print_their_data(
        gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        for dpmm in (6, 8, 12, 24):
            for name, data in CASES:
                _, final = await generate(ws, symbology=name, data=data, format="zpl", options={"dpmm": dpmm})
                assert final["type"] == "completed", (name, dpmm, final)
                assert final["content_type"] == "application/zpl"
                assert final["verified"] is True and "unverified_reason" not in final, final
                status, content_type, body = await fetch(session, final["url"])
                assert (status, content_type) == (200, "application/zpl")
                assert body.startswith(b"^XA") and body.rstrip().endswith(b"^XZ")
                expected = set(api.check(CATALOGUE[name], data, {"dpmm": dpmm}, None, "zpl").scan)
                assert _decoded(body) & expected, (name, dpmm, _decoded(body), expected)


NATIVE_DRAWN_BACK = [name for name, native in zpl_native.NATIVE.items() if native.renders_back]


async def test_native_labels_of_fifteen_symbologies_at_four_densities_print_their_data(gateway_a: str) -> None:
    assert len(NATIVE_DRAWN_BACK) >= 15
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
        await next_message(ws)
        for dpmm in (6, 8, 12, 24):
            for name in NATIVE_DRAWN_BACK:
                symbology, options = CATALOGUE[name], {"dpmm": dpmm, "zpl_mode": "native"}
                _, final = await generate(ws, symbology=name, data=symbology.example, format="zpl", options=options)
                assert final["type"] == "completed" and final["verified"] is True, (name, dpmm, final)
                _, _, body = await fetch(session, final["url"])
                assert zpl_native.NATIVE[name].command.encode() in body and b"^GF" not in body
                expected = set(api.check(symbology, symbology.example, options, None, "zpl").scan)
                assert _decoded(body) & expected, (name, dpmm, _decoded(body), expected)
        # A command the independent renderer does not draw: served, and said unverified, with why.
        _, upca = await generate(ws, symbology="upca", data="036000291452", format="zpl",
                                 options={"zpl_mode": "native"})
        assert upca["verified"] is False and "^BU" in upca["unverified_reason"], upca
        await ws.send_json({"type": "generate", "symbology": "hanxin", "data": "A", "format": "zpl",
                            "options": {"zpl_mode": "native"}})
        refused = await next_message(ws)
        assert refused["type"] == "error" and refused["error"]["code"] == "invalid_option"
        assert "zpl_mode graphic" in refused["error"]["message"]


async def test_a_rest_job_names_its_file_zpl_and_refuses_what_a_label_cannot_take(gateway_a: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs",
                                json={"symbology": "code128", "data": "REST-ZPL", "format": "zpl"}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}?wait=20") as resp:
            job = await resp.json()
        assert job["status"] == "completed" and job["content_type"] == "application/zpl", job
        async with session.get(f"{gateway_a}/v1/jobs/{job['job_id']}/file") as resp:
            assert resp.status == 200 and resp.content_type == "application/zpl"
            assert "REST-ZPL" in _decoded(await resp.read())
        for options, fmt, named in [({"dpi": 300}, "zpl", "dpi"), ({"dpmm": 8}, "png", "dpmm"),
                                    ({"background": "#ffff00"}, "zpl", "background")]:
            async with session.post(f"{gateway_a}/v1/jobs", json={"symbology": "code128", "data": "X",
                                                                  "format": fmt, "options": options}) as resp:
                refused = await resp.json()
            assert resp.status == 400 and refused["error"]["code"] == "invalid_option", refused
            assert repr(named) in refused["error"]["message"]


async def test_a_label_sent_to_a_printers_raw_port_arrives_byte_for_byte(gateway_a: str) -> None:
    received: list[bytes] = []
    done = asyncio.Event()

    async def printer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())  # a raw port takes bytes until the sender closes
        writer.close()
        done.set()

    server = await asyncio.start_server(printer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            _, final = await generate(ws, symbology="qrcode", data="TO THE PRINTER", format="zpl")
            _, _, label = await fetch(session, final["url"])
        # What `nc printer 9100 < label.zpl` does (docs/api.md, "Printing ZPL").
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(label)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(done.wait(), 10)
    finally:
        server.close()
        await server.wait_closed()
    assert received == [label]
    assert len(re.findall(rb"\^XA", received[0])) == 1 and "TO THE PRINTER" in _decoded(received[0])


async def test_a_200_row_batch_gives_a_zpl_stream_whose_every_label_prints_its_row(gateway_a: str) -> None:
    from loadtest.batches import download, manifest_rows, submit_csv, wait_finished

    tag = uuid.uuid4().hex[:4].upper()
    kinds = [("qrcode", "zpl"), ("code128", "png"), ("datamatrix", "zpl"), ("code128", "svg"), ("qrcode", "png")]
    rows = [(f"{tag}-{n:03d}", *kinds[n % len(kinds)]) for n in range(200)]
    text = "data,symbology,format\n" + "".join(f"{d},{s},{f}\n" for d, s, f in rows)
    async with aiohttp.ClientSession() as session:
        sheet = '{"preset": "avery-l7160", "dpmm": 8}'
        accepted = await submit_csv(session, gateway_a, text, sheet=sheet)
        final = await wait_finished(session, gateway_a, accepted["batch_id"], within_s=240)
        assert final["status"] == "completed" and final["completed"] == 200, final
        stream = await download(session, final["zpl_url"])
        manifest = manifest_rows(await download(session, final["manifest_url"]))
    assert (final["zpl_labels"], final["zpl_labels_not_placed"]) == (200, 0), \
        [(m["row"], m["format"], m["zpl_label"]) for m in manifest if not m["zpl_label"].startswith("label")]
    labels = re.findall(rb"\^XA.*?\^XZ\n", stream, re.S)
    assert len(labels) == 200 and b"".join(labels) == stream  # nothing between or after the labels
    for line, (data, _, _) in zip(manifest, rows):
        number = int(line["zpl_label"].removeprefix("label "))
        assert data in _decoded(labels[number - 1]), (line, data)


async def test_an_image_url_serves_a_zpl_label_a_printer_can_take_directly(gateway_a: str) -> None:
    # What a label template or a print script would fetch: GET /v1/barcode?...&format=zpl.
    params = {"symbology": "code128", "data": f"URL-{uuid.uuid4().hex[:6]}", "format": "zpl", "dpmm": "12",
              "zpl_mode": "native"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway_a}/v1/barcode", params=params) as resp:
            body = await resp.read()
            assert resp.status == 200 and resp.content_type == "application/zpl", (resp.status, body[:200])
    assert b"^BC" in body and params["data"] in _decoded(body)
