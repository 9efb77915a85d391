"""A MinIO server from the pinned binary, its data in one folder, bound to loopback."""
from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack import paths
from devstack.ports import free_port
from devstack.process import spawn, stop_child, wait_until

ACCESS_KEY = "barcode"
SECRET_KEY = "barcode-secret-key"


@dataclass
class MinioServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    console_port: int = field(default_factory=free_port)
    # Environment over the defaults below (`make bench-servers` tries candidates).
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "minio.log"

    def start(self, timeout: float = 60.0) -> None:
        binary = paths.minio_binary()
        if not binary.exists():
            raise RuntimeError(f"{binary} missing; run `make install` first")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            MINIO_ROOT_USER=ACCESS_KEY,
            MINIO_ROOT_PASSWORD=SECRET_KEY,
            MINIO_BROWSER="off",
            MINIO_UPDATE="off",
        )
        env.update(self.extra_env)
        self.proc = spawn(
            [str(binary), "server", "--quiet", "--address", f"127.0.0.1:{self.port}",
             "--console-address", f"127.0.0.1:{self.console_port}", str(self.data_dir)],
            self.log_path, env=env,
        )
        wait_until(self.is_ready, self.proc, timeout, "MinIO", self.log_path)

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/minio/health/ready", timeout=1) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_child(self.proc)
        self.proc = None
