"""Free loopback ports for servers started by tests and `make run`.

A port is chosen below the kernel's ephemeral range, not with `bind(0)`: a port from the
ephemeral range is free when chosen but can be taken, before the server binds it, as the local
port of any outgoing connection on the machine. CI lost a run that way: workers reconnecting to a
broker not yet started drew the broker's controller port for their own sockets (Address already
in use). Ports outside that range are never handed to a client socket."""
from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000  # below this sit well-known and registered services people run on a laptop
_given: set[int] = set()  # handed out by this process: not handed out twice before it is bound


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel picks local ports of outgoing connections from."""
    try:
        low, high = (int(part) for part in _RANGE_FILE.read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    low, high = ephemeral_range()
    candidates = range(_LOWEST, low) if low - _LOWEST >= 1000 else range(high + 1, 65536)
    if len(candidates) < 1000:  # a machine whose ephemeral range covers nearly everything
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for _ in range(200):
        port = random.choice(candidates)
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    raise RuntimeError(f"no free loopback port in {candidates.start}-{candidates.stop - 1}")


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
