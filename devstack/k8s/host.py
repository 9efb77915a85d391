"""What the host needs before a cluster can start: Debian packages, root, kernel features.

`make k8s-up` installs the packages itself (a fresh machine has none of them) and fails with
the reason when something cannot be had, so `make k8s-test` never skips silently.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devstack.k8s import say

# command that must exist -> the Debian package that brings it
PACKAGES = {
    "/usr/sbin/dockerd": "docker.io",
    "/usr/bin/containerd": "containerd",
    "/usr/sbin/runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "/usr/sbin/iptables": "iptables",
    "/usr/sbin/debootstrap": "debootstrap",
    "/usr/sbin/conntrack": "conntrack",
    "/usr/bin/openssl": "openssl",
    "/usr/bin/gs": "ghostscript",  # the smoke test decodes EPS files
    # minikube's none driver runs its commands with sudo and checks for these.
    "/usr/bin/sudo": "sudo",
    "/usr/bin/socat": "socat",  # also the host's bridge to the API server (devstack/k8s/box.py)
    "/usr/sbin/ethtool": "ethtool",
}


class HostNotReady(RuntimeError):
    """The machine cannot run the local cluster; the message says why."""


def missing_packages(exists=os.path.exists) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted({package for path, package in PACKAGES.items() if not exists(path)})


def ensure_packages() -> None:
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise HostNotReady(f"the local cluster needs root (to install {', '.join(missing)} and make a bridge)")
    say(f"installing Debian packages: {' '.join(missing)} (first time only, about 30 s) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True, env=env)


def preflight() -> None:
    """Refuse loudly, with the reason, where the cluster cannot start."""
    if os.geteuid() != 0:
        raise HostNotReady("the local cluster needs root: it makes a bridge, routes, iptables rules and mounts")
    if shutil.which("go") is None:
        raise HostNotReady("Go is needed to build the pinned Kubernetes binaries from the Go module proxy")
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        subprocess.run(["modprobe", "br_netfilter"], check=False)
        if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
            raise HostNotReady("br_netfilter is not available: Services between pods on one bridge would not work")
    if not Path("/sys/fs/cgroup/memory").is_dir() and not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        raise HostNotReady("no memory cgroup: the kubelet cannot limit pods")


def own_memory_cgroup(proc_cgroup: str) -> str:
    """This process's memory cgroup (v1) from /proc/self/cgroup text; '/' when at the root.

    The kubelet's cgroupRoot goes under it, so pods stay inside whatever limits this machine
    set for us.
    """
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path or "/"
    return "/"
