"""`make bench-memory`: gateway memory per idle WebSocket connection.

Opens `--sockets` idle connections to the gateway of a running `make run` stack (start it
with `GATEWAY_MAX_SOCKETS_PER_CALLER` above that number: every socket comes from one caller
here) and reads the gateway's resident memory (VmRSS) before and after. Needs a file-descriptor
limit above the socket count (`ulimit -n`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

import aiohttp

from devstack import paths


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process from /proc, in KiB; VmHWM is its peak so far."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


async def hold(url: str, sockets: int, pid: int) -> None:
    before = rss_kib(pid)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        opened = []
        started = time.monotonic()
        for batch in range(0, sockets, 500):
            opened += await asyncio.gather(*(session.ws_connect(f"{url}/v1/ws", heartbeat=None)
                                             for _ in range(min(500, sockets - batch))))
        await asyncio.gather(*(ws.receive_json(timeout=60) for ws in opened))  # every hello
        took = time.monotonic() - started
        await asyncio.sleep(2)
        after = rss_kib(pid)
        print(f"{len(opened)} idle sockets opened in {took:.1f} s; gateway RSS {before / 1024:.1f} MiB -> "
              f"{after / 1024:.1f} MiB: {(after - before) / len(opened):.1f} KiB per connection")
        await asyncio.gather(*(ws.close() for ws in opened))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    state = json.loads((paths.RUN / "state.json").read_text())
    asyncio.run(hold(args.url, args.sockets, int(state["pids"]["gateway"])))


if __name__ == "__main__":
    main()
