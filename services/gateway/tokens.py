"""Resume tokens: an HMAC of the client id under the replicas' shared secret.

Any replica can check a token without shared state, and nobody without the token can claim a
client id's pending results.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import uuid


def new_client_id() -> str:
    return uuid.uuid4().hex


def resume_token(secret: bytes, client_id: str) -> str:
    digest = hmac.new(secret, client_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_valid(secret: bytes, client_id: str, token: str) -> bool:
    return hmac.compare_digest(resume_token(secret, client_id), token)
