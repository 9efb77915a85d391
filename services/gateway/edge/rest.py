"""REST routes: jobs, files, symbologies, health, the OpenAPI document (/metrics: metrics.py, added by app.py)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from services.contract import ErrorCode
from services.gateway.edge.bodies import json_body, wait_seconds
from services.gateway.context import GATEWAY, Gateway, base_url, caller_of
from services.gateway.jobs.dryrun import dry_run
from services.gateway.edge.errors import ApiError
from services.gateway.results.messages import file_url
from services.gateway.edge.openapi import openapi_document
from services.gateway.jobs.state import Job
from services.gateway.jobs.submit import read_other_replicas, read_results_of, submit
from services.gateway.results.tokens import CLIENT_ID, token_valid
from services.render.formats import FORMATS
from services.render.symbologies import CATALOGUE

routes = web.RouteTableDef()


def _gw(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


async def _readable_job(request: web.Request, job_id: str) -> Job:
    """The job, if it exists and the caller may see it. "Not yours" and "not there" get the same
    404, so a job id reveals nothing about other callers' jobs."""
    gw = _gw(request)
    caller = caller_of(request)  # a wrong key is a 401 whether or not the job exists
    if not gw.state_ready:
        raise ApiError(ErrorCode.UNAVAILABLE, "job state is still being read from Kafka; retry in a moment")
    job = gw.index.get(job_id)
    if job is None or job.owner is None:
        # Submitted on another replica a moment ago? Its request reaches this one in the next
        # batched fetch (GATEWAY_STATE_FETCH_WAIT_MS); catch up before saying "no such job"
        # (or deciding who owns a job only its result has told us about).
        await read_other_replicas(gw)
        job = gw.index.get(job_id)
    if job is None or not gw.keys.may_read(caller, job.owner, job.company):
        raise ApiError(ErrorCode.NOT_FOUND, f"no job {job_id[:64]} (unknown, not yours, or older than the retention)")
    return job


def _proven_client_id(request: web.Request, body: object) -> str | None:
    """A REST job may send its result to a WebSocket client only with that client's resume
    token (header X-Resume-Token, or `resume_token` in the body), issued to this same caller."""
    if not isinstance(body, dict):
        return None
    if body.get("resume_token") is not None and (not isinstance(body["resume_token"], str)
                                                 or body.get("client_id") is None):
        # Found by `make fuzz`: `"resume_token": true` was accepted (and ignored).
        raise ApiError(ErrorCode.INVALID_REQUEST, "resume_token must be a string, sent with client_id")
    if body.get("client_id") is None:
        return None
    client_id = body["client_id"]
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise ApiError(ErrorCode.INVALID_REQUEST, "client_id must be a client id this gateway issued "
                                                  "(32 hex digits, from a WebSocket hello)")
    token = request.headers.get("X-Resume-Token", body.get("resume_token"))
    gw = _gw(request)
    if not token_valid(gw.settings.resume_secret, client_id, caller_of(request).owner, token):
        raise ApiError(ErrorCode.INVALID_RESUME_TOKEN, "client_id needs that client's resume_token (header "
                                                       "X-Resume-Token), issued to this caller and not expired")
    return str(client_id)


@routes.post("/v1/jobs")
async def submit_job(request: web.Request) -> web.Response:
    gw = _gw(request)
    body = await json_body(request, gw.settings.max_body_bytes)
    done = await submit(gw, caller_of(request), body, _proven_client_id(request, body))
    headers = {"Location": f"/v1/jobs/{done.job_id}"}
    if done.replayed:
        # A repeat: the original job, not a new one (200, not 202: nothing was queued now).
        return web.json_response({"job_id": done.job_id, "status": done.status, "replayed": True}, headers=headers)
    return web.json_response({"job_id": done.job_id, "status": "queued"}, status=202, headers=headers)


@routes.post("/v1/validate")
async def validate(request: web.Request) -> web.Response:
    """Dry run: what the job would produce, computed here and now (no Kafka, no rendering)."""
    gw = _gw(request)
    body = await json_body(request, gw.settings.max_body_bytes)
    company = body.get("company") if isinstance(body, dict) else None
    # The same company rule as a submission: a key's own company only, and no keyed company
    # without its key.
    caller = caller_of(request)
    gw.keys.effective_company(caller, company if isinstance(company, str) else None)
    return web.json_response(await dry_run(gw.costs, caller, body))


@routes.get("/v1/jobs/{job_id}")
async def job_status(request: web.Request) -> web.Response:
    gw = _gw(request)
    job_id = request.match_info["job_id"]
    wait = wait_seconds(request, gw.settings.max_wait_s)
    job = await _readable_job(request, job_id)
    hold = await read_results_of(gw, job)  # held while waiting for the result
    try:
        if wait and job.status == "queued":
            try:
                async with asyncio.timeout(wait):
                    await job.wait_final()
            except TimeoutError:
                pass
    finally:
        hold.release()
    n = job.notification
    completed = n is not None and n.status == "completed"
    body = job.public(gw.signed_url(n.bucket, n.key) if completed and n else None,
                      file_url(base_url(request), job_id) if completed else None)
    if request.query.get("trace") in ("1", "true") and job.notification is not None:
        body["trace"] = job.notification.trace  # per-hop timestamps, ms since the epoch
    return web.json_response(body)


@routes.get("/v1/jobs/{job_id}/file")
async def job_file(request: web.Request) -> web.StreamResponse:
    gw = _gw(request)
    job_id = request.match_info["job_id"]
    job = await _readable_job(request, job_id)
    (await read_results_of(gw, job)).release()
    n = job.notification
    if n is None:
        raise ApiError(ErrorCode.NOT_READY, "the job is still queued; try GET /v1/jobs/{id}?wait=10 first")
    if n.status != "completed" or not n.bucket or not n.key:
        code = n.error.code if n.error else "failed"
        raise ApiError(ErrorCode.NOT_READY, f"the job failed ({code}); there is no file", status=409)
    assert gw.files is not None
    return await gw.files.stream(request, n.bucket, n.key, n.content_type or "application/octet-stream", job_id)


@routes.get("/v1/symbologies")
async def symbologies(request: web.Request) -> web.Response:
    return web.json_response({"symbologies": [s.describe() for s in CATALOGUE.values()]})


@routes.get("/v1/formats")
async def formats(request: web.Request) -> web.Response:
    """The output formats (services/render/formats.py): the page previews the `inline` ones."""
    return web.json_response({"formats": [f.public() for f in FORMATS.values()]})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = _gw(request).readiness()
    ready = all(checks.values())
    return web.json_response({"status": "ready" if ready else "not_ready", "checks": checks},
                             status=200 if ready else 503)


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(base_url(request)))
