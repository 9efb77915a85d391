from __future__ import annotations

from services.contract import Progress, RenderJob, progress_of, routed_step
from services.gateway.results.messages import progress_messages


def _job(**overrides: object) -> RenderJob:
    fields = dict(job_id="j1", client_id="c1", request_id="r1", company="Acme", symbology="code128", data="X",
                  format="png", options={}, progress=True, trace={"gateway_in": 1.0, "routed": 2.5})
    return RenderJob(**{**fields, **overrides})  # type: ignore[arg-type]


def test_the_routers_step_is_sent_before_the_step_that_carried_it() -> None:
    job = _job()
    progress = progress_of(job, "rendered", with_routed=True, verified=True, size_bytes=512)
    assert progress is not None
    messages = progress_messages(progress)
    assert [(m["step"], m["at_ms"]) for m in messages] == [("routed", 2.5), ("rendered", progress.at_ms)]
    assert messages[0]["detail"] == {"company": "Acme"}
    assert messages[1]["detail"] == {"verified": True, "size_bytes": 512}
    assert all(m["type"] == "progress" and m["job_id"] == "j1" and m["request_id"] == "r1" for m in messages)


def test_a_step_without_earlier_ones_or_detail_is_one_bare_message() -> None:
    message, = progress_messages(Progress(job_id="j1", client_id="c1", step="stored", at_ms=9.0))
    assert message == {"type": "progress", "job_id": "j1", "step": "stored", "at_ms": 9.0}


def test_jobs_that_did_not_ask_or_were_never_routed_report_nothing_extra() -> None:
    assert progress_of(_job(progress=None), "rendered") is None
    assert routed_step(_job(trace={})) == []
