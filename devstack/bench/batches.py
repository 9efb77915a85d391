"""`make bench-batches`: what a batch costs and what it does to single jobs beside it.

On its own stack (Kafka, MinIO and the five services, rate limits off), one after another:
a 10,000-row Code 128 batch and a 10,000-row mixed batch (QR, Data Matrix and EAN-13 taking
turns): time to the last row, rows/s, time from the last row to the ZIP and PDF being stored,
their sizes, and the peak resident memory of each process while the batch ran. Then single jobs
over WebSockets at a fixed rate, alternately alone and beside a Code 128 batch (interleaved, so
the machine's drift hits both alike): their p50 and p99.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from devstack import paths
from devstack.bench.memory import rss_kib
from devstack.stack import Stack
from loadtest.batches import MIXES, BatchRun, run_batches
from loadtest.runner import run
from loadtest.workload import DEFAULT_MIX, Mix

BENCH_DIR = paths.LOCAL / "bench"
UNLIMITED = {"GATEWAY_RATE_LIMIT": "0"}


def _say(message: str) -> None:
    print(f"[bench-batches] {message}", flush=True)


def pids(stack: Stack) -> dict[str, int]:
    out = {name: svc.proc.pid for name, svc in stack.services.items() if svc.proc is not None}
    for name, server in (("kafka", stack.kafka), ("minio", stack.minio)):
        if server.proc is not None:
            out[name] = server.proc.pid
    return out


class PeakMemory:
    """The largest resident memory of each process, sampled every 0.2 s while in a `with`."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes
        self.peak_kib = {name: 0 for name in processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.processes.items():
                try:
                    self.peak_kib[name] = max(self.peak_kib[name], rss_kib(pid))
                except (OSError, RuntimeError):
                    pass
            self._stop.wait(0.2)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def _sizes(run: BatchRun) -> dict[str, int]:
    out = {}
    async with aiohttp.ClientSession() as session:
        for name in ("archive_url", "sheet_url", "manifest_url"):
            async with session.get(run.final[name]) as resp:
                out[name.removesuffix("_url")] = len(await resp.read())
    return out


def one_batch(gateway: str, stack: Stack, rows: int, mix: str) -> dict[str, Any]:
    with PeakMemory(pids(stack)) as memory:
        [batch] = asyncio.run(run_batches(gateway, 1, rows, MIXES[mix], say=_say))
    assert batch.last_row_s is not None and batch.outputs_s is not None
    rows_s = batch.last_row_s - batch.accepted_s
    return {"mix": mix, "rows": rows, "accepted_s": round(batch.accepted_s, 2),
            "last_row_s": round(rows_s, 1), "rows_per_s": round(rows / rows_s), "outputs_s": round(batch.outputs_s - batch.last_row_s, 1),
            "completed": batch.final["completed"], "failed": batch.final["failed"],
            "labels": batch.final["labels"], "bytes": asyncio.run(_sizes(batch)),
            "peak_rss_mib": {k: round(v / 1024) for k, v in memory.peak_kib.items()}}


def singles(gateway: str, rate: float, seconds: float) -> dict[str, Any]:
    results = asyncio.run(run(gateway, rate, seconds, 8, "ws", Mix.load(DEFAULT_MIX), progress=False))
    summary = results.summary()
    return {"offered_rate": summary["offered_rate"], "achieved_rate": summary["achieved_rate"],
            "p50_ms": summary["latency_ms"]["p50"], "p99_ms": summary["latency_ms"]["p99"],
            "failed": sum(summary["failed"].values()), "lost": summary["lost"]}


def singles_beside_a_batch(gateway: str, rate: float, seconds: float, rows: int) -> dict[str, Any]:
    done: list[BatchRun] = []
    batch = threading.Thread(target=lambda: done.extend(asyncio.run(run_batches(gateway, 1, rows, MIXES["code128"],
                                                                                say=lambda _: None))))
    batch.start()
    time.sleep(2)  # the batch's rows are in the pipeline
    measured = singles(gateway, rate, seconds)
    batch.join()
    # The batch must have run through the whole measurement, or "beside a batch" is not what was measured.
    assert done and (done[0].last_row_s or 0) > seconds + 2, "the batch ended before the single jobs did"
    measured["batch_rows_per_s"] = round(rows / ((done[0].last_row_s or 0) - done[0].accepted_s))
    return measured


def use_window(stack: Stack, window: int) -> None:
    """Restart the batcher with BATCHER_WINDOW = `window` (the rest keeps running, warm)."""
    stack.services["batcher"].stop()
    stack.service("batcher", BATCHER_WINDOW=str(window), **UNLIMITED).start()


def table(rows: list[dict[str, Any]], columns: list[tuple[str, Callable[[dict[str, Any]], Any]]]) -> str:
    out = ["| " + " | ".join(name for name, _ in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(str(get(r)) for _, get in columns) + " |" for r in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.batches", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--single-rate", type=float, default=50.0, help="single jobs/s beside the batch")
    parser.add_argument("--single-seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2, help="alone / beside-a-batch pairs per window")
    parser.add_argument("--windows", default="256,64,16", help="BATCHER_WINDOW values tried beside single jobs")
    args = parser.parse_args()
    root = BENCH_DIR / "batches-stack"
    shutil.rmtree(root, ignore_errors=True)
    stack = Stack.create(root)
    try:
        stack.start_infra()
        gateway = stack.start_pipeline(**UNLIMITED)[0]
        _say("warming up: a 300-row batch and 5 s of single jobs")
        one_batch(gateway, stack, 300, "mixed")
        singles(gateway, args.single_rate, 5)
        batches = [one_batch(gateway, stack, args.rows, mix) for mix in ("code128", "mixed")]
        pairs = []
        for n in range(args.rounds):
            for window in (int(w) for w in args.windows.split(",")):
                use_window(stack, window)
                _say(f"single jobs at {args.single_rate:g}/s: alone, then beside a {args.rows}-row batch "
                     f"(BATCHER_WINDOW {window}, round {n + 1})")
                pairs.append({"round": n + 1, "window": window, "beside": "nothing",
                              **singles(gateway, args.single_rate, args.single_seconds)})
                pairs.append({"round": n + 1, "window": window, "beside": f"{args.rows}-row batch",
                              **singles_beside_a_batch(gateway, args.single_rate, args.single_seconds, args.rows)})
    finally:
        stack.stop()
    names = sorted({k for b in batches for k in b["peak_rss_mib"]})
    print(table(batches, [("batch", lambda r: f"{r['rows']} {r['mix']}"), ("last row (s)", lambda r: r["last_row_s"]),
                          ("rows/s", lambda r: r["rows_per_s"]), ("ZIP + PDF after the last row (s)", lambda r: r["outputs_s"]),
                          ("ZIP MB", lambda r: round(r["bytes"]["archive"] / 1e6, 1)),
                          ("PDF MB", lambda r: round(r["bytes"]["sheet"] / 1e6, 1)),
                          ("labels", lambda r: r["labels"])]))
    print()
    print(table(batches, [("batch", lambda r: f"{r['rows']} {r['mix']}"),
                          *[(f"{n} MiB", lambda r, n=n: r["peak_rss_mib"].get(n)) for n in names]]))
    print()
    print(table(pairs, [("round", lambda r: r["round"]), ("BATCHER_WINDOW", lambda r: r["window"]),
                        ("single jobs beside", lambda r: r["beside"]),
                        ("batch rows/s", lambda r: r.get("batch_rows_per_s", "")),
                        ("achieved/s", lambda r: r["achieved_rate"]), ("p50 ms", lambda r: r["p50_ms"]),
                        ("p99 ms", lambda r: r["p99_ms"]), ("failed", lambda r: r["failed"]), ("lost", lambda r: r["lost"])]))
    out = BENCH_DIR / "batches.json"
    out.write_text(json.dumps({"batches": batches, "singles": pairs}, indent=2))
    _say(f"written {out}")


if __name__ == "__main__":
    main()
