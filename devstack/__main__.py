"""`python -m devstack up|down|status`: the local stack behind `make run` and `make stop`.

`up` starts a supervisor in the background (`python -m devstack supervise`, its log in
logs/supervisor.log) and waits until it reports the stack ready. The supervisor starts Kafka,
MinIO and the services, then stays: a process that exits on its own is started again with
back-off, as a kubelet would, and the restart is logged and counted. `down` stops the
supervisor, which stops everything in order. State lives in .local/run (or `--run-dir`): data
folders, one log per process, and state.json with the pids, ports and restarts, so a second
`up` reuses a running stack, `status` shows restarts, and `down` stops exactly what `up` started.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from devstack import paths
from devstack.install import install_all, install_jaeger
from devstack.jaeger import JaegerServer
from devstack.ports import is_listening
from devstack.process import ProcessFailed, Supervisor, pid_alive, spawn, terminate
from devstack.stack import Stack

JAEGER_UI_PORT = 16686  # Jaeger's own defaults, on loopback (`make run TRACES=1`)
JAEGER_OTLP_PORT = 4318

START_TIMEOUT_S = 600.0  # first Kafka start formats storage; on a busy 2-core machine it is slow


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


class RunDir:
    """Where one local stack keeps its state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state.json"
        self.supervisor_log = root / "logs" / "supervisor.log"

    def load(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.state.read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def save(self, state: dict[str, Any]) -> None:
        # Written whole, then renamed: `status` may read it at any moment.
        self.state.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=2))
        partial.replace(self.state)


def _pids(state: dict[str, Any]) -> dict[str, int]:
    pids = state.get("pids", {})
    return {str(k): int(v) for k, v in pids.items()} if isinstance(pids, dict) else {}


def _alive(state: dict[str, Any]) -> bool:
    pids = _pids(state)
    return bool(pids) and all(pid_alive(p) for p in pids.values())


def up(run: RunDir, kafka_port: int, minio_port: int, gateway_port: int, generators: int = 2,
       kafka_brokers: int = 1, traces: bool = False) -> int:
    state = run.load()
    if state is not None and state.get("phase") == "ready" and _alive(state):
        _say(f"already running (logs in {run.root / 'logs'})")
        _say(f"try it: open {state['gateway_url']}/ in a browser")
        return 0
    if state is not None:
        _say("a previous stack is partly running; stopping it first")
        down(run)
    partitions = int(os.environ.get("BARCODE_PARTITIONS", "2"))
    if not 1 <= generators <= partitions:
        # A generator without a partition of barcode.render would only sit idle.
        _say(f"GENERATORS={generators}: between 1 and the partition count ({partitions}, BARCODE_PARTITIONS)")
        return 1
    if kafka_brokers not in (1, 3):
        _say(f"KAFKA_BROKERS={kafka_brokers}: 1 (one node) or 3 (a cluster that survives losing a broker)")
        return 1
    # Node n of a cluster listens on KAFKA_PORT + 2(n-1), its controller on the port after.
    kafka_ports = [("Kafka", kafka_port + 2 * n + side) for n in range(kafka_brokers) for side in (0, 1)]
    jaeger_ports = [("Jaeger", JAEGER_UI_PORT), ("Jaeger OTLP", JAEGER_OTLP_PORT)] if traces else []
    for name, port in (*kafka_ports, ("MinIO", minio_port), ("gateway", gateway_port), *jaeger_ports):
        if is_listening(port):
            _say(f"port {port} for {name} is taken; free it or pass another, e.g. make run {name.upper()}_PORT=...")
            return 1
    install_all()
    offset = run.supervisor_log.stat().st_size if run.supervisor_log.exists() else 0
    proc = spawn([sys.executable, "-m", "devstack", "supervise", "--run-dir", str(run.root),
                  "--kafka-port", str(kafka_port), "--minio-port", str(minio_port),
                  "--gateway-port", str(gateway_port), "--generators", str(generators),
                  "--kafka-brokers", str(kafka_brokers), *(["--traces"] if traces else [])],
                 run.supervisor_log, cwd=paths.ROOT)
    # Relay the supervisor's progress until it says ready or failed.
    deadline = time.monotonic() + START_TIMEOUT_S
    phase = "starting"
    while time.monotonic() < deadline:
        offset = _relay(run.supervisor_log, offset)
        state = run.load() or {}
        phase = str(state.get("phase", "starting")) if state.get("supervisor") == proc.pid else "starting"
        if phase in ("ready", "failed") or proc.poll() is not None:
            break
        time.sleep(0.2)
    _relay(run.supervisor_log, offset)
    if phase != "ready":
        _say(f"the stack did not start ({phase}); see {run.supervisor_log}")
        down(run)
        return 1
    return 0


