"""GET /v1/ws: the WebSocket protocol (hello, generate -> accepted -> completed | failed).

A bad message gets an `error` reply and the socket stays open. Every reply goes through the
connection's queue, so `accepted` and results keep their order and a slow client cannot block.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from aiokafka.errors import KafkaError

from services.contract import ErrorCode
from services.gateway.auth import Caller
from services.gateway.context import GATEWAY, Gateway, base_url, caller_of
from services.gateway.errors import ApiError
from services.gateway.messages import error_message, final_message
from services.gateway.rest import publish
from services.gateway.sockets import Connection
from services.gateway.tokens import new_client_id, resume_token, token_valid
from services.gateway.validation import parse_generate

log = logging.getLogger(__name__)


def _check_origin(request: web.Request, allowed: frozenset[str]) -> None:
    """Browsers send Origin; a page from another site must not open sockets as its visitor.
    Non-browser clients send none and are let through (they are limited by key and rate)."""
    origin = request.headers.get("Origin")
    if origin is None or origin in allowed:
        return
    if origin.split("://", 1)[-1] == request.host:
        return
    raise ApiError(ErrorCode.ORIGIN_NOT_ALLOWED, f"origin {origin} is not allowed (GATEWAY_ALLOWED_ORIGINS)")


async def websocket(request: web.Request) -> web.WebSocketResponse:
    gw = request.app[GATEWAY]
    # Refusals before the upgrade are plain HTTP errors (JSON, via the middleware).
    _check_origin(request, gw.settings.allowed_origins)
    caller = caller_of(request)
    gw.limits.open_socket(caller)
    try:
        return await _serve(request, gw, caller)
    finally:
        gw.limits.close_socket(caller)


async def _serve(request: web.Request, gw: Gateway, caller: Caller) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=gw.settings.max_frame_bytes,
                               receive_timeout=gw.settings.idle_timeout_s)
    await ws.prepare(request)
    client_id = request.query.get("client_id")
    token = request.query.get("resume_token", "")
    if client_id is not None and not token_valid(gw.settings.resume_secret, client_id, token):
        gw.errors[ErrorCode.INVALID_RESUME_TOKEN] += 1
        await ws.send_str(orjson.dumps(error_message(
            ErrorCode.INVALID_RESUME_TOKEN, "client_id and resume_token do not match, or the token expired")).decode())
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid resume token")
        return ws
    try:
        last_seq = int(request.query.get("last_seq", "-1"))
    except ValueError:
        last_seq = -1
    resumed = client_id is not None
    client_id = client_id or new_client_id()
    conn = Connection(ws, client_id, gw.settings.socket_queue, _receipt(gw), base_url(request))
    conn.caller = caller
    conn.send({"type": "hello", "client_id": client_id, "resumed": resumed,
               "resume_token": resume_token(gw.settings.resume_secret, client_id, gw.settings.resume_ttl_s)})
    conn.start()
    try:
        # Results that completed while this client was away (on any replica), less those it
        # was sent on another replica just before (their receipts may still be on the way).
        if resumed and gw.feed is not None:
            try:
                await gw.feed.read_other_replicas()
            except (KafkaError, TimeoutError) as exc:
                log.warning("resume of %s without the latest receipts: %s", client_id, exc)
        # Replay, then register, with no await between: a result read meanwhile is either in
        # the replay or sent live after it, so the client sees results in `seq` order.
        for n in gw.index.pending_for(client_id, after_seq=last_seq):
            conn.send(final_message(n, conn.base_url), final_job=n.job_id)
        gw.registry.add(conn)
        while True:
            try:
                msg = await ws.receive()
            except TimeoutError:
                await ws.close(code=WSCloseCode.OK, message=b"idle timeout")
                break
            if msg.type == WSMsgType.TEXT:
                await _on_text(gw, conn, request, msg.data)
            elif msg.type == WSMsgType.BINARY:
                _reject(gw, conn, ApiError(ErrorCode.INVALID_REQUEST, "binary frames are not supported; send JSON text"))
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
            elif msg.type == WSMsgType.ERROR:
                log.info("socket of client %s failed: %s", client_id, ws.exception())
                break
    finally:
        gw.registry.remove(conn)
        await conn.stop()
    return ws


def _receipt(gw: Gateway):  # type: ignore[no-untyped-def]
    async def delivered(client_id: str, job_id: str) -> None:
        gw.index.add_delivery(client_id, job_id)  # this replica knows now; the others from the receipt
        if gw.publisher is not None:
            await gw.publisher.publish_delivery(client_id, job_id)
    return delivered


def _reject(gw: Gateway, conn: Connection, error: ApiError, request_id: str | None = None) -> None:
    gw.errors[error.code] += 1
    message = error_message(error.code, error.message, request_id)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        message["retry_after"] = round(retry_after, 3)
    conn.send(message)


def _authenticate(gw: Gateway, conn: Connection, request: web.Request, body: dict[str, Any]) -> None:
    """`{"type": "auth", "api_key": ...}` as the first message, for browsers (no headers)."""
    key = body.get("api_key")
    if not isinstance(key, str) or not key:
        raise ApiError(ErrorCode.INVALID_REQUEST, "auth needs an api_key string")
    if conn.caller.company is not None or conn.jobs_sent:
        raise ApiError(ErrorCode.INVALID_REQUEST, "auth must be the first message, once")
    caller = caller_of(request, key)
    gw.limits.open_socket(caller)  # counted under the key from now on
    gw.limits.close_socket(conn.caller)
    conn.caller = caller


async def _on_text(gw: Gateway, conn: Connection, request: web.Request, text: str) -> None:
    if len(text.encode()) > gw.settings.max_message_bytes:
        _reject(gw, conn, ApiError(ErrorCode.PAYLOAD_TOO_LARGE,
                                   f"message is larger than {gw.settings.max_message_bytes} bytes"))
        return
    try:
        body: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        _reject(gw, conn, ApiError(ErrorCode.INVALID_JSON, f"message is not valid JSON: {exc}"))
        return
    request_id = body.get("request_id") if isinstance(body, dict) else None
    request_id = request_id if isinstance(request_id, str) and len(request_id) <= 128 else None
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "ping":
        conn.send({"type": "pong", **({"request_id": request_id} if request_id else {})})
        return
    if kind == "auth":
        try:
            _authenticate(gw, conn, request, body)
        except ApiError as error:
            _reject(gw, conn, error, request_id)
            return
        conn.send({"type": "authenticated", "company": conn.caller.company})
        return
    if kind != "generate":
        _reject(gw, conn, ApiError(ErrorCode.UNKNOWN_MESSAGE_TYPE,
                                   f"unknown message type {kind!r}; send type \"generate\""), request_id)
        return
    try:
        if gw.publisher is None or gw.draining:
            raise ApiError(ErrorCode.UNAVAILABLE, "gateway is not accepting jobs")
        gw.limits.take(conn.caller)
        if len(conn.in_flight) >= gw.settings.max_in_flight_per_socket:
            raise ApiError(ErrorCode.TOO_MANY_IN_FLIGHT, f"{len(conn.in_flight)} jobs of this socket are still "
                                                         "running; wait for results before sending more")
        job = parse_generate(body, uuid.uuid4().hex, conn.client_id)
        job.company = gw.keys.effective_company(conn.caller, job.company)
        conn.jobs_sent += 1
        earlier = gw.index.earlier_job(job)
        if earlier is None:
            await publish(gw, job)
    except ApiError as error:
        _reject(gw, conn, error, request_id)
        return
    accepted: dict[str, Any] = {"type": "accepted", "job_id": earlier.job_id if earlier else job.job_id}
    if request_id is not None:
        accepted["request_id"] = request_id
    if earlier is not None:
        accepted["replayed"] = True
    if earlier is None or earlier.notification is None:
        conn.in_flight.add(accepted["job_id"])
    conn.send(accepted)
    if earlier is not None and earlier.notification is not None:
        # Already final: answer it again on this socket (once: the connection deduplicates).
        conn.send(final_message(earlier.notification, conn.base_url), final_job=earlier.job_id)
