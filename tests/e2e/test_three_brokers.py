"""Three Kafka nodes (issue 29), real processes: the leader of the busiest partition killed under
load costs a leader election and nothing else (no job lost or delivered twice, no client refused);
two of three down, the gateway refuses new jobs with 503 `unavailable` and loses none it took;
both back, it accepts again. It starts its own stack: killing brokers would upset other tests."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from devstack import chaos
from devstack.process import wait_until
from devstack.stack import Stack
from services.kafka import leaders


async def _post(session: aiohttp.ClientSession, url: str, data: str) -> tuple[int, dict]:
    async with session.post(f"{url}/v1/jobs", json={"symbology": "code128", "data": data}) as resp:
        return resp.status, await resp.json()


async def _refused_while_two_are_down(stack: Stack, url: str) -> None:
    states = leaders.describe(stack.kafka.bootstrap)
    assert {len(s.replicas) for s in states} == {3} and not any(s.under_replicated for s in states)
    survivor = leaders.busiest_leader(states)
    down = [b for b in stack.kafka.brokers if b.node_id != survivor]
    async with aiohttp.ClientSession() as session:
        for broker in down:
            broker.stop()
        try:
            # The producer is refused (NotEnoughReplicas, or its request times out without a
            # quorum): the gateway must say so, not accept what it cannot keep.
            deadline, answers, accepted = time.monotonic() + 60, [], []
            while time.monotonic() < deadline:
                status, body = await _post(session, url, f"TWO-DOWN-{len(answers)}")
                answers.append((status, body.get("error", {}).get("code") or body.get("status")))
                if status == 202:  # taken before the gateway knew: must still complete
                    accepted.append(body["job_id"])
                if status == 503:
                    break
            assert answers[-1] == (503, "unavailable"), answers
        finally:
            for broker in down:
                broker.launch()
            for broker in down:
                assert broker.proc is not None
                await asyncio.to_thread(wait_until, broker.is_ready, broker.proc, 120, "Kafka", broker.log_path)
        # Back: a job is accepted and completes.
        deadline = time.monotonic() + 120
        while True:
            status, body = await _post(session, url, "BOTH-BACK")
            if status == 202 or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert status == 202, body
        for job_id in (body["job_id"], *accepted):
            async with session.get(f"{url}/v1/jobs/{job_id}?wait=60") as resp:
                assert (await resp.json())["status"] == "completed", job_id


def test_a_leader_killed_under_load_costs_seconds_and_two_down_refuse_safely(tmp_path: Path) -> None:
    stack = Stack.create(tmp_path, kafka_brokers=3)
    try:
        stack.start_infra()
        url = stack.start_pipeline()[0]
        killed: list[int] = []
        faults = [chaos.Fault("SIGKILL Kafka leader (busiest)", chaos.kill_busiest_leader(5.0, killed))]
        result = asyncio.run(chaos.drive(url, stack, jobs=400, rate=20, clients=4, faults=faults, drain_s=120))
        print(chaos.report(result))
        assert (result["lost"], result["duplicated"], result["bad_files"], result["never_accepted"]) == (0, 0, 0, 0)
        assert result["completed"] == 400 and killed
        assert result["errors_during"] == [0], result["rejected"]  # the clients saw no error
        assert result["longest_gap"][0] < 30, result["longest_gap"]
        asyncio.run(_refused_while_two_are_down(stack, url))
    finally:
        stack.stop()
