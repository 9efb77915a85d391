"""Install the pinned Kafka jars (Maven Central), MinIO binary (Go module proxy) and the ZPL
renderer's npm package (the generator checks ZPL labels with it); Jaeger (Go module proxy) for
traces when asked (`make install-jaeger`, which `make test` and `make run TRACES=1` call).

Both steps are idempotent: a finished install leaves a marker and is reused; a broken one
(interrupted download) is redone. Progress goes to the terminal because a first install
takes minutes (Maven resolves ~50 jars, `go install` compiles MinIO).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devstack import paths


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def install_kafka() -> None:
    libs = paths.kafka_libs()
    marker = libs.parent / ".complete"
    if marker.exists():
        return
    _say(f"resolving Kafka {paths.kafka_version()} jars from Maven Central into {libs} ...")
    shutil.rmtree(libs, ignore_errors=True)
    started = time.monotonic()
    # -B without -q: Maven prints one line per downloaded artifact, which is the progress.
    subprocess.run(
        [
            "mvn", "-B", "-f", str(paths.KAFKA_POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
            "-Dorg.slf4j.simpleLogger.log.org.apache.maven.cli.transfer.Slf4jMavenTransferListener=info",
        ],
        check=True,
    )
    marker.write_text(paths.kafka_version())
    _say(f"Kafka jars ready ({len(list(libs.glob('*.jar')))} jars, {time.monotonic() - started:.0f}s)")


def install_minio() -> None:
    binary = paths.minio_binary()
    if binary.exists():
        return
    module = paths.minio_module()
    _say(f"building MinIO from {module} (first time only; several minutes on 2 cores) ...")
    build_bin = paths.LOCAL / "gobuild"
    build_bin.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    env = dict(os.environ, GOBIN=str(build_bin), CGO_ENABLED="0")
    # -v lists each package as it compiles: the progress of a long build.
    subprocess.run(["go", "install", "-v", module], check=True, env=env, cwd=paths.LOCAL)
    paths.BIN.mkdir(parents=True, exist_ok=True)
    (build_bin / "minio").replace(binary)
    _say(f"MinIO ready at {binary} ({time.monotonic() - started:.0f}s)")


def _build_tool(name: str, version: str, module_dir: Path, package: str, binary: Path, tags: str = "") -> None:
    """A Go program pinned as a tool dependency of `module_dir` (its go.mod and go.sum pin it and
    everything it uses), built once into `binary`."""
    if binary.exists():
        return
    _say(f"building {name} {version} from the Go module proxy (first time only; several minutes on 2 cores) ...")
    started = time.monotonic()
    partial = binary.with_name(binary.name + ".partial")
    binary.parent.mkdir(parents=True, exist_ok=True)
    # -mod=readonly: what go.mod and go.sum pin, checked, and nothing written into scripts/; -v: progress.
    subprocess.run(["go", "build", "-v", "-mod=readonly", *(["-tags", tags] if tags else []), "-o", str(partial), package],
                   check=True, cwd=module_dir, env={**os.environ, "CGO_ENABLED": "0"})
    partial.replace(binary)
    _say(f"{name} ready at {binary} ({time.monotonic() - started:.0f}s)")


def install_jaeger() -> None:
    """Jaeger, for traces (`make run TRACES=1`, the trace tests)."""
    _build_tool("Jaeger", paths.jaeger_version(), paths.JAEGER_MODULE_DIR, paths.JAEGER_PACKAGE, paths.jaeger_binary())


def install_prometheus() -> None:
    """Prometheus for the local cluster (k8s-test): Kubernetes service discovery only, the
    others left out by Prometheus' own build tags (a smaller, faster build)."""
    _build_tool("Prometheus", paths.prometheus_version(), paths.PROMETHEUS_MODULE_DIR, paths.PROMETHEUS_PACKAGE,
                paths.prometheus_binary(), tags="remove_all_sd,enable_kubernetes_sd")


CHROMIUM = "/usr/bin/chromium"
HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
HELM_VERSION = "v3.22.0"  # pinned; built from the Go module proxy
HELM = paths.LOCAL / "bin" / f"helm-{HELM_VERSION}"


def install_helm() -> None:
    """helm for the chart's checks in `make test` (lint, template); built once with `go install`."""
    if HELM.exists():
        return
    started = time.monotonic()
    _say(f"building helm {HELM_VERSION} from the Go module proxy (first time only; a few minutes on 2 cores) ...")
    build_dir = paths.LOCAL / "helm-build"
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    subprocess.run(["go", "install", "-v", f"{HELM_MODULE}@{HELM_VERSION}"], check=True, cwd=paths.LOCAL,
                   env={**os.environ, "GOBIN": str(build_dir), "CGO_ENABLED": "0"})
    HELM.parent.mkdir(parents=True, exist_ok=True)
    (build_dir / "helm").rename(HELM)
    shutil.rmtree(build_dir, ignore_errors=True)
    _say(f"helm ready at {HELM} ({time.monotonic() - started:.0f}s)")


# Debian packages the tests use, by a file each installs: Chromium for the page's browser tests
# (Playwright cannot download its own here), poppler-utils to rasterise the batches' label sheets.
TEST_PACKAGES = {CHROMIUM: "chromium", "/usr/bin/pdftoppm": "poppler-utils"}


def install_test_tools() -> None:
    missing = [package for path, package in TEST_PACKAGES.items() if not os.path.exists(path)]
    if not missing:
        return
    started = time.monotonic()
    _say(f"installing Debian's {', '.join(missing)} for the tests (first time only) ...")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True, env=env)
    _say(f"{', '.join(missing)} ready ({time.monotonic() - started:.0f}s)")


def install_zpl_renderer() -> None:
    """zpl-renderer-js from the npm registry into `.local/zpl/node_modules`, checked against the
    lock file (scripts/zpl/fetch_modules.py, which the service image's build runs too)."""
    target = paths.zpl_modules()
    if (target.parent / ".complete").exists() and (target.parent / ".complete").read_text() == paths.ZPL_LOCK.read_text():
        return
    _say(f"installing the ZPL renderer (zpl-renderer-js, npm registry) into {target} ...")
    started = time.monotonic()
    subprocess.run([sys.executable, str(paths.ZPL_FETCH), str(target.parent)], check=True)
    _say(f"ZPL renderer ready ({time.monotonic() - started:.0f}s)")


def install_all() -> None:
    paths.LOCAL.mkdir(parents=True, exist_ok=True)
    install_kafka()
    install_minio()
    install_zpl_renderer()


if __name__ == "__main__":
    try:
        {"test-tools": install_test_tools, "helm": install_helm, "jaeger": install_jaeger,
         "prometheus": install_prometheus}.get(
            " ".join(sys.argv[1:]), install_all)()
    except subprocess.CalledProcessError as exc:
        sys.exit(f"[devstack] install failed: {exc}")
