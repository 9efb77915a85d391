"""Deterministic object keys: the same normalised render request always maps to one key,
so a repeated or redelivered job overwrites nothing new and can skip rendering entirely."""
from __future__ import annotations

import hashlib
from typing import Any

import barcode
import orjson

# Part of every key: a new renderer version must not serve files drawn by the old one.
RENDERER = f"python-barcode-{barcode.version}"


def object_key(symbology: str, data: str, fmt: str, options: dict[str, Any]) -> str:
    canonical = orjson.dumps(
        {"symbology": symbology, "data": data, "format": fmt, "options": options, "renderer": RENDERER},
        option=orjson.OPT_SORT_KEYS,
    )
    digest = hashlib.sha256(canonical).hexdigest()
    return f"v1/{digest[:2]}/{digest}.{fmt}"
