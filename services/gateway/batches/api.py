"""Batches over REST (POST / GET / DELETE /v1/batches) and the one submission path the WebSocket
`batch` message shares.

A batch is accepted (202) once Kafka holds all of it: its rows first (in chunks under the
broker's message size), then the "created" event that makes it exist, all keyed by the batch id
on barcode.batches. A gateway that dies half way leaves rows without a batch, which nothing
reads; the client's retry (same idempotency key, same batch id) publishes it whole. From there
the batcher owns it (services/batcher) and every replica learns its progress from
barcode.batch-status.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from services import contract
from services.contract import BatchEvent, BatchStatus, ErrorCode
from services.gateway.edge.auth import Caller
from services.gateway.batches.rows import BatchInput, BatchRow, parse_json, read_body as read_batch_body
from services.gateway.batches.index import public
from services.gateway.edge.bodies import read_body, wait_seconds
from services.gateway.context import GATEWAY, Gateway, caller_of
from services.gateway.edge.errors import ApiError
from services.labels.layout import SheetError, layout_from

routes = web.RouteTableDef()
CHUNK_BYTES = 256 * 1024  # rows per "rows" event: well under Kafka's 1 MB message limit
# One row alone must fit a chunk: a bigger one (a rejected row keeps the data it was sent) is a
# 413 naming it; the broker would refuse it on every retry.
MAX_ROW_BYTES = CHUNK_BYTES
SEND_TIMEOUT_S = 30.0  # up to 32 MiB of rows, against a single job's 10 s
ERRORS_SHOWN = 20  # invalid rows listed in the 202 (all of them are in the manifest)
IDEMPOTENT_ID_WINDOW_S = 3600  # a key names the same batch for an hour


def _gw(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def batch_fingerprint(batch: BatchInput, company: str | None) -> str:
    """What the batch asks for, as a digest: the same key with another batch is refused (409)."""
    digest = hashlib.sha256(orjson.dumps({"company": company, "sheet": batch.sheet}, option=orjson.OPT_SORT_KEYS))
    for row in batch.rows:
        digest.update(orjson.dumps(row.to_json(), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:32]


def _batch_id(gw: Gateway, owner: str, key: str | None, fingerprint: str) -> str:
    if not key:
        return uuid.uuid4().hex
    # The same owner, key and batch within the hour: the same id on any replica, so two replicas
    # taking one retry at once publish one batch (the batcher ignores a second "created").
    window = int(time.time() // IDEMPOTENT_ID_WINDOW_S)
    message = f"batch|{owner}|{key}|{fingerprint}|{window}".encode("utf-8", "surrogateescape")
    return hmac.new(gw.settings.resume_secret, message, hashlib.sha256).hexdigest()[:32]


def _chunks(batch: BatchInput) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for row in batch.rows:
        item = row.to_json()
        length = len(orjson.dumps(item))
        if length > MAX_ROW_BYTES:
            raise _row_too_large(row, length)
        if out[-1] and size + length > CHUNK_BYTES:
            out.append([])
            size = 0
        out[-1].append(item)
        size += length
    return out


def _row_too_large(row: BatchRow, length: int) -> ApiError:
    return ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"row {row.row} is {length:,} bytes; a batch row may be at most "
                                                 f"{MAX_ROW_BYTES:,} (no symbology takes data that long)")


async def _publish(gw: Gateway, events: list[BatchEvent]) -> None:
    assert gw.publisher is not None
    await gw.publisher.publish_all(
        gw.settings.kafka.topic(contract.BATCHES), [(e.batch_id, contract.encode(e)) for e in events],
        "the batch queue is unavailable; try again (with the same idempotency_key, nothing is made twice)",
        SEND_TIMEOUT_S)


def _accepted(status: BatchStatus, batch: BatchInput | None, replayed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"batch_id": status.batch_id, "total": status.total, "status": status.status,
                           "status_url": f"/v1/batches/{status.batch_id}"}
    if batch is not None:
        out.update(valid=batch.valid, invalid=batch.invalid, errors=batch.first_errors(ERRORS_SHOWN))
    if replayed:
        out["replayed"] = True
    return out


def checked(gw: Gateway, caller: Caller, batch: BatchInput) -> str | None:
    """What a batch must pass before anything is published: a printable sheet, a company the
    caller may use. Returns the company it runs as."""
    try:
        layout_from(batch.sheet)
    except SheetError as exc:
        raise ApiError(ErrorCode.INVALID_SHEET, f"sheet: {exc}") from None
    return gw.keys.effective_company(caller, batch.company)


def _check_running(gw: Gateway, caller: Caller) -> None:
    """A caller's batches at once are bounded: each keeps BATCHER_WINDOW rows in the pipeline,
    so many of them would crowd out everyone's single jobs."""
    limit = gw.settings.max_batches_per_caller
    running = gw.batches.running(caller.owner)
    if running >= limit:
        raise ApiError(ErrorCode.TOO_MANY_IN_FLIGHT, f"{running} batches of this caller are still running "
                       f"(GATEWAY_MAX_BATCHES_PER_CALLER is {limit}); wait for one to finish", status=429)


