"""`python -m loadtest` (`make loadtest`): open-loop load against a gateway (local stack or a
`kubectl port-forward`), over WebSockets or REST, with a mix of symbologies from a JSON file.

Fixed rate: `--rate 200 --duration 30`. Ramp: `--ramp 100:100:2000 --p99-bound 50` runs
`--duration` seconds per step and stops at the first step that misses the bound, has errors,
or achieves less than 95% of the offered rate; the last good step is the peak sustainable rate.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from loadtest.plot import write_plot
from loadtest.results import table
from loadtest.runner import run
from loadtest.workload import DEFAULT_MIX, Mix


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--mode", choices=["ws", "rest"], default="ws")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (open loop)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending (per ramp step)")
    parser.add_argument("--connections", type=int, default=8, help="WebSocket connections")
    parser.add_argument("--mix", type=Path, default=DEFAULT_MIX, help="JSON list of {symbology, format, data, weight}")
    parser.add_argument("--api-key", help="sent as X-API-Key")
    parser.add_argument("--ramp", help="start:step:max requests per second")
    parser.add_argument("--p99-bound", type=float, default=50.0, help="ms, for --ramp")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path, help="write a PNG: percentiles vs rate, p99 over time")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--warmup", type=float, default=0.0,
                        help="seconds at the first rate before measuring (a fresh broker JVM is slow)")
    args = parser.parse_args()
    mix = Mix.load(args.mix)
    rates = [args.rate]
    if args.ramp:
        start, step, stop = (float(x) for x in args.ramp.split(":"))
        rates = [start + i * step for i in range(int((stop - start) / step) + 1)]
    if args.warmup > 0:
        asyncio.run(run(args.url, rates[0], args.warmup, args.connections, args.mode, mix, args.api_key,
                        progress=False))
    steps = []
    peak = None
    for rate in rates:
        results = asyncio.run(run(args.url, rate, args.duration, args.connections, args.mode, mix, args.api_key,
                                  progress=not args.quiet))
        summary = results.summary()
        steps.append(summary)
        print(table(summary))
        sustainable = (results.errors == 0 and summary["lost"] == 0
                       and summary["achieved_rate"] >= 0.95 * rate and summary["latency_ms"]["p99"] <= args.p99_bound)
        if args.ramp:
            if not sustainable:
                print(f"rate {rate:g}/s is past the peak")
                break
            peak = rate
    if args.ramp:
        print(f"peak sustainable rate: {peak:g}/s (p99 <= {args.p99_bound:g} ms, no errors)" if peak
              else "no step was sustainable")
    if args.out:
        args.out.write_text(json.dumps({"steps": steps, "peak_rate": peak}, indent=2))
    if args.plot:
        write_plot(steps, args.plot)
    failed = any(s["failed"] or s["rejected"] or s["lost"] for s in steps[:-1 if args.ramp else None])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
