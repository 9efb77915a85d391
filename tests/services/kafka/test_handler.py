"""Batch sizing and the dead-letter rules, without Kafka."""
from __future__ import annotations

import base64

import pytest

from services import contract
from services.kafka.handler import DeadLetters, Poison, poll_size
from tests.services.kafka.fakes import record


@pytest.mark.parametrize(("in_flight", "expected"), [(0, 500), (990, 10), (1000, 0), (1200, 0)])
def test_a_poll_takes_what_room_is_left_up_to_a_batch(in_flight: int, expected: int) -> None:
    assert poll_size(in_flight, 1000, 500) == expected


def _letter(out_value: bytes) -> contract.DeadLetter:
    return contract.decode(contract.DeadLetter, out_value)


def test_undecodable_bytes_are_a_dead_letter_with_the_original_bytes() -> None:
    letters = DeadLetters("barcode.deadletter", "notifier")
    raw = record(7, b"\xff not json", partition=1)
    [out] = letters.for_failure(raw, contract.SchemaError("not JSON"))
    letter = _letter(out.value)
    assert out.topic == "barcode.deadletter" and out.key == b"k"
    assert (letter.source_topic, letter.partition, letter.offset, letter.service) == ("in", 1, 7, "notifier")
    assert letter.error.code == "undecodable_message" and not letter.error.retryable
    assert base64.b64decode(letter.value) == b"\xff not json"


def test_poison_keeps_its_code_attempts_and_retryable() -> None:
    [out] = DeadLetters("dl", "router").for_failure(record(1), Poison("enrichment_unavailable", "down", 3, True))
    letter = _letter(out.value)
    assert (letter.error.code, letter.attempts, letter.error.retryable) == ("enrichment_unavailable", 3, True)


def test_a_bug_on_one_record_is_a_retryable_internal_error() -> None:
    [out] = DeadLetters("dl", "router").for_failure(record(1, b'{"job_id": "j1"}'), KeyError("boom"))
    letter = _letter(out.value)
    assert letter.error.code == "internal_error" and letter.error.retryable and letter.job_id == "j1"
    assert "KeyError" in letter.error.message
