"""A bad setting stops a service at start with one line that names the variable, not a
traceback (the operator reads the last line of a crash-looping pod's log)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devstack import paths
from devstack.ports import free_port


@pytest.mark.parametrize(("module", "variable"), [
    ("services.router", "BARCODE_KAFKA_START_WAIT_SECONDS"),
    ("services.notifier", "BARCODE_KAFKA_START_WAIT_SECONDS"),
    ("services.generator", "BARCODE_KAFKA_START_WAIT_SECONDS"),
    # Read by the stage runtime's own start (services/kafka/stage.py), not by their settings.
    ("services.router", "BARCODE_DRAIN_SECONDS"),
    ("services.generator", "BARCODE_DRAIN_SECONDS"),
    # The batcher starts through the same process entry (stage/main.start_process).
    ("services.batcher", "BARCODE_KAFKA_START_WAIT_SECONDS"),
    ("services.batcher", "BARCODE_DRAIN_SECONDS"),
    ("services.batcher", "BATCHER_WINDOW"),
])
def test_a_bad_variable_exits_with_one_line_naming_it(module: str, variable: str) -> None:
    env = {**os.environ, variable: "abc", "BARCODE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    done = subprocess.run([sys.executable, "-m", module], env=env, cwd=paths.ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert variable in lines[0] and lines[0].startswith("configuration error:")
