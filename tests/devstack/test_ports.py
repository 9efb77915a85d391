"""Ports handed to test servers are never ones the kernel may give an outgoing connection."""
from __future__ import annotations

import socket

import pytest

from devstack import ports

from devstack.ports import ephemeral_range, free_port


def test_free_ports_lie_outside_the_ephemeral_range_and_are_bindable() -> None:
    low, high = ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50  # none handed out twice
    for port in ports:
        assert not low <= port <= high
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        draws = iter([taken, taken, 20001])
        monkeypatch.setattr(ports.random, "choice", lambda _candidates: next(draws))
        assert free_port() == 20001
