"""Messages the gateway sends to WebSocket clients (the v1 client contract)."""
from __future__ import annotations

from typing import Any

from services.contract import Notification, Progress, steps_of
from services.gateway.jobs.state import error_body


def file_url(base_url: str, job_id: str) -> str:
    return f"{base_url}/v1/jobs/{job_id}/file"


def final_message(n: Notification, base_url: str, url: str | None) -> dict[str, Any]:
    """`url`: signed for this message (a replay long after the job gets a fresh one)."""
    out: dict[str, Any] = {"type": n.status, "job_id": n.job_id}
    if n.seq is not None:
        out["seq"] = n.seq
    if n.request_id is not None:
        out["request_id"] = n.request_id
    if n.company is not None:
        out["company"] = n.company
    if n.trace:
        out["trace"] = n.trace  # per-hop timestamps, ms since the epoch: where the time went
    if n.status == "completed":
        # Not `cached`: whether someone else made the same barcode is none of this caller's business.
        out.update(url=url, file_url=file_url(base_url, n.job_id), content_type=n.content_type)
        if n.size_bytes is not None:
            out["size_bytes"] = n.size_bytes
        if n.verified is not None:
            out["verified"] = n.verified
        if n.unverified_reason is not None:
            out["unverified_reason"] = n.unverified_reason
    elif n.error is not None:
        out["error"] = error_body(n.error)
    return out


def progress_messages(progress: Progress) -> list[dict[str, Any]]:
    """One WebSocket message per step, the `earlier` ones first: clients see every step alike,
    whichever service's message carried it."""
    return step_messages(progress.job_id, progress.request_id, steps_of(progress))


def step_messages(job_id: str, request_id: str | None, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `progress` messages of a job's steps (from a progress record, or a result's `steps`)."""
    out = []
    for step in steps:
        message: dict[str, Any] = {"type": "progress", "job_id": job_id, "step": step["step"],
                                   "at_ms": step["at_ms"]}
        if request_id is not None:
            message["request_id"] = request_id
        # Not `cached`: whether someone else made the same barcode is none of this caller's business.
        detail = {k: v for k, v in (step.get("detail") or {}).items() if k != "cached"}
        if detail:
            message["detail"] = detail
        out.append(message)
    return out


def error_message(code: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "error": {"code": code, "message": message}}
    if request_id is not None:
        out["request_id"] = request_id
    return out
