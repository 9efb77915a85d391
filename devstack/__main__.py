"""`python -m devstack up|down|status`: the local stack behind `make run` and `make stop`.

State lives in .local/run: data folders, one log per process, and state.json with the pids
and ports, so a second `up` reuses a running stack and `down` stops exactly what `up` started.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from devstack import paths
from devstack.install import install_all
from devstack.ports import is_listening
from devstack.process import ProcessFailed, pid_alive, terminate
from devstack.stack import Stack

STATE = paths.RUN / "state.json"


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def _load() -> dict[str, object] | None:
    try:
        return dict(json.loads(STATE.read_text()))
    except (FileNotFoundError, ValueError):
        return None


def _alive(state: dict[str, object]) -> bool:
    pids = _pids(state)
    return bool(pids) and all(pid_alive(p) for p in pids.values())


def up(kafka_port: int, minio_port: int, gateway_port: int, generators: int = 2) -> int:
    state = _load()
    if state is not None and _alive(state):
        _say(f"already running (logs in {paths.RUN / 'logs'})")
        _say(f"try it: open {state['gateway_url']}/ in a browser")
        return 0
    if state is not None:
        _say("a previous stack is partly running; stopping it first")
        down()
    partitions = int(os.environ.get("BARCODE_PARTITIONS", "2"))
    if not 1 <= generators <= partitions:
        # A generator without a partition of barcode.render would only sit idle.
        _say(f"GENERATORS={generators}: between 1 and the partition count ({partitions}, BARCODE_PARTITIONS)")
        return 1
    for name, port in (("Kafka", kafka_port), ("MinIO", minio_port), ("gateway", gateway_port)):
        if is_listening(port):
            _say(f"port {port} for {name} is taken; free it or pass another, e.g. make run {name.upper()}_PORT=...")
            return 1
    install_all()
    stack = Stack.create(paths.RUN, kafka_port=kafka_port, minio_port=minio_port,
                         extra_env=_persistent_secret())
    started = time.monotonic()
    try:
        _say(f"starting MinIO on {stack.minio.endpoint} ...")
        stack.minio.start()
        _say(f"starting Kafka {paths.kafka_version()} on {stack.kafka.bootstrap} ...")
        stack.kafka.start()
        _say(f"starting router, {generators} generator(s), notifier, gateway ...")
        stack.start_pipeline(gateway_port=gateway_port, generators=generators)
    except ProcessFailed as exc:
        _say(str(exc))
        _save(stack, gateway_port)
        down()
        return 1
    _save(stack, gateway_port)
    _say(f"ready in {time.monotonic() - started:.1f}s; logs in {paths.RUN / 'logs'}; `make stop` stops it")
    _say(f"try it: open http://127.0.0.1:{gateway_port}/ in a browser "
         "(API: /openapi.json, WebSocket: /v1/ws; README's tour for curl)")
    return 0


def _persistent_secret() -> dict[str, str]:
    """One resume secret per local stack, kept across restarts so resume tokens stay valid."""
    secret_file = paths.RUN / "resume-secret"
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(os.urandom(24).hex())
    return {"GATEWAY_RESUME_SECRET": secret_file.read_text().strip()}


def _save(stack: Stack, gateway_port: int) -> None:
    pids = {name: svc.proc.pid for name, svc in stack.services.items() if svc.proc is not None}
    if stack.kafka.proc is not None:
        pids["kafka"] = stack.kafka.proc.pid
    if stack.minio.proc is not None:
        pids["minio"] = stack.minio.proc.pid
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps({
        "pids": pids, "gateway_url": f"http://127.0.0.1:{gateway_port}",
        "kafka": stack.kafka.bootstrap, "s3": stack.minio.endpoint,
    }, indent=2))


def _pids(state: dict[str, object]) -> dict[str, int]:
    pids = state.get("pids", {})
    return {str(k): int(v) for k, v in pids.items()} if isinstance(pids, dict) else {}


def down() -> int:
    state = _load()
    if state is None:
        _say("nothing running")
        return 0
    pids = _pids(state)
    # Services first (they drain into Kafka), then the broker, then storage.
    order = [n for n in pids if n not in ("kafka", "minio")] + ["kafka", "minio"]
    for name in order:
        if name in pids and pid_alive(pids[name]):
            _say(f"stopping {name} (pid {pids[name]})")
            terminate(pids[name])
    STATE.unlink(missing_ok=True)
    _say("stopped")
    return 0


def status() -> int:
    state = _load()
    if state is None:
        _say("not running")
        return 1
    for name, pid in _pids(state).items():
        _say(f"{name:10} pid {pid:>7}  {'running' if pid_alive(pid) else 'STOPPED'}")
    _say(f"gateway: {state['gateway_url']}")
    return 0 if _alive(state) else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "install"])
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("KAFKA_PORT", 9092)))
    parser.add_argument("--minio-port", type=int, default=int(os.environ.get("MINIO_PORT", 9000)))
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", 8080)))
    # Two by default: on two cores a second generator process took the peak from 110 to 150
    # jobs/s (docs/benchmarks.md, make bench).
    parser.add_argument("--generators", type=int, default=int(os.environ.get("GENERATORS", 2)))
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args.kafka_port, args.minio_port, args.gateway_port, args.generators)
    if args.command == "down":
        return down()
    if args.command == "install":
        install_all()
        return 0
    return status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
