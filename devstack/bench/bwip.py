"""The reference render server for `make bench`: bwip-js (npm, pinned in scripts/bwip/) behind
Node's http module, installed under .local/bwip with `npm ci` and started on loopback, as one
process or as a Node cluster of several behind one port."""
from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

from devstack import paths
from devstack.ports import free_port
from devstack.process import spawn, stop_child, wait_until

SOURCES = paths.ROOT / "scripts" / "bwip"
PREFIX = paths.LOCAL / "bwip"


def install() -> Path:
    """`npm ci` from the committed lock file; reused while the lock file is unchanged."""
    lock = (SOURCES / "package-lock.json").read_text()
    marker = PREFIX / ".complete"
    if marker.exists() and marker.read_text() == lock:
        return PREFIX / "node_modules"
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed for the bwip-js reference server (Node 18 or newer)")
    print("[devstack] installing bwip-js (npm ci) ...", flush=True)
    PREFIX.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(SOURCES / name, PREFIX / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PREFIX, check=True)
    marker.write_text(lock)
    return PREFIX / "node_modules"


class BwipServer:
    def __init__(self, log_path: Path, port: int | None = None, workers: int = 1) -> None:
        self.port = port or free_port()
        self.workers = workers
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def start(self) -> None:
        modules = install()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = spawn(["node", str(SOURCES / "server.js"), str(self.port), str(self.workers)], self.log_path,
                          env={**os.environ, "NODE_PATH": str(modules)})
        wait_until(lambda: self._healthy() and len(self.pids()) == self.workers + (self.workers > 1),
                   self.proc, 30, "bwip-js", self.log_path)

    def pids(self) -> dict[str, int]:
        """Every process serving (a cluster's primary and its workers), by name, for CPU accounting."""
        if self.proc is None:
            return {}
        out = {"bwip-js": self.proc.pid}
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        for n, pid in enumerate(children.read_text().split() if children.exists() else (), start=1):
            out[f"bwip-js-{n}"] = int(pid)
        return out

    def stop(self) -> None:
        if self.proc is not None:
            stop_child(self.proc)
            self.proc = None
