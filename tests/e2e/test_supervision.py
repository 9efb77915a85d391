"""Workers outlive a broker that is not there, and the local supervisor (`make run`) starts a
killed service again. Each test starts its own processes on free ports: breaking the shared
stack would upset other tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack import paths
from devstack.ports import free_port
from devstack.process import pid_alive
from devstack.stack import Stack


def _status(url: str) -> int | None:
    """HTTP status of a GET, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.3)


def test_workers_started_before_the_broker_wait_unready_then_work_without_exiting(tmp_path: Path) -> None:
    stack = Stack.create(tmp_path)
    try:
        stack.minio.start()  # Kafka not yet: the workers start into a broker that is not there
        notifier, generator, gateway = stack.service("notifier"), stack.service("generator"), stack.service("gateway")
        notifier.start(wait=False)
        generator.start(wait=False)
        gateway.start(wait=False)
        probes = {"notifier": f"http://127.0.0.1:{notifier.env['NOTIFIER_HEALTH_PORT']}",
                  "generator": f"http://127.0.0.1:{generator.env['GENERATOR_HEALTH_PORT']}",
                  "gateway": gateway.url}
        services = {"notifier": notifier, "generator": generator, "gateway": gateway}
        pids = {name: svc.proc.pid for name, svc in services.items()}  # type: ignore[union-attr]
        for name, base in probes.items():
            # Alive (a kubelet must not restart it), not ready (no traffic, no rollout count).
            _wait_for(lambda b=base: _status(f"{b}/healthz") == 200, 30, f"{name} /healthz answers 200")
            assert _status(f"{base}/readyz") == 503
        # The gateway answers meanwhile: a submission is refused as retryable, not left hanging.
        submit = urllib.request.Request(f"{gateway.url}/v1/jobs", data=b'{"data": "EARLY"}', method="POST",
                                        headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(submit, timeout=5)
            raise AssertionError("a job was accepted with no broker")
        except urllib.error.HTTPError as refused:
            assert refused.code == 503 and json.load(refused)["error"]["code"] == "unavailable"
        # No socket before the job state is read: a resumed socket would be sent every result of
        # its client again as the feed caught up (found by the chaos test: 39 duplicates).
        upgrade = urllib.request.Request(f"{gateway.url}/v1/ws", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        try:
            urllib.request.urlopen(upgrade, timeout=5)
            raise AssertionError("a socket was opened before the job state was read")
        except urllib.error.HTTPError as refused:
            assert refused.code == 503
        time.sleep(3)  # several rounds of the wait's back-off
        assert all(svc.proc.poll() is None for svc in services.values())  # type: ignore[union-attr]

        stack.kafka.start()
        for svc in services.values():
            svc.wait_ready(timeout=60)
        for name, base in probes.items():
            _wait_for(lambda b=base: _status(f"{b}/readyz") == 200, 30, f"{name} /readyz answers 200")
        # The same processes: nothing had to start them again.
        assert {name: svc.proc.pid for name, svc in services.items()} == pids  # type: ignore[union-attr]
    finally:
        stack.stop()


def _devstack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devstack", *args], capture_output=True, text=True,
                          cwd=paths.ROOT, timeout=240)


def test_make_run_supervisor_restarts_a_killed_service_and_status_shows_it(tmp_path: Path) -> None:
    run = ["--run-dir", str(tmp_path)]
    started = _devstack("up", *run, "--kafka-port", str(free_port()), "--minio-port", str(free_port()),
                        "--gateway-port", str(free_port()), "--generators", "1")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        pids = json.loads((tmp_path / "state.json").read_text())["pids"]
        os.killpg(pids["notifier"], signal.SIGKILL)

        def restarted() -> bool:
            out = _devstack("status", *run).stdout
            line = next(ln for ln in out.splitlines() if " notifier " in ln)
            return "running" in line and "restarts 1 (last: exit -9" in line and str(pids["notifier"]) not in line

        _wait_for(restarted, 30, "status shows the notifier restarted")
        log = (tmp_path / "logs" / "supervisor.log").read_text()
        assert "notifier exited (-9); restarting it" in log
        new_pid = json.loads((tmp_path / "state.json").read_text())["pids"]["notifier"]
        assert pid_alive(new_pid)
    finally:
        stopped = _devstack("down", *run)
    assert stopped.returncode == 0
    # `make stop` stops everything, the supervisor included: nothing comes back.
    every = {**pids, "notifier": new_pid}
    time.sleep(2)
    assert [name for name, pid in every.items() if pid_alive(pid)] == []
    assert not (tmp_path / "state.json").exists()
