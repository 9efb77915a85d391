"""What a request costs its caller, charged before the work, and where the costly part runs.

Every request takes one token from its caller's bucket as it arrives (guard.py): that pays for
a request whose renderer check is cheap, which is almost all of them. A check that can take
more than a millisecond (services/render/cost.py estimates it in microseconds, before it runs)
is charged its estimate in tokens on top (one token per ms), a job three times that (the
generator checks it twice more: cost.PIPELINE_FACTOR), and runs in a check worker process
(checkpool.py), never on the event loop. When the worker is done, the charge is settled with
the CPU it really took. A job is then charged its drawing in the generator (cost.render_ms,
from the checked symbol and the format) beyond what its arrival token pays for. A caller who
is not in debt when a charge is made is served and may go into debt (requests sent together
each took their arrival token before any was charged: the balance, not the arrival, decides);
its next requests wait (429, Retry-After) until the debt is refilled, so nobody spends more
than GATEWAY_RATE_LIMIT ms of costly CPU a second, however many requests are in flight. One
request estimated above GATEWAY_MAX_REQUEST_COST is refused outright (413 request_too_costly):
no rate would make it fair.

A batch body (and its dry run) is read in a worker too, one at a time per caller (the next
waits its turn, then finds the caller's budget as the last one left it): its rows are parsed,
their checks estimated (the costly ones refused together above the same maximum) and then run;
the caller is charged the CPU the reading took.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.contract import ErrorCode
from services.gateway.edge.auth import Caller, Limits
from services.gateway.jobs.checkpool import CheckPool
from services.gateway.edge.errors import ApiError
from services.render.cost import CHEAP_MS, RENDER_FREE_MS

T = TypeVar("T")


def too_costly(estimate: float, most: float, what: str = "this request is", work: str = "of checking") -> ApiError:
    return ApiError(ErrorCode.REQUEST_TOO_COSTLY,
                    f"{what} estimated at {estimate:,.0f} ms {work}; one request may cost at most "
                    f"{most:,.0f} (GATEWAY_MAX_REQUEST_COST): send a smaller version, less data, or fewer rows "
                    "per batch")


@dataclass
class _Turns:
    """A caller's batch readings: one at a time, the others waiting for the lock."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    callers: int = 0  # reading or waiting: the entry goes when the last one is done


class Costs:
    def __init__(self, limits: Limits, pool: CheckPool | None, max_request_cost: float) -> None:
        self.limits = limits
        self.pool = pool
        self.max_request_cost = max_request_cost
        self._turns: dict[str, _Turns] = {}  # caller identity -> its batch readings
        self.charged = 0.0  # tokens charged beyond the one per request (/metrics)

    def _charge(self, caller: Caller, tokens: float) -> None:
        self.charged += tokens
        self.limits.charge(caller, tokens)

    async def check(self, caller: Caller, estimate_ms: float, factor: float, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args), a renderer check estimated at `estimate_ms`: inline when it is cheap, else
        charged (`factor` times: the pipeline's share) and run in a worker."""
        if estimate_ms <= CHEAP_MS or self.pool is None:
            return fn(*args)
        if estimate_ms * factor > self.max_request_cost:
            raise too_costly(estimate_ms * factor, self.max_request_cost)
        self.limits.check_budget(caller)
        self._charge(caller, estimate_ms * factor)
        result, error, cpu_ms = await self.pool.run(fn, *args)
        self._charge(caller, (cpu_ms - estimate_ms) * factor)  # settled with what it took
        if error is not None:
            raise error
        return result  # type: ignore[return-value]  # no error: fn returned a T

    def charge_render(self, caller: Caller, render_ms: float) -> None:
        """A job's drawing and decoding back in the generator, estimated from its checked symbol
        (cost.render_ms): what the arrival token does not cover (RENDER_FREE_MS) is charged
        before the job is published, so a caller whose jobs are costly to draw sends fewer."""
        extra = render_ms - RENDER_FREE_MS
        if extra <= 0:
            return
        if extra > self.max_request_cost:
            raise too_costly(extra, self.max_request_cost, "drawing this barcode is", "of drawing")
        self.limits.check_budget(caller)
        self._charge(caller, extra)

    async def read_batch(self, caller: Caller, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args), reading a batch body, in a worker: one per caller at a time (the next waits
        its turn), charged the CPU it took before the next one may start, so batches sent
        together cannot all spend the same budget."""
        if self.pool is None:
            return fn(*args)
        turns = self._turns.setdefault(caller.identity, _Turns())
        turns.callers += 1
        try:
            async with turns.lock:
                self.limits.check_budget(caller)
                result, error, cpu_ms = await self.pool.run(fn, *args)
                self._charge(caller, max(0.0, cpu_ms - 1))  # its first token was taken as it arrived
        finally:
            turns.callers -= 1
            if not turns.callers:
                del self._turns[caller.identity]
        if error is not None:
            raise error
        return result  # type: ignore[return-value]  # no error: fn returned a T
