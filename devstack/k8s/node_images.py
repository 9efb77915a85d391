"""The images minikube and kubeadm run the cluster from, built here under the names they expect.

`kubeadm config images list --kubernetes-version v1.36.3` names the control plane, etcd, CoreDNS
and the pause image; minikube adds its storage-provisioner addon. No registry can be pulled
from, so each is the pinned binary (devstack/k8s/build.py) in an image of its own, tagged with
the upstream name and imported into the cluster's containerd before `minikube start`, which
then finds every image present (`--cache-images=false`: it never tries to fetch one).

| image | from | what |
|---|---|---|
| registry.k8s.io/kube-{apiserver,controller-manager,scheduler}:v1.36.3 | scratch | the static binary in /usr/local/bin |
| registry.k8s.io/kube-proxy:v1.36.3 | the Debian base + iptables, conntrack | kube-proxy programs iptables |
| registry.k8s.io/etcd:3.6.8-0 | scratch | etcd in /usr/local/bin |
| registry.k8s.io/coredns/coredns:v1.14.2 | scratch | /coredns, as kubeadm's Deployment runs it |
| registry.k8s.io/pause:3.10.2 (and 3.10.1) | the pause image of devstack/k8s/images | the pod sandbox |
| gcr.io/k8s-minikube/storage-provisioner:v5 | scratch | /storage-provisioner (the default StorageClass) |
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.k8s import build as gobuild
from devstack.k8s import docker, images, pins, say

K8S = "registry.k8s.io"


@dataclass(frozen=True)
class NodeImage:
    ref: str
    binary: Path
    path: str  # where the binary goes in the image
    packages: tuple[str, ...] = ()  # Debian packages beside it: on the Debian base, else scratch

    def dockerfile(self) -> str:
        lines = ["ARG BASE=scratch", "FROM ${BASE}"]
        if self.packages:
            lines.append("RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                         f"--no-install-recommends {' '.join(self.packages)} && rm -rf /var/lib/apt/lists/*")
        lines += ["ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  f"COPY {Path(self.path).name} {self.path}", f'ENTRYPOINT ["{self.path}"]']
        return "\n".join(lines) + "\n"


def node_images() -> list[NodeImage]:
    kube = Path(pins.KUBE.bin_dir)
    control = [NodeImage(f"{K8S}/{name}:{pins.KUBERNETES}", kube / name, f"/usr/local/bin/{name}")
               for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")]
    return [
        *control,
        NodeImage(f"{K8S}/kube-proxy:{pins.KUBERNETES}", kube / "kube-proxy", "/usr/local/bin/kube-proxy",
                  ("iptables", "conntrack", "ipset", "kmod")),
        NodeImage(f"{K8S}/etcd:{pins.ETCD.removeprefix('v')}-0", Path(pins.ETCD_BUILD.bin_dir) / "etcd",
                  "/usr/local/bin/etcd"),
        NodeImage(f"{K8S}/coredns/coredns:{pins.COREDNS}", Path(pins.COREDNS_BUILD.bin_dir) / "coredns", "/coredns"),
        NodeImage(f"gcr.io/k8s-minikube/storage-provisioner:{pins.STORAGE_PROVISIONER}",
                  Path(pins.PROVISIONER_BUILD.bin_dir) / "storage-provisioner", "/storage-provisioner"),
    ]


def pause_refs() -> list[str]:
    return [f"{K8S}/pause:{version}" for version in pins.PAUSE]


def _build(image: NodeImage, base_id: str) -> None:
    if not image.packages and not images.is_static_elf(image.binary):
        raise RuntimeError(f"{image.binary} is dynamically linked; {image.ref} is built FROM scratch")
    images.binary_image(image.ref, image.dockerfile(), image.binary, Path(image.path).name, base_id,
                        on_base=bool(image.packages), context_name=image.ref.rsplit("/", 1)[-1].replace(":", "-"))


def build_node_images() -> list[str]:
    """Every image of the node, built where stale; their refs (pause under both tags)."""
    for spec in (pins.KUBE, pins.ETCD_BUILD, pins.COREDNS_BUILD, pins.PROVISIONER_BUILD):
        gobuild.build(spec)
    docker.start()
    base_id = images.build_base()
    refs = []
    for image in node_images():
        _build(image, base_id)
        refs.append(image.ref)
    images.build_pause(base_id)
    for ref in pause_refs():
        docker.docker("tag", images.PAUSE, ref, capture=True)
        refs.append(ref)
    say(f"{len(refs)} node images ready")
    return refs
