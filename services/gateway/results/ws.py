"""GET /v1/ws: the WebSocket protocol (hello, [auth], [resume], generate -> accepted ->
completed | failed).

A bad message gets an `error` reply and the socket stays open. Every reply goes through the
connection's queue, so `accepted` and results keep their order and a slow client cannot block.

A client id belongs to the caller that was issued it (resume tokens carry the owner), and a
token never travels in the URL (query strings end up in access logs and proxies): a client
resumes with headers X-Client-Id / X-Resume-Token / X-Last-Seq on the handshake, or with a
`resume` message before its first `generate` (browsers cannot set headers on a WebSocket).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from aiokafka.errors import KafkaError

from services.contract import ErrorCode
from services.gateway.edge.auth import Caller
from services.gateway.batches.api import parse_fields, readable_batch, submit_batch
from services.gateway.batches.index import socket_message
from services.gateway.context import GATEWAY, Gateway, base_url, caller_of
from services.gateway.edge.errors import ApiError
from services.gateway.edge.guard import check_origin
from services.gateway.results.messages import error_message
from services.gateway.results.sockets import Connection, bound_send_buffer
from services.gateway.jobs.submit import hold_results, submit
from services.gateway.results.tokens import resume_token, token_valid

log = logging.getLogger(__name__)


class CloseSocket(ApiError):
    """An error after which the socket is closed (1008): a forged token, repeated wrong keys."""


async def websocket(request: web.Request) -> web.WebSocketResponse:
    gw = request.app[GATEWAY]
    # Refusals before the upgrade are plain HTTP errors (JSON, via the middleware).
    check_origin(request, gw.settings.allowed_origins)
    gw.check_serving()  # a 503 before the upgrade: the client reconnects here or elsewhere later
    caller = caller_of(request)
    gw.limits.open_socket(caller)
    conn: Connection | None = None
    try:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=gw.settings.max_frame_bytes,
                                   receive_timeout=gw.settings.idle_timeout_s)
        await ws.prepare(request)
        bound_send_buffer(request, gw.settings.socket_send_buffer)
        assert gw.feed is not None  # check_serving: the job state has caught up
        # An id whose results land on this replica's own partition (replies.py).
        conn = Connection(ws, gw.feed.new_id(), gw.settings.socket_queue, _receipt(gw), base_url(request),
                          gw.signed_url, gw.settings.slow_client_s, request.transport)
        conn.caller = caller
        conn.start()
        try:
            await _serve(request, gw, conn)
        except asyncio.CancelledError:
            if conn.closing is None:
                raise  # not ours: shutdown, or the client went away
            # Cut for not reading (sockets.Connection.close_slow): done, not an error.
        return ws
    finally:
        if conn is not None:
            gw.registry.remove(conn)
            await conn.stop()
            for hold in conn.holds:
                hold.release()
            caller = conn.caller  # an `auth` message moved the socket to its key's count
        gw.limits.close_socket(caller)


async def _serve(request: web.Request, gw: Gateway, conn: Connection) -> None:
    if "client_id" in request.query or "resume_token" in request.query:
        await _refuse(gw, conn, CloseSocket(ErrorCode.INVALID_REQUEST, "send the resume token in the X-Resume-Token "
                                            "header or a resume message, never in the URL"))
        return
    try:
        if "X-Resume-Token" in request.headers or "X-Client-Id" in request.headers:
            await _resume(gw, conn, {"client_id": request.headers.get("X-Client-Id"),
                                     "resume_token": request.headers.get("X-Resume-Token"),
                                     "last_seq": _header_seq(request.headers.get("X-Last-Seq"))})
        else:
            _hello(gw, conn, resumed=False)
            gw.registry.add(conn)
    except CloseSocket as error:
        await _refuse(gw, conn, error)
        return
    ws = conn.ws
    while True:
        try:
            msg = await ws.receive()
        except TimeoutError:
            await ws.close(code=WSCloseCode.OK, message=b"idle timeout")
            return
        if msg.type == WSMsgType.TEXT:
            try:
                await _on_text(gw, conn, request, msg.data)
            except CloseSocket as error:
                await _refuse(gw, conn, error)
                return
            except Exception:  # noqa: BLE001 - a bug in one message must not drop the socket
                gw.server_errors += 1
                log.exception("unexpected error on a message of client %s", conn.client_id)
                _reject(gw, conn, ApiError(ErrorCode.INTERNAL, "the gateway failed on this message; it was logged"))
        elif msg.type == WSMsgType.BINARY:
            _reject(gw, conn, ApiError(ErrorCode.INVALID_REQUEST, "binary frames are not supported; send JSON text"))
        elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            return
        elif msg.type == WSMsgType.ERROR:
            log.info("socket of client %s failed: %s", conn.client_id, ws.exception())
            return


def _header_seq(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise CloseSocket(ErrorCode.INVALID_REQUEST, "X-Last-Seq must be a non-negative integer")
    return int(text)


def _hello(gw: Gateway, conn: Connection, resumed: bool) -> None:
    conn.send({"type": "hello", "client_id": conn.client_id, "resumed": resumed,
               "resume_token": resume_token(gw.settings.resume_secret, conn.client_id, conn.caller.owner,
                                            gw.settings.resume_ttl_s)})


async def _resume(gw: Gateway, conn: Connection, body: dict[str, Any]) -> None:
    """Take over a client id this caller was issued: replay what it missed, then go live."""
    client_id, token, last_seq = body.get("client_id"), body.get("resume_token"), body.get("last_seq")
    if last_seq is not None and (not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0):
        raise CloseSocket(ErrorCode.INVALID_REQUEST, "last_seq must be a non-negative integer")
    if not token_valid(gw.settings.resume_secret, client_id, conn.caller.owner, token):
        raise CloseSocket(ErrorCode.INVALID_RESUME_TOKEN, "client_id and resume_token do not match, were issued "
                                                          "to another caller, or the token expired")
    assert isinstance(client_id, str)
    # The client's results are on its own partition, which may be another replica's home: read
    # it (its past results, then live) while this socket lasts.
    try:
        conn.holds.append(await hold_results(gw, client_id))
    except ApiError as error:
        raise CloseSocket(error.code, error.message) from None
    gw.registry.remove(conn)
    conn.client_id = client_id
    conn.resumed = True
    _hello(gw, conn, resumed=True)
    # Results that completed while this client was away (on any replica), less those it was
    # sent on another replica just before (their receipts may still be on the way).
    if gw.feed is not None:
        try:
            await gw.feed.read_other_replicas()
        except (KafkaError, TimeoutError) as exc:
            log.warning("resume of %s without the latest receipts: %s", client_id, exc)
    # Replay, then register, with no await between: a result read meanwhile is either in the
    # replay or sent live after it, so the client sees results in `seq` order.
    for n in gw.index.pending_for(client_id, after_seq=-1 if last_seq is None else last_seq):
        conn.send_final(n)
    gw.registry.add(conn)


async def _refuse(gw: Gateway, conn: Connection, error: ApiError) -> None:
    """Send the error, then close with 1008 (policy violation)."""
    _reject(gw, conn, error)
    # The error goes out through the queue, behind anything queued before it; give the sender
    # a moment to write it before the close frame.
    for _ in range(100):
        if conn.queue.empty() or conn.ws.closed or conn.closing is not None:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0)
    await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=error.message[:120].encode())


def _receipt(gw: Gateway):  # type: ignore[no-untyped-def]
    async def delivered(client_id: str, job_id: str) -> None:
        gw.index.add_delivery(client_id, job_id)  # this replica knows now; the others from the receipt
        if gw.publisher is not None:
            await gw.publisher.publish_delivery(client_id, job_id)
    return delivered


def _reject(gw: Gateway, conn: Connection, error: ApiError, request_id: str | None = None) -> None:
    gw.errors[error.code] += 1
    message = error_message(error.code, error.message, request_id)
    if error.retry_after is not None:
        message["retry_after"] = round(error.retry_after, 3)
    conn.send(message)


def _before_jobs(conn: Connection, what: str) -> None:
    if conn.jobs_sent:
        raise ApiError(ErrorCode.INVALID_REQUEST, f"{what} must come before the first generate")


def _authenticate(gw: Gateway, conn: Connection, request: web.Request, body: dict[str, Any]) -> None:
    """`{"type": "auth", "api_key": ...}` before any job, for browsers (no headers). The socket
    then belongs to the key's company: a new resume token says so."""
    key = body.get("api_key")
    if not isinstance(key, str) or not key:
        raise ApiError(ErrorCode.INVALID_REQUEST, "auth needs an api_key string")
    _before_jobs(conn, "auth")
    if conn.caller.company is not None or conn.resumed:
        raise ApiError(ErrorCode.INVALID_REQUEST, "auth comes once, before resume")
    try:
        caller: Caller = caller_of(request, key)
    except ApiError as error:
        conn.auth_failures += 1
        if conn.auth_failures >= gw.settings.max_auth_failures_per_socket:
            raise CloseSocket(error.code, f"{error.message}; {conn.auth_failures} failed attempts on this socket")
        raise
    gw.limits.open_socket(caller)  # counted under the key from now on
    gw.limits.close_socket(conn.caller)
    conn.caller = caller
    conn.send({"type": "authenticated", "company": caller.company, "client_id": conn.client_id,
               "resume_token": resume_token(gw.settings.resume_secret, conn.client_id, caller.owner,
                                            gw.settings.resume_ttl_s)})


