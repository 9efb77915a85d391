"""Errors the generator turns into `failed` results."""
from __future__ import annotations

from services.contract import ErrorCode, ErrorInfo


class JobError(Exception):
    """The job cannot be made as asked; retrying will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, retryable=False)


class TransientError(Exception):
    """A dependency failed (object store, broker); the same job may succeed later."""

    code = ErrorCode.STORAGE_UNAVAILABLE
