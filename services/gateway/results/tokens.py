"""Resume tokens: an HMAC of the client id, its owner and an expiry under the replicas' shared
secret.

Any replica can check a token without shared state, and nobody without the token can claim a
client id's pending results or send results to it. The owner (auth.Caller.owner: an API key's
company, or the anonymous source address) is in the MAC, so a token taken from one caller is
worthless to another.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid

# What the gateway issues, and nothing else is looked at: a client id is 32 hex digits (uuid4),
# a token `<expiry in seconds, ASCII digits>.<43 base64url characters of HMAC-SHA256>`. Checking
# the shape first keeps hostile input (non-ASCII digits, a 5000-digit expiry, non-ASCII MAC text)
# away from int() and compare_digest, which raise on it.
CLIENT_ID = re.compile(r"[0-9a-f]{32}")
TOKEN = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


def new_client_id() -> str:
    return uuid.uuid4().hex


def _mac(secret: bytes, client_id: str, owner: str, expires: int) -> str:
    message = f"{client_id}|{owner}|{expires}".encode("utf-8", "surrogateescape")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def resume_token(secret: bytes, client_id: str, owner: str, ttl_s: int = 3600, now: float | None = None) -> str:
    """`<expiry>.<mac>`: bound to the client id and its owner, signed, and dead after `ttl_s`."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    return f"{expires}.{_mac(secret, client_id, owner, expires)}"


def token_valid(secret: bytes, client_id: object, owner: str, token: object, now: float | None = None) -> bool:
    """True only for a token this deployment issued to `owner` for `client_id` that has not
    expired; False, never an exception, for anything else (any values, of any type)."""
    if not isinstance(client_id, str) or not isinstance(token, str):
        return False
    match = TOKEN.fullmatch(token)
    if match is None or CLIENT_ID.fullmatch(client_id) is None:
        return False
    expires_text, mac = match.groups()
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_mac(secret, client_id, owner, expires), mac)
