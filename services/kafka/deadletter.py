"""Building dead letters: what a service gives up on goes to barcode.deadletter with its cause,
so a partition never stalls on it and an operator can put it back (`make redrive`)."""
from __future__ import annotations

import base64
import logging

import orjson

from services.contract import DeadLetter, ErrorInfo

log = logging.getLogger(__name__)


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode()


def job_id_of(raw: bytes | None) -> str | None:
    """Best effort: the job id of a message that may not even be JSON."""
    try:
        body = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    job_id = body.get("job_id") if isinstance(body, dict) else None
    return job_id if isinstance(job_id, str) else None


def dead_letter(*, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, service: str,
                code: str, message: str, attempts: int = 1, retryable: bool = False) -> DeadLetter:
    letter = DeadLetter(
        source_topic=topic, partition=partition, offset=offset, service=service,
        error=ErrorInfo(code=code, message=message, retryable=retryable), attempts=attempts,
        value=_b64(value) or "", key=_b64(key), job_id=job_id_of(value),
    )
    # The cause and the position, never the payload: logs must not carry barcode data.
    log.error("dead letter from %s/%d@%d (%s, %d attempts): %s", topic, partition, offset, code, attempts, message)
    return letter
