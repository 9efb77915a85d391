"""Jaeger (the v2 `jaeger` program, pinned, built from the Go module proxy) on loopback: the
trace backend of `make run TRACES=1` and of the trace tests.

It takes OTLP over HTTP (the services' BARCODE_OTLP_ENDPOINT) and keeps traces in memory; its
query API and UI answer on `ui_port`. Every listener it opens is named in the config written
here, each on 127.0.0.1 (its defaults listen on every address).
"""
from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.ports import free_port
from devstack.process import spawn, stop_child, wait_until

CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{ui_port}
    grpc:
      endpoint: 127.0.0.1:{query_grpc_port}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


@dataclass
class JaegerServer:
    root: Path
    otlp_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    query_grpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def otlp_endpoint(self) -> str:
        """What BARCODE_OTLP_ENDPOINT is set to (the exporter adds /v1/traces)."""
        return f"http://127.0.0.1:{self.otlp_port}"

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def log_path(self) -> Path:
        return self.root / "jaeger.log"

    def start(self, timeout: float = 60.0) -> None:
        binary = paths.jaeger_binary()
        if not binary.exists():
            raise RuntimeError(f"{binary} missing; run `make install-jaeger` first")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "jaeger.yaml"
        config.write_text(CONFIG.format(ui_port=self.ui_port, query_grpc_port=self.query_grpc_port,
                                        otlp_port=self.otlp_port))
        self.proc = spawn([str(binary), f"--config={config}"], self.log_path)
        wait_until(self.is_ready, self.proc, timeout, "Jaeger", self.log_path)

    def is_ready(self) -> bool:
        try:
            self.api("/api/services")
            return True
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def api(self, path: str, **query: str) -> Any:
        """GET on Jaeger's query API (the UI's own), decoded."""
        url = f"{self.ui}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())

    def traces_of_job(self, job_id: str, service: str = "barcode-gateway") -> list[dict[str, Any]]:
        """The traces with a span tagged job.id=`job_id` in `service` (Jaeger's search: a trace
        comes back whole, every service's spans in it)."""
        found = self.api("/api/traces", service=service, tags=json.dumps({"job.id": job_id}), lookback="1h",
                         limit="20")
        return list(found.get("data") or [])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_child(self.proc)
        self.proc = None
