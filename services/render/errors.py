"""The one error rendering raises: the job cannot be made as asked; retrying will not help."""
from __future__ import annotations

from services.contract import ErrorInfo


class JobError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def info(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message, retryable=False)
