"""Two findings of an outside tester (issue 22), end to end: a batch's manifest opens in a
spreadsheet without running a row's data as a formula while its barcodes keep the exact data;
and HEAD of a job's file answers with the GET's headers and no body, so the next request on
the same keep-alive connection still reads a valid response."""
from __future__ import annotations

import csv
import io
import uuid
import zipfile
from types import SimpleNamespace

import aiohttp

from loadtest.batches import download, manifest_rows, submit_csv, wait_finished
from tests.support.decode import decode

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv(rows: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("data", "symbology"))
    writer.writerows(rows)
    return out.getvalue()


async def test_manifest_cells_are_neutralised_and_barcodes_keep_the_exact_data(gateway_a: str) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    injected = [f'=HYPERLINK("http://evil.test/{tag}","click")', f"+{tag}+1", "-5", f"@SUM({tag})"]
    rows = [(data, "code128") for data in injected] + [(f"-{tag}", "=nosuch")]  # refused: unknown symbology
    async with aiohttp.ClientSession() as session:
        accepted = await submit_csv(session, gateway_a, _csv(rows))
        assert (accepted["total"], accepted["invalid"]) == (5, 1), accepted
        final = await wait_finished(session, gateway_a, accepted["batch_id"], within_s=120)
        assert final["status"] == "completed" and final["completed"] == 4, final
        stored = await download(session, final["manifest_url"])
        archive = await download(session, final["archive_url"])
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    assert files["manifest.csv"] == stored  # the ZIP's manifest is the same file
    manifest = manifest_rows(stored)
    assert [m["data"] for m in manifest] == ["'" + data for data in injected] + [f"'-{tag}"]
    assert manifest[4]["symbology"] == "'=nosuch" and manifest[4]["status"] == "failed"
    for line in manifest:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in line.values()), line
    for line, data in zip(manifest, injected):
        assert line["status"] == "completed" and line["file"].startswith(f"{line['row'].zfill(6)}-"), line
        assert decode(files[line["file"]], "image/png") == [data]


async def test_head_of_a_file_sends_its_headers_and_no_body_on_a_keep_alive_connection(gateway_a: str) -> None:
    data = f"HEAD-{uuid.uuid4().hex[:10].upper()}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json={"symbology": "code128", "data": data}) as resp:
            assert resp.status == 202
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            job = await resp.json()
        assert job["status"] == "completed", job
    url = f"{gateway_a}/v1/jobs/{job_id}/file"
    # One connection for both requests: whatever HEAD leaves on it is what GET reads first.
    opened: list[object] = []
    reused: list[object] = []
    trace = aiohttp.TraceConfig()

    async def on_create(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object) -> None:
        opened.append(params)

    async def on_reuse(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object) -> None:
        reused.append(params)

    trace.on_connection_create_end.append(on_create)
    trace.on_connection_reuseconn.append(on_reuse)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), trace_configs=[trace]) as one:
        async with one.head(url) as head:
            assert head.status == 200
            head_headers = dict(head.headers)
            assert await head.read() == b""
        async with one.get(url) as get:
            assert get.status == 200
            body = await get.read()
    assert (len(opened), len(reused)) == (1, 1)  # the GET went over the HEAD's connection
    assert head_headers["Content-Type"] == "image/png"
    assert head_headers["Content-Length"] == str(len(body))
    assert head_headers["Content-Disposition"] == f'inline; filename="{job_id}.png"'
    assert decode(body, "image/png") == [data]
