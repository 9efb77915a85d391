"""An image URL's job id: the same for the same parameters on every replica, different for
anything that changes the file, and new once the index could have forgotten the old one."""
from __future__ import annotations

from services.contract import GenerateRequest
from services.gateway.images.cached import candidate_ids, image_job_id, window_s


def _request(**changes: object) -> GenerateRequest:
    fields = {"job_id": "", "data": "A1", "symbology": "code128", "format": "png", "company": None,
              "options": {"dpi": 300, "module_width": 0.33}}
    fields.update(changes)
    return GenerateRequest(**fields)  # type: ignore[arg-type]


def test_the_same_parameters_give_the_same_id_whatever_the_option_order() -> None:
    a = image_job_id(b"s", _request(), 7)
    b = image_job_id(b"s", _request(options={"module_width": 0.33, "dpi": 300}), 7)
    assert a == b and len(a) == 32 and int(a, 16) >= 0


def test_anything_that_changes_the_file_changes_the_id() -> None:
    base = image_job_id(b"s", _request(), 7)
    for changed in (_request(data="A2"), _request(format="svg"), _request(company="Acme"),
                    _request(symbology="code39"), _request(options={"dpi": 600, "module_width": 0.33})):
        assert image_job_id(b"s", changed, 7) != base
    assert image_job_id(b"other secret", _request(), 7) != base
    assert image_job_id(b"s", _request(), 8) != base


def test_candidates_reach_back_as_far_as_the_index_keeps_jobs() -> None:
    ttl = 3600
    span = window_s(ttl)
    now = 100 * span + 5
    ids = candidate_ids(b"s", _request(), ttl, now)
    assert ids[0] == image_job_id(b"s", _request(), 100)
    assert ids[-1] == image_job_id(b"s", _request(), 100 - ttl // span)  # a job made a TTL ago
    assert window_s(60) == 60  # never shorter than a minute


def test_a_failure_a_retry_may_cure_is_made_again_and_a_data_failure_is_kept() -> None:
    from services.contract import ErrorInfo, Notification
    from services.gateway.context import Gateway
    from services.gateway.images.cached import find, retry_id
    from services.gateway.jobs.state import JobIndex
    from services.gateway.results.sockets import SocketRegistry
    from services.gateway.settings import GatewaySettings
    from services.settings import Env

    gw = Gateway(settings=GatewaySettings.from_env(Env({"GATEWAY_RESUME_SECRET": "s"})), index=JobIndex(3600),
                 registry=SocketRegistry())
    request = _request()
    job, first_id = find(gw, request)
    assert job is None
    gw.index.add_request(_request(job_id=first_id))

    def fail(job_id: str, code: str, retryable: bool) -> None:
        gw.index.add_notification(Notification(job_id=job_id, status="failed", created_ms=1.0,
                                                error=ErrorInfo(code, "m", retryable)))

    fail(first_id, "storage_unavailable", True)
    job, next_id = find(gw, request)
    assert job is None and next_id == retry_id(b"s", first_id)  # tried again, under an id of its own
    gw.index.add_request(_request(job_id=next_id))
    job, _ = find(gw, request)
    assert job is not None and job.job_id == next_id  # the retry, waited for like any job
    fail(next_id, "invalid_data", False)
    job, _ = find(gw, request)
    assert job is not None and job.job_id == next_id  # bad data fails the same way again: kept
