"""Deterministic object keys: the same normalised render request always maps to one key,
so a repeated or redelivered job overwrites nothing new and can skip rendering entirely."""
from __future__ import annotations

import hashlib
from typing import Any

import orjson


def object_key(symbology: str, data: str, fmt: str, options: dict[str, Any], renderer: str) -> str:
    """`renderer` (engine name and version) is part of the key: a new engine version must not
    serve files drawn by the old one."""
    canonical = orjson.dumps(
        {"symbology": symbology, "data": data, "format": fmt, "options": options, "renderer": renderer},
        option=orjson.OPT_SORT_KEYS,
    )
    digest = hashlib.sha256(canonical).hexdigest()
    return f"v1/{digest[:2]}/{digest}.{fmt}"
