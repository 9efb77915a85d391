"""The generator's steps of jobs that asked for progress: sent only when a person could see them.

A step is held for `visible_after_s` (0.1 s). If the job finishes first (most do: a job takes
a few milliseconds), its held steps ride on the result (`Result.steps`) and the gateway pushes
them just before the final message: the client sees the same messages, and the job costs no
barcode.progress records (two of a progress job's seven before issue 28). A job still working
when the time is up has its held steps sent as one record, as before.

Best effort and off the job's path: a send is not awaited to the broker, and a failure is only
logged, because the final result (which is awaited) tells the client the same thing.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from services import contract
from services.contract import RenderJob

log = logging.getLogger(__name__)
VISIBLE_AFTER_S = 0.1  # faster than this, a step is not worth a record of its own


class Sender(Protocol):
    async def send(self, topic: str, *, key: bytes | None = None, value: bytes | None = None) -> Any: ...


class Steps:
    """What JobRunner reports steps to: `report(job, step, ...)` and `unsent(job_id)`."""

    def __call__(self, job: RenderJob, step: str, with_routed: bool = False, **detail: Any) -> None:
        return None

    def unsent(self, job_id: str) -> list[dict[str, Any]] | None:
        """The steps of a finishing job that no record carried (they go on its result)."""
        return None


class _Held:
    __slots__ = ("first", "steps", "timer")

    def __init__(self, first: contract.Progress, timer: asyncio.TimerHandle) -> None:
        self.first = first  # the job's ids (client, request) for the record, if one is sent
        self.steps = contract.steps_of(first)
        self.timer = timer


class ProgressSender(Steps):
    def __init__(self, producer: Sender, topic: str, visible_after_s: float = VISIBLE_AFTER_S) -> None:
        self.producer = producer
        self.topic = topic
        self.visible_after_s = visible_after_s
        self._held: dict[str, _Held] = {}
        self._sending: set[asyncio.Task[None]] = set()

    def __call__(self, job: RenderJob, step: str, with_routed: bool = False, **detail: Any) -> None:
        message = contract.progress_of(job, step, with_routed, **detail)
        if message is None:
            return
        held = self._held.get(job.job_id)
        if held is None:
            timer = asyncio.get_running_loop().call_later(self.visible_after_s, self._send_held, job.job_id)
            self._held[job.job_id] = _Held(message, timer)
        else:
            held.steps.extend(contract.steps_of(message))

    def unsent(self, job_id: str) -> list[dict[str, Any]] | None:
        held = self._held.pop(job_id, None)
        if held is None:
            return None
        held.timer.cancel()
        return held.steps

    def _send_held(self, job_id: str) -> None:
        held = self._held.pop(job_id, None)
        if held is None:
            return
        *earlier, last = held.steps
        message = contract.Progress(job_id=job_id, client_id=held.first.client_id, step=last["step"],
                                    at_ms=last["at_ms"], request_id=held.first.request_id,
                                    detail=last.get("detail"), earlier=earlier or None)
        task = asyncio.create_task(self._send(message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, message: contract.Progress) -> None:
        try:
            await self.producer.send(self.topic, key=message.client_id.encode(), value=contract.encode(message))
        except KafkaError as exc:
            log.debug("progress of job %s not sent: %s", message.job_id, exc)