async def submit_batch(gw: Gateway, caller: Caller, batch: BatchInput, client_id: str | None = None,
                       request_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """Publish a parsed batch; (the 202 body, whether it repeated an earlier one)."""
    gw.check_serving()
    company = checked(gw, caller, batch)
    fingerprint = batch_fingerprint(batch, company)
    key = batch.idempotency_key
    owner = caller.owner
    if key:
        # The same key on its way to Kafka from another request now: the same rows wait for
        # its outcome (then replay it); other rows are refused at once.
        while (starting := gw.batches.starting_keys.get((owner, key))) is not None:
            if starting[0] != fingerprint:
                raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED, f"idempotency_key {key!r} is being used for "
                               "another batch with other rows right now; use a new key for a new batch", status=409)
            await asyncio.shield(starting[1])
        earlier = gw.batches.earlier(owner, key)
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED, f"idempotency_key {key!r} was used for batch "
                               f"{earlier.batch_id} with other rows; use a new key for a new batch", status=409)
            return _accepted(earlier, None, True), True
    # From the check of the cap to the batch in the index, nothing may slip in between: the
    # cap counts this one, and its key is taken, before the first await.
    _check_running(gw, caller)
    with gw.batches.starting_batch(owner, key, fingerprint):
        return await _publish_batch(gw, caller, batch, company, fingerprint, client_id, request_id), False


async def _publish_batch(gw: Gateway, caller: Caller, batch: BatchInput, company: str | None, fingerprint: str,
                         client_id: str | None, request_id: str | None) -> dict[str, Any]:
    """Rows, then "created", to Kafka; the batch is in this replica's index when it returns."""
    key = batch.idempotency_key
    batch_id = _batch_id(gw, caller.owner, key, fingerprint)
    created = BatchEvent(batch_id=batch_id, kind="created", owner=caller.owner, company=company, client_id=client_id,
                         request_id=request_id, total=len(batch.rows), sheet=batch.sheet, idempotency_key=key,
                         fingerprint=fingerprint)
    rows = [BatchEvent(batch_id=batch_id, kind="rows", rows=chunk) for chunk in _chunks(batch)]
    await _publish(gw, [*rows, created])  # rows first: a batch exists only once it is whole
    # Until the batcher's first status: known here at once (any later status replaces it).
    status = BatchStatus(batch_id=batch_id, status="running", total=len(batch.rows), owner=caller.owner,
                         company=company, client_id=client_id, request_id=request_id, created_ms=created.created_ms,
                         updated_ms=0.0, idempotency_key=key, fingerprint=fingerprint)
    gw.batches.add(status)
    return _accepted(status, batch, False)


