"""`make bench-fairness` (issue 22): what one caller at its full rate budget does to another.

On its own stack (Kafka, MinIO, every service, one gateway with its default rate limit: nothing
about the limit is set, so GATEWAY_RATE_* in the environment pass through as for `make run`),
two anonymous callers, told apart by the gateway by their source address:

- the victim (127.0.0.2) sends, open loop, `--victim-rate` cheap requests per second of each
  kind: POST /v1/validate of a Code 128, and a Code 128 job (POST /v1/jobs, then GET
  ?wait=10 until it is final). Latency is from the scheduled send to the answer (validate) or to
  the completed job; one not answered right within 60 s counts as failed, and the percentiles
  are of those answered right;
- the attacker (127.0.0.3) keeps `--concurrency` of the costliest valid requests in flight;
  after a 429 a worker waits the Retry-After, so the attacker always spends its whole budget
  and never more. Phase A: POST /v1/validate of the costliest check (a 7,088-digit QR code);
  B: POST /v1/jobs of the costliest drawing (a Han Xin version 84 as PDF, ~500 ms of the
  generator); C: POST /v1/batches?dry_run=1 with `--batch-rows` rows of that QR (cut by a
  quarter after each 413 too costly: the costliest batch the gateway takes).
  Its data differ from request to request and from row to row: the gateway checks a batch's
  repeated rows once and the generator draws a barcode it already stored once, so repeats are
  cheap (`--repeat-data` sends the same "A" everywhere).

Each phase runs `--rounds` pairs of steps, the victim alone for `--seconds`, then beside the
attacker (started `--lead` seconds before it) for as long: interleaved, because this machine's
speed drifts. After an attacked step the attacker stops sending and its requests (and, in phase
B, its jobs) are waited for, up to `--drain` seconds, so the next alone step runs alone. Prints
a markdown table and a verdict per phase; writes .local/bench/fairness.json.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from devstack import paths
from devstack.bench import fairness_report as report
from devstack.bench.fairness_callers import (ATTACKER, HANXIN_PDF, PHASES, PROBE, VICTIM, Attacker, Phase, Stream,
                                             session, victim)
from devstack.stack import Stack

BENCH_DIR = paths.LOCAL / "bench"


def _say(message: str) -> None:
    print(f"[bench-fairness] {message}", file=sys.stderr, flush=True)


# -- a step, and the checks before the first ---------------------------------------------------

async def step(url: str, phase: Phase, attacked: bool, args: argparse.Namespace,
               names: Iterator[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"phase": phase.name, "attack": phase.attack, "attacked": attacked, "drained": True}
    if not attacked:
        streams = await victim(url, args.victim_rate, args.seconds, names)
        return {**out, "victim": _streams(streams), "attacker": None, "drain_s": 0.0}
    attacker = Attacker(url, phase, args.concurrency, args.batch_rows, args.repeat_data, names)
    stop = asyncio.Event()
    attacking = asyncio.create_task(attacker.run(stop))
    started = time.monotonic()
    await asyncio.sleep(args.lead)
    streams = await victim(url, args.victim_rate, args.seconds, names, scheduled_all=stop)
    draining = time.monotonic()
    try:
        async with asyncio.timeout(args.drain):
            await attacking
            await attacker.jobs_final()
    except TimeoutError:
        out["drained"] = False
        _say(f"  the attacker's requests or jobs were not done {args.drain:g} s after the step")
    finally:
        stop.set()
        attacking.cancel()
    # The rate it was served at: from its first request to its last accepted answer, or to the
    # end of its sending, if later (its requests all refused, say).
    seconds = max(attacker.last_answer - started, args.lead + args.seconds)
    return {**out, "victim": _streams(streams), "attacker": attacker.summary(seconds),
            "drain_s": round(time.monotonic() - draining, 1)}


def _streams(streams: dict[str, Stream]) -> dict[str, Any]:
    return {kind: {"latencies_ms": s.latencies_ms, "outcomes": dict(s.outcomes)} for kind, s in streams.items()}


async def source_addresses(url: str) -> dict[str, str]:
    """The address each caller's connections really leave from (the gateway sees the same)."""
    out = {}
    for address in (VICTIM, ATTACKER):
        # A WebSocket keeps its connection (a plain response hands it back before we could look).
        async with session(address) as client, client.ws_connect(f"{url}/v1/ws") as ws:
            out[address] = ws.get_extra_info("sockname")[0]
    return out


