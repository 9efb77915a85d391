"""Builds the gateway: `init_app(settings) -> web.Application`.

Kafka clients and the state feed are started and stopped in cleanup contexts, in dependency
order; on shutdown sockets are closed with 1001 (going away) before Kafka clients stop.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import WSCloseCode, web

from services.gateway.batches.api import routes as batch_routes
from services.gateway.context import GATEWAY, Gateway
from services.gateway.edge.auth import KeyRing, Limits
from services.gateway.edge.files import FileFetcher
from services.gateway.edge.guard import guard, json_errors, security_headers
from services.gateway.edge.page import add_page_routes
from services.gateway.edge.rest import routes
from services.gateway.images.memory import RecentFiles
from services.gateway.images.route import routes as image_routes
from services.gateway.jobs.checkpool import CheckPool
from services.gateway.jobs.costs import Costs
from services.gateway.jobs.publisher import Publisher
from services.gateway.jobs.state import JobIndex
from services.gateway.metrics import HELP, reading
from services.gateway.results.feed import Feed
from services.gateway.results.sockets import SocketRegistry
from services.gateway.results.ws import websocket
from services.gateway.settings import GatewaySettings
from services.kafka import clients, topics
from services.kafka.renewing import RenewingProducer
from services.metrics import add_metrics_route
from services.storage.sigv4 import Signer


log = logging.getLogger(__name__)


async def _connect(gw: Gateway, started: list[RenewingProducer]) -> None:
    """Topics, producers, then the job-state feed, each waiting for the broker as long as it
    takes (services/kafka/clients.py until_connected): the gateway serves meanwhile, /readyz says
    503 and submissions get `unavailable`, and it heals by itself when Kafka comes."""
    settings = gw.settings
    await topics.ensure_topics(settings.kafka)
    producer = RenewingProducer(lambda: clients.producer(settings.kafka, f"gateway-{settings.replica}"))
    # Receipts wait for nobody: their own producer, so no request waits behind them; the
    # publisher coalesces a window's receipts into one record (jobs/receipts.py).
    receipts = RenewingProducer(lambda: clients.producer(settings.kafka, f"gateway-{settings.replica}-receipts"))
    for name, one in (("requests", producer), ("delivery receipts", receipts)):
        await clients.until_connected(settings.kafka, f"starting the {name} producer", one.start)
        started.append(one)
    gw.publisher = Publisher(settings.kafka, producer, receipts, settings.replica)

    async def start_feed() -> Feed:
        feed = Feed(settings.kafka, gw.index, gw.registry, f"gateway-feed-{settings.replica}",
                    state_fetch_wait_ms=settings.state_fetch_wait_ms, known_companies=gw.keys.protected,
                    replica=settings.replica, hold_linger_s=settings.hold_linger_s,
                    batches=gw.batches, sign=gw.signed_url, on_file=gw.recent_files.put)
        try:
            await feed.start()
        except BaseException:
            await feed.stop()  # a fresh feed (fresh consumers) for the next try
            raise
        return feed

    gw.feed = await clients.until_connected(settings.kafka, "starting the job-state feed", start_feed)


def _exit_if_failed(task: "asyncio.Task[None]") -> None:
    """An error waiting cannot fix (e.g. a replication factor the cluster cannot meet): exit,
    so the supervisor or Kubernetes shows a failed gateway instead of one forever not ready."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("cannot start on Kafka: %s", task.exception(), exc_info=task.exception())
        logging.shutdown()
        os._exit(3)


async def _kafka_ctx(app: web.Application) -> AsyncIterator[None]:
    gw = app[GATEWAY]
    started: list[RenewingProducer] = []
    connecting = asyncio.create_task(_connect(gw, started), name="gateway-kafka-start")
    connecting.add_done_callback(_exit_if_failed)
    yield
    connecting.remove_done_callback(_exit_if_failed)
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    if gw.feed is not None:
        await gw.feed.stop()
    if gw.publisher is not None:
        await gw.publisher.receipts_out.close()  # the window's receipts, before their producer flushes
    for producer in started:
        await producer.stop()


async def _http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    gw = app[GATEWAY]
    async with aiohttp.ClientSession() as session:
        gw.files = FileFetcher(gw.settings.s3, session)
        yield


WARM_CHECK_WORKERS = web.AppKey("warm_check_workers", bool)


async def _check_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """The check workers. A served gateway starts (and warms) them in the background at once:
    the first costly check waits for them, nothing else does. In-process tests start them only
    when a costly check needs one. Stopped after the last handler."""
    gw = app[GATEWAY]
    pool = CheckPool(gw.settings.check_workers, warm=("services.gateway.batches.rows", "services.gateway.jobs.dryrun"))
    gw.costs.pool = pool
    warming = asyncio.create_task(pool.start(), name="gateway-check-workers") if app[WARM_CHECK_WORKERS] else None
    yield
    if warming is not None:
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await warming
    gw.costs.pool = None
    await asyncio.to_thread(pool.close)


async def _close_sockets(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: stop taking jobs and close every socket
    with 1001 so clients reconnect elsewhere (their pending results wait in Kafka)."""
    gw = app[GATEWAY]
    gw.draining = True
    for conn in gw.registry.all():
        await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"gateway shutting down")


def init_app(settings: GatewaySettings, warm_check_workers: bool = False) -> web.Application:
    # json_errors outermost: the guard's refusals are ApiErrors too.
    app = web.Application(middlewares=[json_errors, guard], client_max_size=settings.max_body_bytes)
    s3 = settings.s3
    limits = Limits(settings.rate_limit, settings.rate_burst, settings.max_sockets_per_caller,
                    settings.auth_failures_per_minute, settings.auth_failure_burst)
    app[GATEWAY] = gw = Gateway(
        settings=settings, index=JobIndex(settings.kafka.state_ttl_s, settings.max_jobs), registry=SocketRegistry(),
        keys=KeyRing.load(settings.api_keys, settings.api_keys_file, settings.anonymous_companies,
                          owner_salt=settings.resume_secret),
        limits=limits, costs=Costs(limits, None, settings.max_request_cost),
        signer=Signer(s3.public_endpoint, s3.access_key, s3.secret_key, s3.region),
        recent_files=RecentFiles(settings.image_cache_bytes),
    )
    app[WARM_CHECK_WORKERS] = warm_check_workers
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_http_client_ctx)
    app.cleanup_ctx.append(_check_pool_ctx)
    app.cleanup_ctx.append(_kafka_ctx)
    app.on_shutdown.append(_close_sockets)
    app.add_routes(routes)
    app.add_routes(batch_routes)
    app.add_routes(image_routes)
    app.router.add_get("/v1/ws", websocket)
    add_metrics_route(app, "barcode_gateway", lambda: reading(gw), HELP)
    add_page_routes(app, settings.companies_file)
    return app