def _request_id(body: Any) -> str | None:
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return request_id if isinstance(request_id, str) and len(request_id) <= 128 else None


async def _on_text(gw: Gateway, conn: Connection, request: web.Request, text: str) -> None:
    if len(text.encode("utf-8", "surrogatepass")) > gw.settings.max_message_bytes:
        _reject(gw, conn, ApiError(ErrorCode.PAYLOAD_TOO_LARGE,
                                   f"message is larger than {gw.settings.max_message_bytes} bytes"))
        return
    try:
        body: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        _reject(gw, conn, ApiError(ErrorCode.INVALID_JSON, f"message is not valid JSON: {exc}"))
        return
    request_id = _request_id(body)
    kind = body.get("type") if isinstance(body, dict) else None
    try:
        if kind == "ping":
            conn.send({"type": "pong", **({"request_id": request_id} if request_id else {})})
        elif kind == "auth":
            _authenticate(gw, conn, request, body)
        elif kind == "resume":
            _before_jobs(conn, "resume")
            if conn.resumed:
                raise ApiError(ErrorCode.INVALID_REQUEST, "this socket has resumed already")
            await _resume(gw, conn, body)
        elif kind == "generate":
            await _generate(gw, conn, body, request_id)
        elif kind == "batch":
            await _batch(gw, conn, body, request_id)
        elif kind == "batch_status":
            await _batch_status(gw, conn, body, request_id)
        else:
            raise ApiError(ErrorCode.UNKNOWN_MESSAGE_TYPE,
                           f"unknown message type {str(kind)[:40]!r}; send type \"generate\" or \"batch\"")
    except CloseSocket:
        raise
    except ApiError as error:
        _reject(gw, conn, error, request_id)


