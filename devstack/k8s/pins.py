"""Every pinned part of the local cluster, in one place: a change here rebuilds exactly that part.

Binaries land in `.local/k8s-bin/<name>-<version>/`, keyed by version, so a second `make k8s-up`
reuses them and a new pin builds beside the old one.
"""
from __future__ import annotations

from dataclasses import dataclass

from devstack import paths

KUBERNETES = "v1.36.3"
ETCD = "v3.6.16"
COREDNS = "v1.15.0"

# The six binaries built in one `go build` of k8s.io/kubernetes.
KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")


@dataclass(frozen=True)
class GoBuild:
    """One pinned Go build: `require` the module at `version`, build `packages` into a versioned folder."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]

    @property
    def bin_dir(self):  # type: ignore[no-untyped-def]
        return paths.LOCAL / "k8s-bin" / f"{self.name}-{self.version}"


KUBE = GoBuild("kubernetes", "k8s.io/kubernetes", KUBERNETES, tuple(f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS))
ETCD_BUILD = GoBuild("etcd", "go.etcd.io/etcd/server/v3", ETCD, ("go.etcd.io/etcd/server/v3",))
COREDNS_BUILD = GoBuild("coredns", "github.com/coredns/coredns", COREDNS, ("github.com/coredns/coredns",))
BUILDS = (KUBE, ETCD_BUILD, COREDNS_BUILD)
