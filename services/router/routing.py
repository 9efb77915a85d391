"""Routing a request: pick the company profile, fill in defaults, enforce what it allows.

Pure function of (request, profiles): the stage handler (services/router/app.py) only moves bytes
in and out.
"""
from __future__ import annotations

from typing import Any

from services.companies.profiles import DEFAULT, Profile
from services.contract import ErrorCode, ErrorInfo, GenerateRequest, RenderJob, Result, now_ms
from services.render.options import OptionError, applies_to_format, validate_options
from services.render.symbologies import lookup


def _failed(request: GenerateRequest, company: str, code: str, message: str) -> Result:
    return Result(
        job_id=request.job_id, status="failed", company=company, request_id=request.request_id,
        client_id=request.client_id, error=ErrorInfo(code=code, message=message),
        trace={**request.trace, "routed": now_ms()}, batch_id=request.batch_id, row=request.row,
        reply_key=request.reply_key,
    )


def profile_for(request: GenerateRequest, profiles: dict[str, Profile]) -> Profile:
    return profiles.get(request.company or DEFAULT) or profiles[DEFAULT]


def route(request: GenerateRequest, profiles: dict[str, Profile],
          enriched: dict[str, Any] | None = None) -> RenderJob | Result:
    """`enriched`: what the company's enrichment endpoint returned (symbology, format, options);
    it sits between the profile's defaults and the request's own fields."""
    profile = profile_for(request, profiles)
    extra = enriched or {}
    name = request.symbology or extra.get("symbology") or profile.symbology
    symbology = lookup(name) if isinstance(name, str) else None
    if symbology is None:  # the gateway checks names; a stale gateway or a partner might not
        return _failed(request, profile.name, ErrorCode.UNKNOWN_SYMBOLOGY, f"unknown symbology {name!r}")
    fmt = request.format or extra.get("format") or profile.format
    extra_options = extra.get("options") or {}
    if not isinstance(extra_options, dict):
        return _failed(request, profile.name, ErrorCode.INVALID_OPTION, "the enrichment endpoint sent options "
                                                                       "that are not an object")
    if symbology.name not in profile.allowed_symbologies:
        return _failed(request, profile.name, ErrorCode.SYMBOLOGY_NOT_ALLOWED,
                       f"{profile.name} does not allow {symbology.name}; allowed: "
                       f"{', '.join(sorted(profile.allowed_symbologies))}")
    if fmt not in profile.allowed_formats:
        return _failed(request, profile.name, ErrorCode.FORMAT_NOT_ALLOWED,
                       f"{profile.name} does not allow format {fmt}; allowed: "
                       f"{', '.join(sorted(profile.allowed_formats))}")
    # Profile defaults that this symbology does not take (e.g. a Code 39 checksum flag) are
    # dropped; the client's own options are validated strictly.
    engine = profile.engines.get(symbology.name)
    takes = symbology.options_for(engine)
    defaults = {k: v for k, v in profile.options.items() if k in takes and applies_to_format(k, fmt)}
    options = {**defaults, **extra_options, **request.options}
    if options.get("digital_link") is True:
        options["digital_link"] = profile.digital_link_resolver  # the generator gets an address
    try:
        validate_options(symbology, options, engine, fmt)
    except OptionError as exc:
        return _failed(request, profile.name, ErrorCode.INVALID_OPTION, str(exc))
    return RenderJob(
        job_id=request.job_id, company=profile.name, symbology=symbology.name, data=request.data,
        format=fmt, options=options, request_id=request.request_id, client_id=request.client_id,
        trace={**request.trace, "routed": now_ms()}, engine=engine, verify=profile.verify,
        progress=request.progress, batch_id=request.batch_id, row=request.row, reply_key=request.reply_key,
        inline_file=request.inline_file,
    )


def enrichment_failure(request: GenerateRequest, profile: Profile, message: str) -> Result:
    result = _failed(request, profile.name, ErrorCode.ENRICHMENT_UNAVAILABLE, message)
    if result.error is not None:
        result.error.retryable = True
    return result


def internal_failure(request: GenerateRequest, exc: Exception) -> Result:
    """A bug in routing still answers the client (retryable: a fixed router may succeed)."""
    result = _failed(request, request.company or DEFAULT, ErrorCode.INTERNAL,
                     # The exception stays in the log (under the job id): its name tells a caller
                     # how the service is built.
                     f"the router failed on this request; it was logged under job {request.job_id}")
    if result.error is not None:
        result.error.retryable = True
    return result
