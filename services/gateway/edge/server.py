"""Serving the gateway app: aiohttp's runner with our HTTP limits and a quiet refusal of
malformed requests.

aiohttp answers a request it cannot parse (a header line over the limit, too many headers) with
the parser's message, which quotes the offending bytes, in the 400 body and in an ERROR log
line with a traceback: an API key sent in an oversized header came back to the sender and went
into the log. `QuietRequestHandler` answers those with a fixed JSON error and logs only the
kind of refusal.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from services.gateway.edge.guard import SERVER

log = logging.getLogger("services.gateway")


class QuietRequestHandler(RequestHandler):
    __slots__ = ()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        log.info("refused a malformed request from %s (%s)", request.remote, type(exc).__name__)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot answer the malformed request")
        response = web.json_response(
            {"error": {"code": "bad_request", "message": "malformed HTTP request (a header line too long, "
                                                         "too many headers, or not HTTP)"}},
            status=status, headers={"Server": SERVER})
        response.force_close()
        return response


class _QuietServer(web.Server):
    def __call__(self) -> RequestHandler:
        return QuietRequestHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The same server (handler, factory, settings), handing out QuietRequestHandlers: aiohttp
        # has no setting for the handler class. _QuietServer adds no state, so the swap is safe.
        server.__class__ = _QuietServer
        return server


async def serve(app: web.Application, host: str, port: int, shutdown_timeout_s: float,
                **handler_settings: Any) -> None:
    """Serve until SIGTERM or SIGINT, then shut down as aiohttp does (on_shutdown first, then
    wait up to `shutdown_timeout_s` for handlers, then cleanup)."""
    runner = GatewayRunner(app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout_s,
                           **handler_settings)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("gateway listening on http://%s:%d", host, port)
        await stop.wait()
        log.info("stopping: draining sockets and requests (at most %g s)", shutdown_timeout_s)
    finally:
        await runner.cleanup()
