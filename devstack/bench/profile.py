"""`make profile`: where each service spends its CPU under load, as py-spy flame graphs.

Starts Kafka, MinIO and the four services on free ports (like `make bench`), warms the broker
up, then drives a fixed open-loop rate over WebSockets while py-spy samples every service
(only threads holding the GIL: CPU, not waiting). Writes .local/bench/profile-<service>.svg
(open in a browser) and prints each service's hottest frames.
"""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from pathlib import Path

from devstack.bench import pipeline as bench
from services.kafka import eventloop

SERVICES = ("router", "notifier", "generator", "gateway")  # Stack.start_pipeline's names for one of each


def hottest(raw: Path, top: int) -> list[tuple[float, str]]:
    """The frames with the most samples beneath them (inclusive), from py-spy's raw output."""
    total, inclusive = 0, collections.Counter[str]()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    return [(100.0 * n / max(total, 1), frame) for frame, n in inclusive.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    eventloop.install()
    py_spy = Path(sys.executable).with_name("py-spy")
    run = bench.Bench(argparse.Namespace(mix=bench.CODE128, connections=16))
    run.stack.start_infra()
    try:
        url = ",".join(run.start_pipeline())
        print(f"[profile] warming up {args.warmup:g} s ...", file=sys.stderr, flush=True)
        run.load(url, 100.0, args.warmup)
        pids = run.pipeline_pids()
        out = bench.BENCH_DIR
        samplers = {}
        for name in SERVICES:
            for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
                samplers[(name, fmt)] = subprocess.Popen(
                    [str(py_spy), "record", "--gil", "-r", "100", "-d", str(args.seconds), "-p", str(pids[name]),
                     "-f", fmt, "-o", str(out / f"profile-{name}.{suffix}")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"[profile] {args.rate:g} jobs/s for {args.seconds} s while py-spy samples ...", file=sys.stderr)
        results = run.load(url, args.rate, args.seconds + 2)
        for proc in samplers.values():
            proc.wait()
    finally:
        run.stack.stop()
    print(f"{results.summary()['achieved_rate']:g} jobs/s, latency {results.summary()['latency_ms']}")
    for name in SERVICES:
        print(f"\n== {name} (flame graph: {out / f'profile-{name}.svg'})")
        for share, frame in hottest(out / f"profile-{name}.txt", args.top):
            print(f"{share:5.1f}%  {frame[:120]}")


if __name__ == "__main__":
    main()
