"""Signed image URLs: a keyed company's `GET /v1/barcode` without a key in the URL.

`POST /v1/links` (with the key) checks the parameters as a job and answers a URL carrying them,
an expiry (`expires`, seconds since the epoch; none where the company may have permanent links:
printed templates live for years) and `sig`, an HMAC of every other parameter under the
company's link key. The link key derives from GATEWAY_LINK_SECRET and the company's rotation
number (GATEWAY_LINK_ROTATIONS): raising the number revokes every link made before. A tampered,
expired or foreign signature is `403 invalid_link`."""
from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from services.contract import ErrorCode, GenerateRequest
from services.gateway.edge.errors import ApiError

SIG, EXPIRES = "sig", "expires"


def link_key(secret: bytes, company: str | None, rotation: int) -> bytes:
    return hmac.new(secret, f"links|{company or ''}|{rotation}".encode(), hashlib.sha256).digest()


def rotation_of(rotations: Mapping[str, int], company: str | None) -> int:
    """A company's rotation number; the anonymous profile's is under "" (named Default or not)."""
    return rotations.get("" if company in (None, "", "Default") else company, 0)


def _message(params: Mapping[str, str]) -> bytes:
    return urlencode(sorted((name, value) for name, value in params.items() if name != SIG)).encode()


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def query_of(request: GenerateRequest) -> dict[str, str]:
    """The GET parameters that ask for this request again (read back by images/query.py)."""
    params = {"symbology": request.symbology or "", "data": request.data, "format": request.format or "png"}
    if request.company:
        params["company"] = request.company
    params.update({name: _text(value) for name, value in sorted(request.options.items())})
    return params


def signed(params: dict[str, str], secret: bytes, rotation: int, expires: int | None) -> str:
    """The query string of a link: `params`, the expiry, and the signature over both."""
    if expires is not None:
        params = {**params, EXPIRES: str(expires)}
    key = link_key(secret, params.get("company"), rotation)
    return urlencode({**params, SIG: hmac.new(key, _message(params), hashlib.sha256).hexdigest()})


def verified(query: Mapping[str, str], secret: bytes, rotations: Mapping[str, int],
             now: float | None = None) -> dict[str, str]:
    """The parameters of a signed link (without `sig` and `expires`), or 403 invalid_link."""
    params = dict(query)
    key = link_key(secret, params.get("company"), rotation_of(rotations, params.get("company")))
    expected = hmac.new(key, _message(params), hashlib.sha256).hexdigest()
    given = params.pop(SIG, "")
    if len(given) != len(expected) or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise ApiError(ErrorCode.INVALID_LINK, "this link's signature does not match its parameters "
                                               "(changed, revoked, or not made here)")
    expires = params.pop(EXPIRES, None)
    if expires is not None and (not expires.isdigit() or int(expires) < (now if now is not None else time.time())):
        raise ApiError(ErrorCode.INVALID_LINK, "this link has expired; make a new one (POST /v1/links)")
    return params
