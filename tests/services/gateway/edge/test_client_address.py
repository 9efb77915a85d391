"""Anonymous callers behind a trusted proxy are told apart by X-Forwarded-For, and nobody else
can choose their address with it."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.gateway.edge.auth import Limits
from services.gateway.edge.client_address import client_address, trusted_networks
from services.gateway.context import GATEWAY
from services.settings import ConfigError
from tests.services.gateway.edge.test_guard import _app

PROXIES = trusted_networks("10.0.0.0/8, 192.168.1.7, fd00::/8")


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # not a proxy: its header is ignored
    ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),  # one trusted proxy
    ("10.1.2.3", ["6.6.6.6, 198.51.100.1, 192.168.1.7"], "198.51.100.1"),  # a forged entry left of it
    ("10.1.2.3", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # the header repeated: in order
    ("10.1.2.3", [], "10.1.2.3"),  # a proxy's own request
    ("10.1.2.3", ["10.9.9.9, 192.168.1.7"], "10.9.9.9"),  # only proxies: the leftmost
    ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
    (None, ["198.51.100.1"], "?"),
    ("::ffff:10.1.2.3", ["198.51.100.1"], "198.51.100.1"),  # a dual-stack listener's view of the proxy
    ("10.1.2.3", ["::ffff:198.51.100.1"], "198.51.100.1"),  # one spelling per caller
])
def test_the_caller_is_the_rightmost_untrusted_hop(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_means_nothing() -> None:
    assert client_address("10.1.2.3", ["198.51.100.1"], ()) == "10.1.2.3"


def test_a_bad_entry_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'10.0.0.300'"):
        trusted_networks("10.0.0.0/8, 10.0.0.300")


def _limited_app(**env: str) -> web.Application:
    """The middleware's app, with the rate budget its settings name (a bare Gateway has none)."""
    app = _app(GATEWAY_RATE_LIMIT="0.001", GATEWAY_RATE_BURST="1", **env)
    settings = app[GATEWAY].settings
    app[GATEWAY].limits = Limits(settings.rate_limit, settings.rate_burst, settings.max_sockets_per_caller)
    return app


async def _statuses(client: TestClient, addresses: list[str]) -> list[int]:
    out = []
    for address in addresses:
        async with client.get("/fine", headers={"X-Forwarded-For": address}) as response:
            out.append(response.status)
    return out


async def test_anonymous_callers_behind_a_trusted_proxy_have_budgets_of_their_own() -> None:
    """The test client connects from 127.0.0.1, the proxy here. Each anonymous caller may make
    one request (burst 1, no refill to speak of): the second from the same address is a 429,
    while a caller behind the same proxy with another address still gets in."""
    async with TestClient(TestServer(_limited_app(GATEWAY_TRUSTED_PROXIES="127.0.0.1"))) as behind_proxy:
        assert await _statuses(behind_proxy, ["198.51.100.1", "198.51.100.1", "198.51.100.2"]) == [200, 429, 200]
    async with TestClient(TestServer(_limited_app())) as direct:
        # Not a trusted proxy: the header is the client's word, and every request is 127.0.0.1.
        assert await _statuses(direct, ["198.51.100.1", "198.51.100.2"]) == [200, 429]
