"""Everything a request handler needs, built by app.py and stored under one typed AppKey."""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

from services.contract import ErrorCode
from services.gateway.edge.auth import Caller, KeyRing, Limits
from services.gateway.batches.index import BatchIndex
from services.gateway.edge.client_address import client_address
from services.gateway.jobs.costs import Costs
from services.gateway.edge.errors import ApiError
from services.gateway.results.feed import Feed
from services.gateway.edge.files import FileFetcher
from services.gateway.jobs.publisher import Publisher
from services.gateway.settings import GatewaySettings
from services.gateway.results.sockets import SocketRegistry
from services.gateway.images.memory import RecentFiles
from services.gateway.jobs.state import JobIndex
from services.storage.sigv4 import Signer


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
    server_errors: int = 0  # 5xx answered (each one is a bug: the log has its traceback)
    signer: Signer | None = None  # signs storage URLs for clients, anew on every read
    # job id -> the outcome of its request's publish, while it is in progress (submit.py)
    publishing: dict[str, "asyncio.Future[bool]"] = field(default_factory=dict)
    batches: BatchIndex = field(default_factory=BatchIndex)  # the batcher's latest status of each batch
    # What requests cost their callers, and the worker processes the costly checks run in.
    costs: Costs = field(default_factory=lambda: Costs(Limits(0, 1, 1_000_000), None, float("inf")))
    images: Counter[str] = field(default_factory=Counter)  # GET /v1/barcode: hits, misses, not_modified
    recent_files: RecentFiles = field(default_factory=lambda: RecentFiles(0))  # image files kept for repeats

    @property
    def state_ready(self) -> bool:
        """The job index has caught up with Kafka: idempotency, status and resumes can trust it.
        Before that a socket would be replayed every historical result of its client as the
        feed reads them, and a resent request would miss its earlier job."""
        return self.feed is not None and self.feed.caught_up.is_set()

    def readiness(self) -> dict[str, bool]:
        """What serving needs, by name: /readyz shows it, check_serving refuses on it."""
        return {"kafka_producer": self.publisher is not None, "job_state_caught_up": self.state_ready,
                "not_draining": not self.draining}

    def check_serving(self) -> None:
        """Refuse (503, retry) what needs Kafka and the caught-up job state: submissions,
        sockets, status reads."""
        checks = self.readiness()
        if not checks["not_draining"]:
            raise ApiError(ErrorCode.UNAVAILABLE, "gateway is shutting down; use another replica or retry")
        if not all(checks.values()):
            raise ApiError(ErrorCode.UNAVAILABLE, "gateway is still connecting to Kafka and reading the job "
                                                  "state; retry in a moment")

    def signed_url(self, bucket: str | None, key: str | None) -> str | None:
        if self.signer is None or not bucket or not key:
            return None
        return self.signer.presign_get(bucket, key, self.settings.url_ttl_s)


GATEWAY = web.AppKey("gateway", Gateway)
CALLER = web.RequestKey("caller", Caller)  # the Caller the middleware authenticated


def base_url(request: web.Request) -> str:
    """GATEWAY_PUBLIC_URL, else the URL clients reached us by (works behind kubectl
    port-forward). The Host header was checked against GATEWAY_ALLOWED_HOSTS first."""
    public = request.app[GATEWAY].settings.public_url
    return public or f"{request.scheme}://{request.host}"


def remote_of(request: web.Request) -> str:
    """Where the request came from: the peer, or the caller behind a trusted proxy."""
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                          request.app[GATEWAY].settings.trusted_proxies)


def caller_of(request: web.Request, key: str | None = None) -> Caller:
    """The caller by its X-API-Key header (or a key given otherwise); 401 for a wrong key, and
    429 for any key once this source address has sent too many wrong ones."""
    if key is None and CALLER in request:
        return request[CALLER]
    gw = request.app[GATEWAY]
    remote = remote_of(request)
    key = key if key is not None else request.headers.get("X-API-Key")
    if key:
        gw.limits.check_auth_budget(remote)
    try:
        return gw.keys.caller(key, remote)
    except ApiError:
        gw.limits.auth_failed(remote)
        raise