def _relay(log: Path, offset: int) -> int:
    """Print the supervisor's own lines written since `offset`; return the new offset."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return offset
    complete = chunk[: chunk.rfind(b"\n") + 1]
    for line in complete.decode(errors="replace").splitlines():
        if line.startswith("[devstack]"):
            print(line, flush=True)
    return offset + len(complete)


class _Stopping(Exception):
    """SIGTERM reached the supervisor (`make stop`)."""


def _raise_stopping(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the stop below must not be interrupted
    raise _Stopping()


def supervise(run: RunDir, kafka_port: int, minio_port: int, gateway_port: int, generators: int,
              kafka_brokers: int = 1, traces: bool = False) -> int:
    """Start the stack, then keep it running until SIGTERM; stop it all on the way out."""
    signal.signal(signal.SIGTERM, _raise_stopping)
    # Jaeger's usual ports, on loopback: its UI where people look for it.
    jaeger = JaegerServer(run.root / "jaeger", otlp_port=JAEGER_OTLP_PORT, ui_port=JAEGER_UI_PORT) if traces else None
    stack = Stack.create(run.root, kafka_port=kafka_port, minio_port=minio_port, extra_env=_persistent_secret(run),
                         kafka_brokers=kafka_brokers, jaeger=jaeger)
    state: dict[str, Any] = {"phase": "starting", "supervisor": os.getpid(), "pids": {"supervisor": os.getpid()},
                             "gateway_url": f"http://127.0.0.1:{gateway_port}", "kafka": stack.kafka.bootstrap,
                             "s3": stack.minio.endpoint, "restarts": {}}
    run.save(state)
    started = time.monotonic()
    try:
        try:
            if stack.jaeger is not None:
                _say(f"starting Jaeger {paths.jaeger_version()} (traces: every job; UI {stack.jaeger.ui}) ...")
                stack.jaeger.start()
            _say(f"starting MinIO on {stack.minio.endpoint} ...")
            stack.minio.start()
            nodes = f"{len(stack.kafka.brokers)} nodes, replication 3, min.insync.replicas 2, " \
                if stack.kafka.replicated else ""
            _say(f"starting Kafka {paths.kafka_version()} ({nodes}on {stack.kafka.bootstrap}) ...")
            stack.kafka.start()
            _say(f"starting router, {generators} generator(s), notifier, gateway ...")
            stack.start_pipeline(gateway_port=gateway_port, generators=generators)
        except ProcessFailed as exc:
            _say(str(exc))
            state["phase"] = "failed"
            _save(run, state, stack, None)
            return 1
        supervisor = stack.supervisor(_say, infra=True)
        state["phase"] = "ready"
        _save(run, state, stack, supervisor)
        _say(f"ready in {time.monotonic() - started:.1f}s; logs in {run.root / 'logs'}; `make stop` stops it")
        _say(f"try it: open http://127.0.0.1:{gateway_port}/ in a browser "
             "(API: /openapi.json, WebSocket: /v1/ws; README's tour for curl)")
        if stack.jaeger is not None:
            _say(f"traces: {stack.jaeger.ui}/search?service=barcode-gateway (a job's: tag job.id=<its id>)")
        _say("supervising: a process that exits is started again (`make status` shows restarts)")
        while True:
            if supervisor.check():
                _save(run, state, stack, supervisor)
            time.sleep(0.5)
    except _Stopping:
        _say("stopping (SIGTERM)")
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second `make stop` must not cut this short
        # Services first (they drain into Kafka), then the broker, then storage.
        stack.stop()
        _say("stopped")


def _save(run: RunDir, state: dict[str, Any], stack: Stack, supervisor: Supervisor | None) -> None:
    pids = {"supervisor": os.getpid()}
    pids.update({name: svc.proc.pid for name, svc in stack.services.items() if svc.proc is not None})
    for name, server in (*stack.kafka_units().items(), ("minio", stack.minio), ("jaeger", stack.jaeger)):
        if server is not None and server.proc is not None:
            pids[name] = server.proc.pid
    state["pids"] = pids
    if supervisor is not None:
        state["restarts"] = {name: {"count": r.count, "last": r.last} for name, r in supervisor.restarts.items()}
    run.save(state)


def _persistent_secret(run: RunDir) -> dict[str, str]:
    """One resume secret per local stack, kept across restarts so resume tokens stay valid."""
    secret_file = run.root / "resume-secret"
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(os.urandom(24).hex())
    return {"GATEWAY_RESUME_SECRET": secret_file.read_text().strip()}


def down(run: RunDir) -> int:
    state = run.load()
    if state is None:
        _say("nothing running")
        return 0
    pids = _pids(state)
    supervisor = pids.pop("supervisor", None)
    if supervisor is not None and pid_alive(supervisor):
        # It stops everything it started, in order (each service drains for up to 20 s).
        _say(f"stopping the supervisor (pid {supervisor}) and what it started")
        terminate(supervisor, timeout=180)
    # Whatever is left (a supervisor that was killed leaves its children): services first (they
    # drain into Kafka), then the broker, then storage.
    order = [n for n in pids if n not in ("kafka", "minio")] + ["kafka", "minio"]
    for name in order:
        if name in pids and pid_alive(pids[name]):
            _say(f"stopping {name} (pid {pids[name]})")
            terminate(pids[name])
    run.state.unlink(missing_ok=True)
    _say("stopped")
    return 0


def status(run: RunDir) -> int:
    state = run.load()
    if state is None:
        _say("not running")
        return 1
    restarts = state.get("restarts", {})
    for name, pid in _pids(state).items():
        record = restarts.get(name, {})
        if name == "supervisor":
            extra = ""
        elif record:
            extra = f"  restarts {int(record.get('count', 0))} (last: {record.get('last')})"
        else:
            extra = "  restarts 0"
        _say(f"{name:10} pid {pid:>7}  {'running' if pid_alive(pid) else 'STOPPED'}{extra}")
    _say(f"gateway: {state['gateway_url']}  ({state.get('phase', '?')})")
    return 0 if _alive(state) else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "install", "supervise"])
    parser.add_argument("--run-dir", type=Path, default=paths.RUN, help="state, logs and data (default .local/run)")
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", 9092)))
    parser.add_argument("--minio-port", type=int, default=int(os.environ.get("MINIO_PORT", 9000)))
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", 8080)))
    # Two by default: on two cores a second generator process took the peak from 110 to 150
    # jobs/s (docs/benchmarks.md, make bench).
    parser.add_argument("--generators", type=int, default=int(os.environ.get("GENERATORS", 2)))
    parser.add_argument("--kafka-brokers", type=int, default=int(os.environ.get("KAFKA_BROKERS", 1)),
                        help="1, or 3: a three-node KRaft cluster with every topic on all three")
    parser.add_argument("--traces", action="store_true",
                        help=f"start Jaeger (UI on 127.0.0.1:{JAEGER_UI_PORT}) and trace every job")
    args = parser.parse_args(argv)
    run = RunDir(args.run_dir.resolve())
    if args.command == "up":
        if args.traces:
            install_jaeger()
        return up(run, args.kafka_port, args.minio_port, args.gateway_port, args.generators, args.kafka_brokers,
                  args.traces)
    if args.command == "supervise":
        return supervise(run, args.kafka_port, args.minio_port, args.gateway_port, args.generators,
                         args.kafka_brokers, args.traces)
    if args.command == "down":
        return down(run)
    if args.command == "install":
        install_all()
        return 0
    return status(run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
