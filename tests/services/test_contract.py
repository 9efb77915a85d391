from __future__ import annotations

import orjson
import pytest

from services import contract
from services.contract import ErrorInfo, GenerateRequest, Result, SchemaError, decode, encode


def test_round_trip_keeps_every_field() -> None:
    result = Result(job_id="j1", status="failed", company="Default", client_id="c1",
                    error=ErrorInfo(code="invalid_check_digit", message="m"), trace={"a": 1.0})
    assert decode(Result, encode(result)) == result


def test_unset_optional_fields_stay_off_the_wire() -> None:
    body = orjson.loads(encode(GenerateRequest(job_id="j", data="x")))
    assert "client_id" not in body and "symbology" not in body
    assert body["v"] == contract.SCHEMA_VERSION


def test_newer_writers_may_add_fields() -> None:
    raw = orjson.dumps({"v": 1, "job_id": "j", "data": "x", "added_in_v1_1": True})
    assert decode(GenerateRequest, raw).data == "x"


@pytest.mark.parametrize("raw", [None, b"", b"not json", b"[1]", b'{"v": 2, "job_id": "j", "data": "x"}',
                                 b'{"job_id": "j", "data": "x"}', b'{"v": 1, "data": "x"}',
                                 b'{"v": 1, "job_id": "j", "status": "failed", "error": {"nope": 1}}'])
def test_anything_off_contract_is_a_schema_error(raw: bytes | None) -> None:
    kind = Result if raw and b"status" in raw else GenerateRequest
    with pytest.raises(SchemaError):
        decode(kind, raw)