async def limit_check(url: str, most: int = 2000, seconds: float = 10.0) -> dict[str, Any]:
    """Is the rate limit on? Cheap validations as fast as 16 connections go, from a third
    address, until the first 429 (at most `most`, `seconds`)."""
    sent, first_429, retry_after = itertools.count(1), [], []
    deadline = time.monotonic() + seconds

    async def worker(client: aiohttp.ClientSession) -> None:
        while not first_429 and time.monotonic() < deadline:
            n = next(sent)
            if n > most:
                return
            async with client.post(f"{url}/v1/validate", json={"symbology": "code128", "data": f"P{n}"}) as resp:
                await resp.read()
                if resp.status == 429:
                    first_429.append(n)
                    retry_after.append(resp.headers.get("Retry-After"))

    async with session(PROBE, 16) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))
    return {"limit_on": bool(first_429), "first_429_at": min(first_429, default=None),
            "retry_after": retry_after[0] if retry_after else None}


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True).stdout.strip()
    return {"head": git("rev-parse", "HEAD"), "changed": git("status", "--porcelain").splitlines()}


# -- the run -----------------------------------------------------------------------------------

async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    names = itertools.count()
    addresses = await source_addresses(url)
    if addresses != {VICTIM: VICTIM, ATTACKER: ATTACKER}:
        raise SystemExit(f"the callers' connections do not leave from their own addresses: {addresses}")
    _say("warming up: 3 s of the victim, one Han Xin PDF check")
    await victim(url, args.victim_rate, 3, names)
    async with session(PROBE) as client, client.post(f"{url}/v1/validate", json={"data": "W", **HANXIN_PDF}) as resp:
        await resp.read()
    limit = await limit_check(url)
    _say(f"rate limit check from {PROBE}: {limit}")
    steps = []
    for name in args.phases:
        phase = PHASES[name]
        for n in range(args.rounds):
            for attacked in (False, True):
                _say(f"phase {name} ({phase.attack}), round {n + 1} of {args.rounds}: victim "
                     f"{'beside the attacker' if attacked else 'alone'}, {args.seconds:g} s")
                s = await step(url, phase, attacked, args, names)
                s["round"] = n + 1
                steps.append(s)
                line = ", ".join(f"{k} p50 {report.summarize(s['victim'][k]['latencies_ms'])['p50']} ms"
                                 for k in report.KINDS)
                if attacked:
                    a = s["attacker"]
                    line += (f"; attacker: {a['accepted']} accepted in {a['seconds']} s, {a['rejected_429']} 429s, "
                             f"other {a['other']}, drained {s['drain_s']} s after the step")
                _say("  " + line)
    return {"source_addresses": addresses, "limit_check": limit, "steps": steps}


def _phases(text: str) -> list[str]:
    names = [p.strip().upper() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in PHASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"phases are {', '.join(PHASES)}; got {text!r}")
    return list(dict.fromkeys(names))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.fairness", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each step (alone, attacked)")
    parser.add_argument("--rounds", type=int, default=2, help="alone / attacked pairs per phase")
    parser.add_argument("--phases", type=_phases, default="A,B,C",
                        help="; ".join(f"{p.name}: {p.attack}" for p in PHASES.values()))
    parser.add_argument("--victim-rate", type=float, default=10.0, help="validations/s, and as many jobs/s")
    parser.add_argument("--concurrency", type=int, default=8, help="the attacker's requests in flight")
    parser.add_argument("--batch-rows", type=int, default=60, help="rows per batch dry run (phase C)")
    parser.add_argument("--repeat-data", action="store_true",
                        help="the attacker sends data 'A' in every request and row (cheap repeats)")
    parser.add_argument("--lead", type=float, default=1.0, help="seconds the attacker runs before the victim")
    parser.add_argument("--drain", type=float, default=180.0,
                        help="seconds to wait after an attacked step for the attacker's requests and jobs")
    parser.add_argument("--generators", type=int, default=1)
    args = parser.parse_args()
    root = BENCH_DIR / "fairness-stack"
    shutil.rmtree(root, ignore_errors=True)
    stack = Stack.create(root)
    results: dict[str, Any] = {"command": " ".join(["python -m devstack.bench.fairness", *sys.argv[1:]]),
                               "started": time.time(), "cpus": os.cpu_count(), "git": _git(),
                               "gateway_env": {k: v for k, v in os.environ.items() if k.startswith("GATEWAY_")},
                               "settings": vars(args), "bound": report.BOUND}
    try:
        _say("starting Kafka, MinIO and the services ...")
        stack.start_infra()
        url = stack.start_pipeline(generators=args.generators)[0]
        results.update(asyncio.run(measure(url, args)))
    finally:
        stack.stop()
    by_phase = [[s for s in results["steps"] if s["phase"] == name] for name in args.phases]
    results["phases"] = [report.phase_summary(steps) for steps in by_phase]
    out = BENCH_DIR / "fairness.json"
    out.write_text(json.dumps(results, indent=2))
    _say(f"written {out}")
    print(report.table(results["phases"]))
    print()
    print("\n".join(report.verdicts(results["phases"])))
    if not results["limit_check"]["limit_on"]:
        print(f"\nNo 429 in {PROBE}'s burst of cheap requests: the gateway's rate limit looks off "
              f"(GATEWAY_* from the environment: {results['gateway_env'] or 'none'}).")


if __name__ == "__main__":
    main()
