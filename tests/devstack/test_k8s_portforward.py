"""The port-forward wrapper: kubectl that keeps running while nothing answers is started again.

kubectl itself is played by a small process that listens where kubectl would: the first one
takes connections and never answers (what a forward to a pod that has gone can do), the next
ones serve HTTP. The wrapper's probe must notice and start the next.
"""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devstack.k8s import portforward
from devstack.k8s.portforward import PortForward

FAKE_KUBECTL = r'''
import http.server, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
print(f"Forwarding from 127.0.0.1:{port} -> 8080", flush=True)
if mode == "hang":
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    held = []
    while True:
        held.append(server.accept()[0])  # taken, never answered
else:
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")
    http.server.HTTPServer.allow_reuse_address = True
    http.server.HTTPServer(("127.0.0.1", port), Ok).serve_forever()
'''


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_forward_that_stops_answering_is_started_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(portforward, "PROBE_EVERY_S", 0.1)
    monkeypatch.setattr(portforward, "PROBE_TIMEOUT_S", 0.3)
    script = tmp_path / "kubectl.py"
    script.write_text(FAKE_KUBECTL)
    forward = PortForward("service/gateway", 8080, probe_path="/healthz")
    modes = iter(["hang"])

    def spawn() -> subprocess.Popen[str]:
        forward.restarts += 1
        return subprocess.Popen([sys.executable, str(script), str(forward.local_port), next(modes, "serve")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    monkeypatch.setattr(forward, "_spawn", spawn)
    with forward:
        wait_for(lambda: forward.restarts >= 1)
        wait_for(forward._answers)
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{forward.url}/healthz", timeout=2) as resp:
            assert resp.read() == b"ok"
    out = capsys.readouterr().out
    assert "/healthz did not answer 3 times in a row" in out
    assert f"[port-forward service/gateway] Forwarding from 127.0.0.1:{forward.local_port}" in out


def test_without_a_probe_path_a_silent_forward_is_left_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(portforward, "PROBE_EVERY_S", 0.05)
    script = tmp_path / "kubectl.py"
    script.write_text(FAKE_KUBECTL)
    forward = PortForward("pod/gateway-0", 8080)

    def spawn() -> subprocess.Popen[str]:
        forward.restarts += 1
        return subprocess.Popen([sys.executable, str(script), str(forward.local_port), "hang"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    monkeypatch.setattr(forward, "_spawn", spawn)
    with forward:
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 1.0)  # twenty watch rounds
        assert forward.restarts == 0
