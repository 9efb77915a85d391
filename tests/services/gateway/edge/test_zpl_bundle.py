"""GET /static/zpl/zpl-renderer.js on a bare app, with a stand-in bundle in a temporary modules
folder: gzipped with its ETag and a day's caching, revalidated with a 304, read again after a
reinstall, and a JSON 404 where the renderer is not installed."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.context import GATEWAY, Gateway
from services.gateway.edge import zpl_bundle
from services.gateway.edge.guard import json_errors
from services.gateway.jobs.state import JobIndex
from services.gateway.results.sockets import SocketRegistry
from services.gateway.settings import GatewaySettings
from services.settings import Env

SCRIPT = b"export const ready = Promise.resolve({api: {}});\n" * 200


def _app(modules: Path | None) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[GATEWAY] = Gateway(settings=GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})),
                           index=JobIndex(60), registry=SocketRegistry())
    app.router.add_get(zpl_bundle.PATH, zpl_bundle.handler(modules))
    return app


def _install(modules: Path, body: bytes) -> Path:
    path = modules / zpl_bundle.BUNDLE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


@pytest.fixture
async def client(tmp_path: Path) -> TestClient:
    _install(tmp_path, SCRIPT)
    async with TestClient(TestServer(_app(tmp_path))) as test_client:
        yield test_client


async def test_a_browser_gets_it_gzipped_cacheable_for_a_day_and_revalidates_with_a_304(client: TestClient) -> None:
    resp = await client.get(zpl_bundle.PATH, headers={"Accept-Encoding": "gzip, deflate, br"}, auto_decompress=False)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.headers["Content-Encoding"] == "gzip" and resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["Cache-Control"] == "public, max-age=86400"
    assert gzip.decompress(await resp.read()) == SCRIPT
    etag = resp.headers["ETag"]
    again = await client.get(zpl_bundle.PATH, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag and await again.read() == b""


async def test_a_client_without_gzip_gets_the_file_as_it_is_under_its_own_etag(client: TestClient) -> None:
    zipped = await client.get(zpl_bundle.PATH, headers={"Accept-Encoding": "gzip"})
    for accept in ("identity", "gzip;q=0"):
        resp = await client.get(zpl_bundle.PATH, headers={"Accept-Encoding": accept})
        assert resp.status == 200 and "Content-Encoding" not in resp.headers
        assert await resp.read() == SCRIPT
        assert resp.headers["ETag"] != zipped.headers["ETag"]


async def test_a_reinstalled_bundle_is_served_with_a_new_etag(client: TestClient, tmp_path: Path) -> None:
    first = await client.get(zpl_bundle.PATH)
    path = _install(tmp_path, SCRIPT + b"// the next release\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # even on a coarse clock
    second = await client.get(zpl_bundle.PATH, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert (await second.read()).endswith(b"// the next release\n")


@pytest.mark.parametrize("configured", [False, True])
async def test_without_the_renderer_it_is_a_json_404(tmp_path: Path, configured: bool) -> None:
    modules = tmp_path if configured else None  # a folder without the bundle, or no setting at all
    async with TestClient(TestServer(_app(modules))) as client:
        resp = await client.get(zpl_bundle.PATH)
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"


@pytest.mark.parametrize("header,gzipped", [("gzip", True), ("deflate, gzip;q=0.5", True), ("GZIP", True),
                                            ("gzip;q=0", False), ("br", False), ("", False), ("gzip;q=x", False)])
def test_accept_encoding(header: str, gzipped: bool) -> None:
    assert zpl_bundle.accepts_gzip(header) is gzipped
