"""The gateway's middleware on a bare app: what every request passes and every error becomes."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.context import GATEWAY, Gateway
from services.gateway.edge.guard import guard, host_allowed, json_errors, security_headers
from services.gateway.settings import GatewaySettings
from services.gateway.results.sockets import SocketRegistry
from services.gateway.jobs.state import JobIndex
from services.settings import Env


def _app(**env: str) -> web.Application:
    settings = GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s", **env}))
    app = web.Application(middlewares=[json_errors, guard])
    app[GATEWAY] = Gateway(settings=settings, index=JobIndex(60), registry=SocketRegistry())
    app.on_response_prepare.append(security_headers)

    async def broken(request: web.Request) -> web.Response:
        raise RecursionError("maximum recursion depth exceeded while encoding a JSON object")

    async def fine(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post("/broken", broken)
    app.router.add_get("/fine", fine)
    return app


@pytest.fixture
async def client() -> TestClient:
    async with TestClient(TestServer(_app())) as test_client:
        yield test_client


async def test_an_unexpected_exception_is_a_counted_json_500_without_detail(client: TestClient) -> None:
    """Issue 14 item 3: a RecursionError left as a plain-text 500, counted nowhere."""
    resp = await client.post("/broken", json={})
    assert resp.status == 500
    body = await resp.json()
    assert body["error"]["code"] == "internal_error" and "Recursion" not in body["error"]["message"]
    assert client.app[GATEWAY].server_errors == 1


async def test_writes_must_be_json(client: TestClient) -> None:
    resp = await client.post("/broken", data=b"x", headers={"Content-Type": "text/plain"})
    assert resp.status == 415 and (await resp.json())["error"]["code"] == "unsupported_media_type"


async def test_a_content_type_the_header_parser_chokes_on_is_a_415_not_a_500(client: TestClient) -> None:
    """Found by tests/e2e/test_fuzz.py in CI: the standard library's parser raised IndexError."""
    resp = await client.post("/broken", data=b'{"data": "HELLO"}', headers={"Content-Type": "f7f{;xY*"})
    assert resp.status == 415 and (await resp.json())["error"]["code"] == "unsupported_media_type"
    assert client.app[GATEWAY].server_errors == 0


async def test_every_response_has_the_security_headers(client: TestClient) -> None:
    for resp in (await client.get("/fine"), await client.get("/nowhere")):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Server"] == "barcode-gateway"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("host,allowed", [
    ("localhost:8080", True), ("127.0.0.1", True), ("[::1]:8080", True), ("LOCALHOST", True),
    ("evil.example", False), ("evil.example:8080", False), ("127.0.0.1.evil.example", False), ("", False),
    (None, False), ("[::1", False)])
def test_hosts(host: str | None, allowed: bool) -> None:
    assert host_allowed(host, frozenset({"localhost", "127.0.0.1", "::1"})) is allowed


def test_any_host_when_configured_so() -> None:
    assert host_allowed("whatever.example", frozenset({"*"}))


def test_the_public_url_host_is_allowed_and_a_bad_public_url_is_a_config_error() -> None:
    settings = GatewaySettings.from_env(Env({"GATEWAY_PUBLIC_URL": "https://barcodes.example.com/"}))
    assert settings.public_url == "https://barcodes.example.com"
    assert "barcodes.example.com" in settings.allowed_hosts and "localhost" in settings.allowed_hosts
    with pytest.raises(ValueError, match="GATEWAY_PUBLIC_URL"):
        GatewaySettings.from_env(Env({"GATEWAY_PUBLIC_URL": "barcodes.example.com"}))
