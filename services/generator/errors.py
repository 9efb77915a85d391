"""Errors the generator turns into `failed` results."""
from __future__ import annotations

from services.contract import ErrorCode
from services.render.errors import JobError

__all__ = ["JobError", "TransientError"]


class TransientError(Exception):
    """A dependency failed (object store, broker); the same job may succeed later."""

    code = ErrorCode.STORAGE_UNAVAILABLE
