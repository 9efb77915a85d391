"""POST /v1/validate: answer synchronously, without rendering or Kafka, what a job would
produce: normalised data, check digit, human-readable text, symbol size/version, warnings."""
from __future__ import annotations

import re
from typing import Any

from services.contract import ErrorCode
from services.gateway.edge.auth import Caller
from services.gateway.jobs.costs import Costs
from services.gateway.edge.errors import ApiError
from services.gateway.jobs.validation import parse_generate
from services.render import api, cost, digital_link
from services.render.errors import JobError
from services.render.options import OptionError, validate_options
from services.render.symbologies import lookup


def _check_digit(given: str, encoded: str) -> str | None:
    """The digit the renderer appended, if it appended one."""
    given_digits, encoded_digits = re.sub(r"\D", "", given), re.sub(r"\D", "", encoded)
    if given_digits and encoded_digits.startswith(given_digits) and len(encoded_digits) == len(given_digits) + 1:
        return encoded_digits[-1]
    return None


async def dry_run(costs: Costs, caller: Caller, body: Any) -> dict[str, Any]:
    """The answer of POST /v1/validate: the shape checked here, the renderer's check where its
    cost says (inline when cheap, else charged and in a check worker: costs.py)."""
    engine = body.get("engine") if isinstance(body, dict) else None
    if engine is not None and not isinstance(engine, str):
        raise ApiError(ErrorCode.INVALID_REQUEST, "engine must be a string")
    request = parse_generate(body, "dry-run", None, render_check=False)
    symbology = lookup(request.symbology or "code128")
    assert symbology is not None  # parse_generate resolved it
    if engine is not None and engine not in symbology.engines:
        raise ApiError(ErrorCode.INVALID_REQUEST, f"engine {engine[:40]!r} cannot draw {symbology.name}; it has "
                                                  f"{', '.join(symbology.engines)}")
    estimate = cost.check_ms(symbology, request.data, request.options, engine)
    return await costs.check(caller, estimate, 1.0, checked, symbology.name, request.data, request.options,
                             engine, request.format)


def checked(name: str, data: str, options: dict[str, Any], engine: str | None, fmt: str | None) -> dict[str, Any]:
    """The renderer's check of a dry run and what it learnt (picklable: it may run in a check
    worker)."""
    symbology = lookup(name)
    assert symbology is not None
    try:
        validate_options(symbology, options, engine, fmt)
        # The same check (and pixel budget) as a job: width_px/height_px are the PNG's final size.
        info = api.check(symbology, data, options, engine, fmt)
    except OptionError as exc:
        raise ApiError(ErrorCode.INVALID_OPTION, str(exc)) from None
    except JobError as exc:
        raise ApiError(exc.code, exc.message, status=422) from None
    out: dict[str, Any] = {"valid": True, "symbology": symbology.name, "engine": engine or symbology.engine,
                           "verified": symbology.verifiable, **info.public()}
    digit = _check_digit(data, info.text or info.data)
    if digit is not None:
        out["check_digit"] = digit
    out.update(gs1_forms(data, options))
    return out


def gs1_forms(data: str, options: dict[str, Any]) -> dict[str, str]:
    """GS1 data in both forms, where it has both: the element string and the Digital Link (at the
    job's resolver; `true` shows the default, the company's may differ)."""
    try:
        pairs = digital_link.pairs_of(data)
    except digital_link.DigitalLinkError:
        return {}
    out = {"element_string": data}
    try:
        out["digital_link"] = digital_link.uri(pairs, digital_link.resolver(options.get("digital_link")))
    except digital_link.DigitalLinkError:
        pass  # GS1 data without a primary key has no Digital Link: the element string alone
    return out
