"""Everything a request handler needs, built by app.py and stored under one typed AppKey."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from services.gateway.auth import Caller, KeyRing, Limits
from services.gateway.feed import Feed
from services.gateway.files import FileFetcher
from services.gateway.publisher import Publisher
from services.gateway.settings import GatewaySettings
from services.gateway.sockets import SocketRegistry
from services.gateway.state import JobIndex


@dataclass
class Gateway:
    settings: GatewaySettings
    index: JobIndex
    registry: SocketRegistry
    publisher: Publisher | None = None
    feed: Feed | None = None
    files: FileFetcher | None = None
    errors: Counter[str] = field(default_factory=Counter)  # rejections by error code
    draining: bool = False
    keys: KeyRing = field(default_factory=lambda: KeyRing({}))
    limits: Limits = field(default_factory=lambda: Limits(0, 1, 1_000_000))


GATEWAY = web.AppKey("gateway", Gateway)


def base_url(request: web.Request) -> str:
    """The URL clients reached us by (works behind kubectl port-forward)."""
    return f"{request.scheme}://{request.host}"


def caller_of(request: web.Request, key: str | None = None) -> Caller:
    """The caller by its X-API-Key header (or a key given otherwise); raises 401 for a bad key."""
    gw = request.app[GATEWAY]
    return gw.keys.caller(key if key is not None else request.headers.get("X-API-Key"), request.remote or "?")
