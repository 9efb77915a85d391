"""Where the local stack keeps everything: one ignored folder, `.local/`, at the repo root."""
from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("BARCODE_LOCAL_DIR", ROOT / ".local"))
BIN = LOCAL / "bin"
RUN = LOCAL / "run"  # state of `make run`: data dirs, logs, pid file
KAFKA_POM = ROOT / "scripts" / "kafka" / "pom.xml"
MINIO_VERSION_FILE = ROOT / "scripts" / "minio.version"
ZPL_FETCH = ROOT / "scripts" / "zpl" / "fetch_modules.py"
ZPL_LOCK = ROOT / "scripts" / "zpl" / "package-lock.json"
# Jaeger is a Go tool dependency of this module: go.mod and go.sum pin it and everything it uses.
JAEGER_MODULE_DIR = ROOT / "scripts" / "jaeger"
JAEGER_PACKAGE = "github.com/jaegertracing/jaeger/cmd/jaeger"
# Prometheus for the local cluster, the same way (scripts/prometheus/go.mod, go.sum).
PROMETHEUS_MODULE_DIR = ROOT / "scripts" / "prometheus"
PROMETHEUS_PACKAGE = "github.com/prometheus/prometheus/cmd/prometheus"


def kafka_version() -> str:
    """The pinned Kafka version lives in the pom only, so it cannot drift from the jars."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", KAFKA_POM.read_text())
    if match is None:
        raise RuntimeError(f"no <kafka.version> in {KAFKA_POM}")
    return match.group(1)


def kafka_libs() -> Path:
    return LOCAL / f"kafka-{kafka_version()}" / "libs"


def minio_module() -> str:
    return MINIO_VERSION_FILE.read_text().strip()


def minio_binary() -> Path:
    # The version is part of the file name so a new pin triggers a rebuild.
    version = minio_module().rsplit("@", 1)[1]
    return BIN / f"minio-{version}"


def zpl_modules() -> Path:
    """The ZPL renderer's node_modules (the generator's ZPL_RENDERER_MODULES)."""
    return LOCAL / "zpl" / "node_modules"


def _tool_version(module_dir: Path, module: str) -> str:
    """The version a tool module's go.mod requires of `module` (the tool's own)."""
    match = re.search(rf"^\s*{re.escape(module)} (v\S+)", (module_dir / "go.mod").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no {module} requirement in {module_dir / 'go.mod'}")
    return match.group(1)


def jaeger_version() -> str:
    return _tool_version(JAEGER_MODULE_DIR, "github.com/jaegertracing/jaeger")


def jaeger_binary() -> Path:
    return BIN / f"jaeger-{jaeger_version()}"


def prometheus_version() -> str:
    return _tool_version(PROMETHEUS_MODULE_DIR, "github.com/prometheus/prometheus")


def prometheus_binary() -> Path:
    return BIN / f"prometheus-{prometheus_version()}"
