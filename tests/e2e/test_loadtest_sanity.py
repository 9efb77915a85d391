"""A few seconds of the load tool against the test stack: it reports, and nothing failed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devstack import paths


def test_load_tool_runs_and_reports(gateway_a: str, tmp_path: Path) -> None:
    out, plot = tmp_path / "load.json", tmp_path / "load.png"
    for mode in ("ws", "rest"):
        run = subprocess.run([sys.executable, "-m", "loadtest", "--url", gateway_a, "--mode", mode, "--rate", "10",
                              "--duration", "2", "--connections", "2", "--quiet", "--out", str(out), "--plot", str(plot)],
                             cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        step = json.loads(out.read_text())["steps"][0]
        assert step["sent"] == 20 and step["completed"] == 20 and step["lost"] == 0
        assert not step["failed"] and not step["rejected"]
        assert step["latency_ms"]["p50"] > 0 and "p99" in run.stdout
        assert plot.read_bytes().startswith(b"\x89PNG")
