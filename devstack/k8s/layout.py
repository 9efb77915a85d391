"""Where the local cluster lives and which addresses it owns.

Everything is under `.local/k8s/`; the network names are fixed so that `k8s-down` can remove
them even when the state of an earlier run was lost.
"""
from __future__ import annotations

from pathlib import Path

from devstack import paths

ROOT: Path = paths.LOCAL / "k8s"
KUBECONFIG = ROOT / "kubeconfig"  # admin credentials, the path the docs and scripts use
KUBECTL = paths.BIN / "kubectl"
PKI = ROOT / "pki"
LOGS = ROOT / "logs"
PIDS = ROOT / "pids"
ETCD_DATA = ROOT / "etcd"
CONTAINERD = ROOT / "containerd"
CONTAINERD_SOCKET = CONTAINERD / "containerd.sock"
CNI_CONF = ROOT / "cni"
KUBELET_ROOT = ROOT / "kubelet"
VOLUMES = ROOT / "volumes"

# The cluster's own addresses. Pods live on BRIDGE in POD_SUBNET; the API server listens on the
# bridge's gateway address so pods reach it; Services get ClusterIPs in SERVICE_RANGE.
BRIDGE = "bpk8s0"
POD_SUBNET = "10.244.0.0/24"
POD_RANGE = "10.244.0.0/16"  # blackholed outside the bridge's /24
BRIDGE_IP = "10.244.0.1"
SERVICE_RANGE = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CNI_NETWORK = "barcode-k8s"

ETCD_PORT = 23790
ETCD_PEER_PORT = 23800
API_PORT = 6443
API_URL = f"https://{BRIDGE_IP}:{API_PORT}"
NODE_NAME = "localhost"  # kubelet refuses a loopback node IP; the apiserver resolves this name
NAMESPACE = "barcode"
STORAGE_CLASS = "local-node"
