"""A job's drawing is charged to its caller before it is published: ordinary jobs within their
arrival token, costly ones their estimate, refused while the caller is in debt."""
from __future__ import annotations

import pytest

from services.gateway.edge.auth import Caller, Limits, RateLimited
from services.gateway.jobs.costs import Costs
from services.gateway.edge.errors import ApiError
from services.render.cost import RENDER_FREE_MS

CALLER = Caller("anonymous:127.0.0.9", None)


def _costs(rate: float = 200, burst: float = 400, max_cost: float = 10_000) -> Costs:
    return Costs(Limits(rate, burst, 4), None, max_cost)


def test_an_ordinary_job_is_not_charged_beyond_its_arrival() -> None:
    costs = _costs()
    for _ in range(1000):
        costs.charge_render(CALLER, RENDER_FREE_MS)
    assert costs.charged == 0
    costs.limits.check_budget(CALLER)  # not in debt


def test_a_costly_job_is_charged_and_the_next_waits_out_the_debt() -> None:
    costs = _costs()
    costs.charge_render(CALLER, 600)  # a Han Xin version 84 as PDF
    assert costs.charged == pytest.approx(600 - RENDER_FREE_MS)
    with pytest.raises(RateLimited) as waited:
        costs.charge_render(CALLER, 600)
    assert waited.value.retry_after == pytest.approx((600 - RENDER_FREE_MS - 400) / 200, abs=0.1)
    assert costs.charged == pytest.approx(600 - RENDER_FREE_MS)  # the refused one is not charged


def test_a_drawing_above_the_most_one_request_may_cost_is_refused_outright() -> None:
    costs = _costs(max_cost=100)
    with pytest.raises(ApiError) as refused:
        costs.charge_render(CALLER, 500)
    assert refused.value.status == 413 and refused.value.code == "request_too_costly"
    assert "drawing" in refused.value.message


def test_without_a_rate_limit_nothing_is_refused() -> None:
    costs = _costs(rate=0)
    for _ in range(10):
        costs.charge_render(CALLER, 600)
