"""Build the cluster's Go binaries from the Go module proxy, once per pinned version.

`go install k8s.io/kubernetes/cmd/...@v` is refused (its go.mod has replace directives), so each
build is a small local module that requires the pinned module and, for Kubernetes, repeats its
staging replaces as published versions (`k8s.io/api => k8s.io/api v0.36.3`). The replace list is
read from the pinned go.mod itself, so a new pin needs no edit here.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from devstack import paths
from devstack.k8s import say
from devstack.k8s.pins import BUILDS, KUBE, GoBuild

_STAGING = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", re.MULTILINE)


def staging_replaces(kubernetes_go_mod: str, version: str) -> list[str]:
    """`k8s.io/x => ./staging/...` lines of k8s.io/kubernetes's go.mod, as published-version replaces.

    Staging repos are published as v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>.
    """
    staging_version = "v0." + version.removeprefix("v").split(".", 1)[1]
    return [f"{name} => {name} {staging_version}" for name in sorted(set(_STAGING.findall(kubernetes_go_mod)))]


def version_ldflags(version: str) -> str:
    """Stamp the version, or kubectl and helm cannot parse the server's (`v0.0.0-master+$Format:%H$`)."""
    major, minor = version.removeprefix("v").split(".")[:2]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.gitVersion={version}", f"-X {package}.gitMajor={major}", f"-X {package}.gitMinor={minor}",
                  # kubeadm reads these too, and refuses a dirty tree's version for its images.
                  f"-X {package}.gitTreeState=clean", f"-X {package}.buildDate=1970-01-01T00:00:00Z"]
    return " ".join(flags)


def _go(args: list[str], cwd: Path, cgo: bool = False) -> None:
    subprocess.run(["go", *args], cwd=cwd, check=True,
                   env={**os.environ, "CGO_ENABLED": "1" if cgo else "0", "GOFLAGS": "-mod=mod"})


def _module_go_mod(module: str, version: str, cwd: Path) -> str:
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout
    return Path(json.loads(out)["GoMod"]).read_text()


def build(spec: GoBuild) -> Path:
    """Build `spec` unless its versioned folder is complete; returns that folder."""
    done = spec.bin_dir / ".complete"
    if done.exists():
        return spec.bin_dir
    started = time.monotonic()
    say(f"building {spec.name} {spec.version} from the Go module proxy (first time only; "
        f"{'about 6 minutes' if spec is KUBE else 'a minute or two'} on 2 cores) ...")
    work = paths.LOCAL / "k8s-build" / f"{spec.name}-{spec.version}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    go_mod = [f"module local/{spec.name}build", "", "go 1.26", "", f"require {spec.module} {spec.version}"]
    replaces = list(spec.replaces)
    if spec.module == KUBE.module:
        replaces += staging_replaces(_module_go_mod(spec.module, spec.version, work), spec.version)
    if replaces:
        go_mod += ["", "replace (", *(f"\t{r}" for r in replaces), ")"]
    (work / "go.mod").write_text("\n".join(go_mod) + "\n")
    _go(["get", *(f"{p}@{spec.version}" for p in spec.packages)], work)
    ldflags = version_ldflags(spec.version) if spec.module == KUBE.module else "-s -w"
    ldflags = " ".join([ldflags, *(f"-X {stamp}" for stamp in spec.ldflags)])
    staging = spec.bin_dir.with_name(spec.bin_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # One package: the binary is named after the build (etcd's main package would be "server").
    output = str(staging / spec.name) if len(spec.packages) == 1 else str(staging) + "/"
    # -v lists each package as it compiles: the progress of a long build.
    tags = ["-tags", spec.tags] if spec.tags else []
    _go(["build", "-v", "-trimpath", *tags, "-ldflags", ldflags, "-o", output, *spec.packages], work, spec.cgo)
    (staging / ".complete").write_text(spec.version)
    shutil.rmtree(spec.bin_dir, ignore_errors=True)
    staging.rename(spec.bin_dir)
    shutil.rmtree(work, ignore_errors=True)
    say(f"{spec.name} {spec.version} ready in {spec.bin_dir} ({time.monotonic() - started:.0f}s)")
    return spec.bin_dir


def build_all() -> None:
    for spec in BUILDS:
        build(spec)
    link_kubectl()


def link_kubectl() -> None:
    """`.local/bin/kubectl`: the path the docs and scripts use, pointing at the pinned build."""
    paths.BIN.mkdir(parents=True, exist_ok=True)
    link = paths.BIN / "kubectl"
    link.unlink(missing_ok=True)
    link.symlink_to(KUBE.bin_dir / "kubectl")


if __name__ == "__main__":
    build_all()