async def parse_body(request: web.Request) -> BatchInput:
    """The body read, parsed and every row checked in a check worker (a stream, refused at the
    row cap; the costly checks estimated and refused above GATEWAY_MAX_REQUEST_COST before any
    runs), its CPU charged to the caller: services/gateway/jobs/costs.py."""
    gw = _gw(request)
    raw = await read_body(request, gw.settings.max_batch_bytes, "GATEWAY_MAX_BATCH_BYTES")
    return await gw.costs.read_batch(caller_of(request), read_batch_body, raw, request.content_type,
                                     dict(request.query), gw.settings.max_request_cost)


async def parse_fields(gw: Gateway, caller: Caller, fields: dict[str, Any]) -> BatchInput:
    """A batch sent as a WebSocket message (already JSON): read the same way."""
    return await gw.costs.read_batch(caller, parse_json, fields, gw.settings.max_request_cost)


def _owned(caller: Caller, status: BatchStatus) -> bool:
    """A batch is its owner's alone, anonymous ones included (an address's batches are not
    another address's to read or cancel: their outputs are signed URLs). A status from before
    owners were recorded falls back to the job rule."""
    return status.owner == caller.owner if status.owner else caller.company == status.company


async def readable_batch(gw: Gateway, caller: Caller, batch_id: str) -> BatchStatus:
    """The batch, if it exists and the caller may see it (the same 404 either way)."""
    if not gw.state_ready:
        raise ApiError(ErrorCode.UNAVAILABLE, "batch state is still being read from Kafka; retry in a moment")
    status = gw.batches.get(batch_id)
    if status is None and gw.feed is not None:
        # Created on another replica a moment ago: its first status is on its way.
        try:
            async with asyncio.timeout(10):
                await gw.feed.batch_state.read_past_now()
        except (KafkaError, TimeoutError) as exc:
            raise ApiError(ErrorCode.UNAVAILABLE, "the batch state is unavailable; try again") from exc
        status = gw.batches.get(batch_id)
    if status is None or not _owned(caller, status):
        raise ApiError(ErrorCode.NOT_FOUND, f"no batch {batch_id[:64]} (unknown, not yours, or older than a day)")
    return status


@routes.post("/v1/batches")
async def create_batch(request: web.Request) -> web.Response:
    gw = _gw(request)
    gw.check_serving()
    batch = await parse_body(request)
    if request.query.get("dry_run") in ("1", "true"):
        # What the batch would be, without sending it: the page shows this before "Send".
        checked(gw, caller_of(request), batch)
        return web.json_response({"dry_run": True, "total": len(batch.rows), "valid": batch.valid,
                                  "invalid": batch.invalid, "errors": batch.first_errors(ERRORS_SHOWN)})
    body, replayed = await submit_batch(gw, caller_of(request), batch)
    return web.json_response(body, status=200 if replayed else 202)


@routes.get("/v1/batches/{batch_id}")
async def batch_status(request: web.Request) -> web.Response:
    gw = _gw(request)
    batch_id = request.match_info["batch_id"]
    wait = wait_seconds(request, gw.settings.max_wait_s)
    status = await readable_batch(gw, caller_of(request), batch_id)
    if wait:
        status = await gw.batches.wait_final(batch_id, wait) or status
    return web.json_response(public(status, gw.signed_url))


@routes.delete("/v1/batches/{batch_id}")
async def cancel_batch(request: web.Request) -> web.Response:
    """Cancels the rows not started; rows in the pipeline finish, and the outputs hold what did."""
    gw = _gw(request)
    gw.check_serving()
    status = await readable_batch(gw, caller_of(request), request.match_info["batch_id"])
    if status.status in ("completed", "cancelled"):
        return web.json_response(public(status, gw.signed_url))
    await _publish(gw, [BatchEvent(batch_id=status.batch_id, kind="cancel")])
    return web.json_response({**public(status, gw.signed_url), "status": "cancelling"}, status=202)
