"""`python -m loadtest` (`make loadtest`): open-loop load against a gateway (local stack or a
`kubectl port-forward`), over WebSockets or REST, with a mix of symbologies from a JSON file;
`--mode render` drives a plain render server (bwip-js) with the same schedule, for comparison.

Batches: `--batches 2 --rows 10000 --batch-mix mixed [--verify]` submits the batches at once,
follows them to their outputs and reports rows/s and the time to the last row and to the files.

Fixed rate: `--rate 200 --duration 30`. Ramp: `--ramp 100:100:2000 --p99-bound 50` runs
`--duration` seconds per step and stops at a step that misses the bound, has errors, or
achieves less than 95% of the offered rate twice in a row (one miss is run again: a single stall
on a shared machine is not the limit); the last good step is the peak sustainable rate.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from loadtest.batches import MIXES, run_batches
from loadtest.batches import report as report_batches
from loadtest.ramp import ramp, rates
from loadtest.results import Results, stage_table, table
from loadtest.runner import run
from loadtest.workload import DEFAULT_MIX, Mix
from services.kafka import eventloop


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--mode", choices=["ws", "rest", "render", "image"], default="ws",
                        help="render: a plain render server answering GET /?bcid=..&text=.. (bwip-js)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (open loop)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending (per ramp step)")
    parser.add_argument("--connections", type=int, default=8, help="WebSocket connections")
    parser.add_argument("--mix", type=Path, default=DEFAULT_MIX, help="JSON list of {symbology, format, data, weight}")
    parser.add_argument("--api-key", help="sent as X-API-Key")
    parser.add_argument("--ramp", help="start:step:max requests per second")
    parser.add_argument("--p99-bound", type=float, default=50.0, help="ms, for --ramp")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path,
                        help="write a PNG (latency by percentile, latency and throughput over time, the ramp) "
                             "and each step's .hgrm beside it")
    parser.add_argument("--stages", action="store_true", help="print per-stage p50/p99 after each step")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--warmup", type=float, default=0.0,
                        help="seconds at the first rate before measuring (a fresh broker JVM is slow)")
    parser.add_argument("--batches", type=int, default=0,
                        help="batch mode: submit this many batches at once (POST /v1/batches) and follow them")
    parser.add_argument("--rows", type=int, default=1000, help="rows per batch, for --batches")
    parser.add_argument("--batch-mix", choices=sorted(MIXES), default="code128",
                        help="code128, or mixed: QR, Data Matrix and EAN-13 taking turns")
    parser.add_argument("--verify", action="store_true",
                        help="batch mode: decode every file of each ZIP and every label of each PDF sheet")
    args = parser.parse_args()
    if args.batches:
        runs = asyncio.run(run_batches(args.url, args.batches, args.rows, MIXES[args.batch_mix], args.verify,
                                       say=(lambda text: None) if args.quiet else print))
        print(report_batches(runs))
        sys.exit(0 if all(r.final.get("status") == "completed" and not r.final.get("failed") for r in runs) else 1)
    # The load generator shares the CPUs with what it measures: the services' own event loop
    # (uvloop) keeps its cost per request down (BARCODE_EVENT_LOOP=asyncio for the standard one).
    eventloop.install()
    mix = Mix.load(args.mix)
    try:
        step_rates = rates(args.ramp) if args.ramp else [args.rate]
    except ValueError as exc:
        parser.error(str(exc))
    if args.warmup > 0:
        asyncio.run(run(args.url, step_rates[0], args.warmup, args.connections, args.mode, mix, args.api_key,
                        progress=False))

    def step(rate: float) -> Results:
        return asyncio.run(run(args.url, rate, args.duration, args.connections, args.mode, mix, args.api_key,
                               progress=not args.quiet))

    def report(results: Results) -> None:
        summary = results.summary()
        print(table(summary))
        if args.stages and (stages := stage_table(summary)):
            print(stages)

    if args.ramp:
        found = ramp(step, step_rates, args.p99_bound, report)
        steps, peak = found.steps, found.peak
        if steps and peak != steps[-1]["offered_rate"]:
            print(f"rate {steps[-1]['offered_rate']:g}/s is past the peak")
        print(f"peak sustainable rate: {peak:g}/s (p99 <= {args.p99_bound:g} ms, no errors)" if peak
              else "no step was sustainable")
    else:
        results = step(args.rate)
        report(results)
        steps, peak = [results.summary()], None
    if args.out:
        args.out.write_text(json.dumps({"steps": steps, "peak_rate": peak}, indent=2))
    if args.plot:
        # matplotlib is the `plots` extra (make install has it; the service image does not).
        from loadtest.plot import write_plot  # noqa: PLC0415

        for written in write_plot(steps, args.plot):
            print(f"wrote {written}")
    failed = any(s["failed"] or s["rejected"] or s["lost"] for s in steps[:-1 if args.ramp else None])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
