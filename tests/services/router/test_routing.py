from __future__ import annotations

import pytest

from services.companies.profiles import DEFAULT_COMPANIES, Profile, load_profiles
from services.contract import GenerateRequest, RenderJob, Result
from services.router.routing import internal_failure, route


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    return load_profiles(DEFAULT_COMPANIES)


def _request(**fields: object) -> GenerateRequest:
    return GenerateRequest(job_id="j1", data=str(fields.pop("data", "ABC")), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("company", [None, "", "Unknown Corp"])
def test_missing_or_unknown_company_gets_default(profiles: dict[str, Profile], company: str | None) -> None:
    job = route(_request(company=company), profiles)
    assert isinstance(job, RenderJob)
    assert (job.company, job.symbology, job.format) == ("Default", "code128", "png")
    assert job.options["module_height"] == 15


def test_company_defaults_fill_gaps_and_request_options_win(profiles: dict[str, Profile]) -> None:
    job = route(_request(company="CompanyA", data="590123412345", options={"module_height": 10}), profiles)
    assert isinstance(job, RenderJob)
    assert (job.symbology, job.format) == ("ean13", "png")
    assert job.options["module_height"] == 10 and job.options["module_width"] == 0.33


@pytest.mark.parametrize("fields,code", [
    ({"company": "CompanyB", "symbology": "ean13"}, "symbology_not_allowed"),
    ({"company": "CompanyA", "symbology": "code39"}, "symbology_not_allowed"),
    ({"symbology": "code128", "options": {"module_width": 9}}, "invalid_option"),
    ({"symbology": "made-up"}, "unknown_symbology"),
])
def test_forbidden_requests_become_failed_results(profiles: dict[str, Profile], fields: dict[str, object],
                                                  code: str) -> None:
    outcome = route(_request(client_id="c1", request_id="r1", **fields), profiles)
    assert isinstance(outcome, Result)
    assert outcome.status == "failed" and outcome.error is not None and outcome.error.code == code
    assert (outcome.client_id, outcome.request_id) == ("c1", "r1")  # still reaches its client


def test_routing_stamps_the_trace(profiles: dict[str, Profile]) -> None:
    job = route(_request(trace={"gateway_in": 1.0}), profiles)
    assert job.trace["gateway_in"] == 1.0 and job.trace["routed"] > 1.0


def test_profile_engine_choice_reaches_the_render_job(profiles: dict[str, Profile]) -> None:
    job = route(_request(company="CompanyB", symbology="code128", options={"small_text": True}), profiles)
    assert isinstance(job, RenderJob)
    assert job.engine == "zint" and job.verify is True
    # An option of the other engine is refused once the engine is known.
    failed = route(_request(company="CompanyB", symbology="code128", options={"font_size": 12}), profiles)
    assert isinstance(failed, Result) and failed.error is not None and "font_size" in failed.error.message


def test_enriched_parameters_sit_between_profile_and_request(profiles: dict[str, Profile]) -> None:
    enriched = {"format": "svg", "options": {"module_height": 9, "module_width": 0.25}}
    job = route(_request(symbology="code128", options={"module_width": 0.5}), profiles, enriched)
    assert isinstance(job, RenderJob)
    assert job.format == "svg"  # from the partner (the request named none)
    assert job.options["module_height"] == 9  # partner over profile
    assert job.options["module_width"] == 0.5  # request over partner
    bad = route(_request(symbology="code128"), profiles, {"options": {"module_height": 500}})
    assert isinstance(bad, Result) and bad.error is not None and bad.error.code == "invalid_option"


def test_a_routing_bug_answers_without_naming_the_exception() -> None:
    """internal_error messages named exception classes: how the service is built is not the caller's."""
    request = GenerateRequest(job_id="j1", client_id=None, data="X", symbology="code128", format="png")
    result = internal_failure(request, KeyError("secret_field"))
    assert result.error is not None and result.error.code == "internal_error" and result.error.retryable
    assert "KeyError" not in result.error.message and "secret_field" not in result.error.message
    assert "j1" in result.error.message  # what an operator looks for in the log
