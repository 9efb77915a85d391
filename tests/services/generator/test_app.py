"""The generator's handler in process: a render job record in, its result (and, for what an
operator should redrive, a dead letter) out."""
from __future__ import annotations

from typing import Any

import pytest

from services import contract
from services.contract import ErrorInfo, RenderJob, Result
from services.generator.app import render_handler
from services.kafka.handler import DeadLetters
from tests.services.kafka.fakes import record


class FakeRunner:
    attempts = 5

    def __init__(self, error: ErrorInfo | None = None) -> None:
        self.error = error

    async def run(self, job: RenderJob) -> Result:
        status = "failed" if self.error else "completed"
        return Result(job_id=job.job_id, status=status, error=self.error)  # type: ignore[arg-type]


def _job() -> bytes:
    return contract.encode(RenderJob(job_id="j1", company="Default", symbology="code128", data="ABC", format="png",
                                     options={}))


def _handler(runner: Any) -> Any:
    return render_handler(runner, "barcode.results", DeadLetters("barcode.deadletter", "generator"))


async def test_a_job_becomes_its_result_keyed_by_job() -> None:
    [out] = await _handler(FakeRunner())(record(0, _job()))
    assert (out.topic, out.key) == ("barcode.results", b"j1")
    assert contract.decode(Result, out.value).status == "completed"


async def test_storage_unavailable_answers_the_client_and_dead_letters_the_job() -> None:
    result, letter = await _handler(FakeRunner(ErrorInfo("storage_unavailable", "down", True)))(record(3, _job()))
    assert contract.decode(Result, result.value).status == "failed"
    dead = contract.decode(contract.DeadLetter, letter.value)
    assert (dead.offset, dead.attempts, dead.error.retryable) == (3, 5, True)


async def test_a_job_failure_of_the_input_is_only_a_result() -> None:
    outs = await _handler(FakeRunner(ErrorInfo("invalid_check_digit", "bad", False)))(record(0, _job()))
    assert len(outs) == 1


async def test_undecodable_bytes_raise_for_the_runtime_to_dead_letter() -> None:
    with pytest.raises(contract.SchemaError):
        await _handler(FakeRunner())(record(0, b"\xff"))
