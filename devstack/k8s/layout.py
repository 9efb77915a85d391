"""Where the local cluster lives on the host.

Everything is under `.local/k8s/`: the minikube namespace's folders (box/), minikube's home
(its profile and binary cache), the image builder's data. The host reaches the cluster through
`KUBECONFIG` (the API server on a loopback port, devstack/k8s/box.py) and the pinned `KUBECTL`.
"""
from __future__ import annotations

from pathlib import Path

from devstack import paths

ROOT: Path = paths.LOCAL / "k8s"
KUBECONFIG = ROOT / "kubeconfig"  # admin credentials, the path the docs and scripts use
KUBECTL = paths.BIN / "kubectl"
NAMESPACE = "barcode"
