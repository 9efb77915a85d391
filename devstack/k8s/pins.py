"""Every pinned part of the local cluster, in one place: a change here rebuilds exactly that part.

Binaries land in `.local/k8s-bin/<name>-<version>/`, keyed by version, so a second `make k8s-up`
reuses them and a new pin builds beside the old one.

The cluster is minikube (`--driver=none`), which runs kubeadm, which asks for the images of
`kubeadm config images list --kubernetes-version v1.36.3`: etcd and CoreDNS are pinned to
those versions, built here and imported under those names (no registry can be pulled from).
"""
from __future__ import annotations

from dataclasses import dataclass

from devstack import paths

KUBERNETES = "v1.36.3"
MINIKUBE = "v1.38.1"
MINIKUBE_ISO = "v1.38.0"  # what its Makefile stamps beside the version; the none driver uses no ISO
STORAGE_PROVISIONER = "v5"  # the addon's image tag that minikube v1.38.1 deploys
CRICTL = "v1.37.0"
ETCD = "v3.6.8"  # kubeadm v1.36.3's etcd image: registry.k8s.io/etcd:3.6.8-0
COREDNS = "v1.14.2"  # kubeadm v1.36.3's registry.k8s.io/coredns/coredns:v1.14.2
PAUSE = ("3.10.2", "3.10.1")  # kubeadm's sandbox image, and the one containerd's default config names

# The Kubernetes binaries built in one `go build` of k8s.io/kubernetes.
KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl",
                 "kubeadm")


@dataclass(frozen=True)
class GoBuild:
    """One pinned Go build: `require` the module at `version`, build `packages` into a versioned folder."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    ldflags: tuple[str, ...] = ()  # -X stamps beyond `-s -w` (the Kubernetes ones are computed)
    cgo: bool = False
    tags: str = ""
    replaces: tuple[str, ...] = ()  # go.mod replace lines beyond the Kubernetes staging ones

    @property
    def bin_dir(self):  # type: ignore[no-untyped-def]
        return paths.LOCAL / "k8s-bin" / f"{self.name}-{self.version}"


KUBE = GoBuild("kubernetes", "k8s.io/kubernetes", KUBERNETES, tuple(f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS))
ETCD_BUILD = GoBuild("etcd", "go.etcd.io/etcd/server/v3", ETCD, ("go.etcd.io/etcd/server/v3",))
COREDNS_BUILD = GoBuild("coredns", "github.com/coredns/coredns", COREDNS, ("github.com/coredns/coredns",))
CRICTL_BUILD = GoBuild("crictl", "sigs.k8s.io/cri-tools", CRICTL, ("sigs.k8s.io/cri-tools/cmd/crictl",))
# As minikube's own Makefile builds it: cgo with libvirt loaded at run time (the kvm driver's
# code is compiled in either way), and stamped: an unstamped build wrote a storage-provisioner
# addon manifest without its image tag.
MINIKUBE_BUILD = GoBuild(
    "minikube", "k8s.io/minikube", MINIKUBE, ("k8s.io/minikube/cmd/minikube",),
    ldflags=(f"k8s.io/minikube/pkg/version.version={MINIKUBE}", f"k8s.io/minikube/pkg/version.isoVersion={MINIKUBE_ISO}",
             f"k8s.io/minikube/pkg/version.storageProvisionerVersion={STORAGE_PROVISIONER}"),
    cgo=True, tags="libvirt_dlopen")
# The addon's image was built with the client-go of its day. Its provisioner library
# (sig-storage-lib-external-provisioner v6) takes its leader lock on an Endpoints object, which
# client-go since v0.24 refuses ("endpoints lock is removed"): built against minikube v1.38.1's
# own dependencies it exits at start. So its Kubernetes client libraries are the last ones
# that still take that lock (the library asks for v0.19; the API server serves Endpoints still).
PROVISIONER_BUILD = GoBuild(
    "storage-provisioner", "k8s.io/minikube", MINIKUBE, ("k8s.io/minikube/cmd/storage-provisioner",),
    ldflags=(f"k8s.io/minikube/pkg/storage.version={STORAGE_PROVISIONER}",),
    replaces=("k8s.io/api => k8s.io/api v0.23.17", "k8s.io/apimachinery => k8s.io/apimachinery v0.23.17",
              "k8s.io/client-go => k8s.io/client-go v0.23.17",
              "k8s.io/kube-openapi => k8s.io/kube-openapi v0.0.0-20211115234752-e816edb12b65"))
BUILDS = (KUBE, ETCD_BUILD, COREDNS_BUILD, CRICTL_BUILD, MINIKUBE_BUILD, PROVISIONER_BUILD)
