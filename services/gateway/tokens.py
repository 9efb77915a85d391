"""Resume tokens: an HMAC of the client id and an expiry under the replicas' shared secret.

Any replica can check a token without shared state, and nobody without the token can claim a
client id's pending results.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid


def new_client_id() -> str:
    return uuid.uuid4().hex


def _mac(secret: bytes, client_id: str, expires: int) -> str:
    digest = hmac.new(secret, f"{client_id}|{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def resume_token(secret: bytes, client_id: str, ttl_s: int = 3600, now: float | None = None) -> str:
    """`<expiry>.<mac>`: bound to the client id, signed, and dead after `ttl_s`."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    return f"{expires}.{_mac(secret, client_id, expires)}"


def token_valid(secret: bytes, client_id: str, token: str, now: float | None = None) -> bool:
    expires_text, _, mac = token.partition(".")
    if not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_mac(secret, client_id, expires), mac)
