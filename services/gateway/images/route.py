"""GET /v1/barcode: the barcode file for the parameters in the URL, made by the pipeline (routed,
rendered, verified, stored) the first time and read from the store after.

The answer is the file itself (through the gateway: a client behind a port-forward or an
ingress never reaches the store), with an ETag that is the stored object's content hash, so
`If-None-Match` is answered 304 without touching the store. A first request waits for its job
up to GATEWAY_IMAGE_WAIT_SECONDS, then gets 504 wait_timeout (asking again later finds the job).
Errors are JSON with the usual codes: an `<img>` shows nothing for them, and an image of an
error message is not offered (it could end up printed on a label)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import PurePosixPath

from aiohttp import web

from services.contract import ErrorCode, Notification
from services.gateway.context import GATEWAY, Gateway, base_url, caller_of
from services.gateway.edge.auth import Caller
from services.gateway.edge.bodies import json_body
from services.gateway.edge.errors import ApiError
from services.gateway.edge.files import FILE_CSP
from services.gateway.images import cached, links, query
from services.gateway.jobs.state import Job
from services.gateway.results.replies import Hold
from services.gateway.jobs.submit import checked, read_results_of
from services.gateway.jobs.validation import parse_generate

routes = web.RouteTableDef()
_BUGS = {ErrorCode.INTERNAL, ErrorCode.VERIFICATION_FAILED, ErrorCode.RENDER_FAILED}


async def _final(gw: Gateway, job: Job, hold: Hold | None = None) -> Notification:
    """The job's result, waiting for it (reading its results partition meanwhile: `hold`, or one
    taken now) if need be."""
    if job.notification is None:
        hold = hold or await read_results_of(gw, job)
        try:
            async with asyncio.timeout(gw.settings.image_wait_s):
                await job.wait_final()
        except TimeoutError:
            raise ApiError(ErrorCode.WAIT_TIMEOUT, f"the barcode was not ready within {gw.settings.image_wait_s:g} s; "
                                                   "ask again in a moment (it is being made)") from None
        finally:
            hold.release()
    elif hold is not None:
        hold.release()
    assert job.notification is not None
    return job.notification


def _caller_and_query(request: web.Request, gw: Gateway) -> tuple[Caller, Mapping[str, str], float | None]:
    """Who asks, for what, and until when a cache may keep the answer (a signed link's expiry;
    None: unsigned). A signed link acts for the company that made it (no key in the URL; the
    rate budget stays the viewer's address's), anything else as its key says."""
    if links.SIG not in request.query:
        return caller_of(request), request.query, None
    if len(request.query.getall(links.SIG)) > 1:
        raise ApiError(ErrorCode.INVALID_REQUEST, "parameter 'sig' is given more than once")
    expires = request.query.get(links.EXPIRES)
    params = links.verified({name: request.query[name] for name in request.query}, gw.settings.link_secret,
                            gw.settings.link_rotations)
    company = params.get("company")
    viewer = caller_of(request, key="")  # anonymous: its address's budget
    until = float(expires) if expires is not None else float("inf")
    return (Caller(viewer.identity, company, f"company:{company}") if company else viewer), params, until


@routes.get("/v1/barcode")
async def barcode(request: web.Request) -> web.StreamResponse:
    gw: Gateway = request.app[GATEWAY]
    caller, params, signed_until = _caller_and_query(request, gw)
    body = query.body_of(params)
    job_request = parse_generate(body, "", None, render_check=False)
    job_request.company = gw.keys.effective_company(caller, job_request.company)
    job_request.owner = caller.owner
    gw.check_serving()
    # A miss does not wait for the other replicas' latest requests (up to GATEWAY_STATE_FETCH_WAIT_MS,
    # 100 ms: it was most of a miss's time in `make bench-images`): a URL another replica made in
    # that moment is published again under the same job id, and the copy is dropped downstream
    # (the generator finds the object, the notifier the job id), as for an idempotency key.
    job, next_id = cached.find(gw, job_request)
    hold = None
    if job is None:
        gw.images["misses"] += 1
        job, hold = await cached.made(gw, caller, job_request, next_id)
    else:
        gw.images["hits"] += 1
    if not gw.keys.may_read(caller, job.owner, job.company):
        if hold is not None:
            hold.release()
        # A keyed company's image, asked for on a replica whose key settings let the company's
        # name through: the job's owner (from Kafka) still decides.
        raise ApiError(ErrorCode.COMPANY_NOT_ALLOWED, f"{job_request.company} needs its API key", status=403)
    result = await _final(gw, job, hold)
    if result.status != "completed" or not result.bucket or not result.key:
        error = result.error
        code = error.code if error else ErrorCode.INTERNAL
        # The input's fault: 400 (the JSON API's codes); a bug: 500; what a retry may cure: 503.
        status = 500 if code in _BUGS else 503 if error and error.retryable else None
        raise ApiError(code, error.message if error else "the job failed", status=status)
    etag = f'"{PurePosixPath(result.key).stem}"'
    # Anonymous profiles' images are the same for everyone: shared caches may keep them. A signed
    # link's answer is kept privately, and no longer than the link lives.
    max_age = gw.settings.image_max_age_s
    if signed_until is not None and signed_until != float("inf"):
        max_age = max(0, min(max_age, int(signed_until - time.time())))
    shared = caller.company is None and signed_until is None
    headers = {"ETag": etag, "Vary": "X-API-Key", "X-Job-Id": job.job_id, "Cache-Control": f"{'public' if shared else 'private'}, max-age={max_age}"}
    tags = {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in tags or "*" in tags:
        gw.images["not_modified"] += 1
        return web.Response(status=304, headers=headers)
    assert gw.files is not None
    content_type = result.content_type or "application/octet-stream"
    if result.size_bytes is None or result.size_bytes > gw.recent_files.capacity // 10:
        return await gw.files.stream(request, result.bucket, result.key, content_type, job.job_id, headers)
    body = gw.recent_files.get(result.key)
    if body is None:
        body = await gw.files.read(result.bucket, result.key)
        gw.recent_files.put(result.key, body)
    else:
        gw.images["from_memory"] += 1
    return web.Response(body=body, content_type=content_type.split(";")[0], headers={
        **headers, "Content-Disposition": f'inline; filename="{job.job_id}.{PurePosixPath(result.key).suffix[1:]}"',
        "Content-Security-Policy": FILE_CSP})


@routes.post("/v1/links")
async def make_link(request: web.Request) -> web.Response:
    """A signed URL for these parameters (a job's body, plus `ttl_seconds`: 0 for a link that
    never expires, where GATEWAY_PERMANENT_LINK_COMPANIES allows it)."""
    gw: Gateway = request.app[GATEWAY]
    caller = caller_of(request)
    body = await json_body(request, gw.settings.max_body_bytes)
    ttl = body.pop("ttl_seconds", gw.settings.link_ttl_s) if isinstance(body, dict) else None
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= gw.settings.link_max_ttl_s:
        raise ApiError(ErrorCode.INVALID_REQUEST, "ttl_seconds must be a whole number of seconds up to "
                                                  f"{gw.settings.link_max_ttl_s} (GATEWAY_LINK_MAX_TTL_SECONDS; "
                                                  "0: never expires)")
    link_request = parse_generate(body, "", None, render_check=False)
    link_request.company = gw.keys.effective_company(caller, link_request.company)
    if link_request.symbology is None:
        raise ApiError(ErrorCode.INVALID_REQUEST, "symbology is required: a link names what it draws")
    link_request.format = link_request.format or "png"
    if ttl == 0 and not ({"*", link_request.company or "Default"} & gw.settings.permanent_links):
        raise ApiError(ErrorCode.INVALID_REQUEST, f"{link_request.company or 'Default'} may not make links that never "
                                                  "expire (GATEWAY_PERMANENT_LINK_COMPANIES); give ttl_seconds")
    await checked(gw, caller, link_request)  # a link that can never draw is refused now, not in a template
    expires = None if ttl == 0 else int(time.time()) + ttl
    rotation = links.rotation_of(gw.settings.link_rotations, link_request.company)
    url = f"{base_url(request)}/v1/barcode?" + links.signed(links.query_of(link_request), gw.settings.link_secret,
                                                            rotation, expires)
    return web.json_response({"url": url, "expires_at": expires})
