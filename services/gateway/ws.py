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

from services.contract import ErrorCode
from services.gateway.context import GATEWAY, Gateway, base_url
from services.gateway.errors import ApiError
from services.gateway.messages import error_message, final_message
from services.gateway.rest import publish
from services.gateway.sockets import Connection
from services.gateway.tokens import new_client_id, resume_token, token_valid
from services.gateway.validation import parse_generate

log = logging.getLogger(__name__)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    gw = request.app[GATEWAY]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=gw.settings.max_frame_bytes)
    await ws.prepare(request)
    client_id = request.query.get("client_id")
    token = request.query.get("resume_token", "")
    if client_id is not None and not token_valid(gw.settings.resume_secret, client_id, token):
        gw.errors[ErrorCode.INVALID_RESUME_TOKEN] += 1
        await ws.send_str(orjson.dumps(error_message(
            ErrorCode.INVALID_RESUME_TOKEN, "client_id and resume_token do not match")).decode())
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid resume token")
        return ws
    try:
        last_seq = int(request.query.get("last_seq", "-1"))
    except ValueError:
        last_seq = -1
    resumed = client_id is not None
    client_id = client_id or new_client_id()
    conn = Connection(ws, client_id, gw.settings.socket_queue, _receipt(gw), base_url(request))
    conn.send({"type": "hello", "client_id": client_id,
               "resume_token": resume_token(gw.settings.resume_secret, client_id), "resumed": resumed})
    gw.registry.add(conn)
    conn.start()
    try:
        # Results that completed while this client was away (on any replica).
        for n in gw.index.pending_for(client_id, after_seq=last_seq):
            conn.send(final_message(n, conn.base_url), final_job=n.job_id)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _on_text(gw, conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                _reject(gw, conn, ApiError(ErrorCode.INVALID_REQUEST, "binary frames are not supported; send JSON text"))
            elif msg.type == WSMsgType.ERROR:
                log.info("socket of client %s failed: %s", client_id, ws.exception())
    finally:
        gw.registry.remove(conn)
        await conn.stop()
    return ws


def _receipt(gw: Gateway):  # type: ignore[no-untyped-def]
    async def delivered(client_id: str, job_id: str) -> None:
        if gw.publisher is not None:
            await gw.publisher.publish_delivery(client_id, job_id)
    return delivered


def _reject(gw: Gateway, conn: Connection, error: ApiError, request_id: str | None = None) -> None:
    gw.errors[error.code] += 1
    conn.send(error_message(error.code, error.message, request_id))


async def _on_text(gw: Gateway, conn: Connection, text: str) -> None:
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
    if kind != "generate":
        _reject(gw, conn, ApiError(ErrorCode.UNKNOWN_MESSAGE_TYPE,
                                   f"unknown message type {kind!r}; send type \"generate\""), request_id)
        return
    try:
        if gw.publisher is None or gw.draining:
            raise ApiError(ErrorCode.UNAVAILABLE, "gateway is not accepting jobs")
        job = parse_generate(body, uuid.uuid4().hex, conn.client_id)
        earlier = gw.index.job_for_key(job.client_id, job.company, job.idempotency_key) \
            if job.idempotency_key else None
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
    conn.send(accepted)
    if earlier is not None and earlier.notification is not None:
        # Already final: answer it again on this socket (once: the connection deduplicates).
        conn.send(final_message(earlier.notification, conn.base_url), final_job=earlier.job_id)
