"""The pipeline's services as child processes of the local stack, and their names, which the
stack, the image checks and the cluster suite read from here."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack import paths
from devstack.minio import ACCESS_KEY, SECRET_KEY
from devstack.process import spawn, stop_child, wait_until

GATEWAY = "gateway"
# Every job passes these stages, in this order: the pods the cluster suite deletes under load.
JOB_STAGES = ("router", "generator", "notifier")
# The Kafka services (`python -m services.<name>`), each serving <NAME>_HEALTH_PORT.
WORKERS = (*JOB_STAGES, "batcher")
SERVICES = (GATEWAY, *WORKERS)


def service_env(bootstrap: str, s3_endpoint: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    # The caller's BARCODE_*/GATEWAY_*/... settings pass through (e.g. `BARCODE_PARTITIONS=8
    # make run`); where the stack's servers are is decided here.
    env = dict(os.environ)
    env.update(
        BARCODE_KAFKA_BOOTSTRAP=bootstrap,
        BARCODE_S3_ENDPOINT=s3_endpoint,
        BARCODE_S3_ACCESS_KEY=ACCESS_KEY,
        BARCODE_S3_SECRET_KEY=SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    # The generator checks ZPL labels with the renderer `make install` put here.
    env.setdefault("ZPL_RENDERER_MODULES", str(paths.zpl_modules()))
    env.update(extra or {})
    return env


def _ready_marker(name: str) -> str:
    """The log line that says a worker is up: every Kafka service (services/kafka) logs "<name> ready"."""
    return f"{name} ready"


@dataclass
class ServiceProcess:
    name: str  # one of SERVICES
    env: dict[str, str]
    log_path: Path
    port: int | None = None  # gateways only
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # Held by start, stop, kill and the supervisor's check-and-restart (devstack.process.Supervisor):
    # a fault's kill in one thread and a restart in another must not make two processes.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True, timeout: float = 60.0) -> None:
        env = dict(self.env)
        if self.port is not None:
            env.update(GATEWAY_PORT=str(self.port), GATEWAY_HOST="127.0.0.1")
        with self.lock:
            self.proc = spawn([sys.executable, "-m", f"services.{self.name}"], self.log_path, env=env, cwd=paths.ROOT)
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        ready = self._gateway_ready if self.port is not None else self._log_says_ready
        wait_until(ready, self.proc, timeout, self.name, self.log_path)

    def _gateway_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _log_says_ready(self) -> bool:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        marker = _ready_marker(self.name)
        return text.count(marker) > self._ready_seen

    _ready_seen: int = 0

    def mark_log(self) -> None:
        """Call before a restart so readiness waits for a new ready line."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        marker = _ready_marker(self.name)
        self._ready_seen = text.count(marker)

    def stop(self, timeout: float = 20.0) -> None:
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                stop_child(self.proc, timeout)
            self.proc = None

    def kill(self) -> None:
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
            if self.proc is not None:
                self.proc.wait()
            self.proc = None