async def _batch(gw: Gateway, conn: Connection, body: dict[str, Any], request_id: str | None) -> None:
    """A batch over the socket (up to GATEWAY_MAX_MESSAGE_BYTES; bigger ones go over REST):
    `batch_accepted`, then `batch_progress` a few times a second and `batch_completed`, sent to
    this client id (a resumed socket keeps getting them)."""
    gw.limits.take(conn.caller)
    fields = {k: v for k, v in body.items() if k not in ("type", "request_id")}
    batch = await parse_fields(gw, conn.caller, fields)
    accepted, replayed = await submit_batch(gw, conn.caller, batch, conn.client_id, request_id)
    conn.jobs_sent += 1  # like a job: no auth or resume after it
    conn.send({"type": "batch_accepted", **accepted, **({"request_id": request_id} if request_id else {})})
    if replayed:
        await _batch_status(gw, conn, {"batch_id": accepted["batch_id"]}, request_id)


async def _batch_status(gw: Gateway, conn: Connection, body: dict[str, Any], request_id: str | None) -> None:
    """The batch's latest status now (a page that reconnected without resuming asks this)."""
    batch_id = body.get("batch_id")
    if not isinstance(batch_id, str):
        raise ApiError(ErrorCode.INVALID_REQUEST, "batch_status needs a batch_id string")
    status = await readable_batch(gw, conn.caller, batch_id)
    conn.send({**socket_message(status, gw.signed_url), **({"request_id": request_id} if request_id else {})})


async def _generate(gw: Gateway, conn: Connection, body: dict[str, Any], request_id: str | None) -> None:
    gw.limits.take(conn.caller)
    if len(conn.in_flight) >= gw.settings.max_in_flight_per_socket:
        raise ApiError(ErrorCode.TOO_MANY_IN_FLIGHT, f"{len(conn.in_flight)} jobs of this socket are still "
                                                     "running; wait for results before sending more")
    done = await submit(gw, conn.caller, body, conn.client_id, wait_for_other_replicas=False)
    conn.jobs_sent += 1  # from now on this client id has jobs: no auth or resume any more
    accepted: dict[str, Any] = {"type": "accepted", "job_id": done.job_id}
    if request_id is not None:
        accepted["request_id"] = request_id
    if done.replayed:
        accepted["replayed"] = True
    final = done.final
    if final is None:
        conn.in_flight.add(done.job_id)
        job = gw.index.get(done.job_id)
        if done.replayed and job is not None and job.client_id != conn.client_id:
            # The key was first used by another connection (or REST) of this caller: its result
            # is addressed there, so this socket reads that partition and asks for a copy. The
            # hold reads what the partition holds first: the result may be there already.
            conn.holds.append(await hold_results(gw, job.client_id or job.job_id))
            final = job.notification
            if final is None:
                gw.registry.watch(done.job_id, conn)
        elif done.results_also_at is not None:
            # Our retry of an attempt from another client that failed to publish, yet may have
            # reached Kafka: whichever copy runs first, its result comes here too.
            conn.holds.append(await hold_results(gw, done.results_also_at))
            gw.registry.watch(done.job_id, conn)
    conn.send(accepted)
    if final is not None:
        # Already final: answer it again on this socket (once: the connection deduplicates).
        conn.send_final(final)
