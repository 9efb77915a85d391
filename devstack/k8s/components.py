"""The cluster's processes: their command lines and configuration files, as pure functions.

Kept apart from starting and stopping (`cluster.py`) so the flags that matter (and the reasons
for them, from ../shared/notes/kubernetes-local.md) can be read and unit-tested in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.k8s import layout
from devstack.k8s.pins import ETCD_BUILD, KUBE


@dataclass(frozen=True)
class Component:
    name: str
    argv: tuple[str, ...]


def _kube(binary: str) -> str:
    return str(KUBE.bin_dir / binary)


def etcd() -> Component:
    return Component("etcd", (
        str(ETCD_BUILD.bin_dir / "etcd"), "--name", "local", "--data-dir", str(layout.ETCD_DATA),
        "--listen-client-urls", f"http://127.0.0.1:{layout.ETCD_PORT}",
        "--advertise-client-urls", f"http://127.0.0.1:{layout.ETCD_PORT}",
        "--listen-peer-urls", f"http://127.0.0.1:{layout.ETCD_PEER_PORT}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{layout.ETCD_PEER_PORT}",
        "--initial-cluster", f"local=http://127.0.0.1:{layout.ETCD_PEER_PORT}",
        "--listen-metrics-urls", "", "--log-level", "warn",
        # The default 2 GB quota and frequent snapshots are for real clusters; keep the disk small.
        "--quota-backend-bytes", str(1 << 30), "--snapshot-count", "10000",
    ))


def apiserver() -> Component:
    pki = layout.PKI
    return Component("kube-apiserver", (
        _kube("kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{layout.ETCD_PORT}",
        # On the bridge's own address, not loopback: pods reach the API (and the `kubernetes`
        # Service's endpoint) there.
        f"--bind-address={layout.BRIDGE_IP}", f"--advertise-address={layout.BRIDGE_IP}",
        f"--secure-port={layout.API_PORT}",
        f"--service-cluster-ip-range={layout.SERVICE_RANGE}",
        f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}", f"--token-auth-file={pki / 'tokens.csv'}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        # The node is called `localhost` (kubelet refuses a loopback node IP): reach it by name.
        "--kubelet-preferred-address-types=Hostname,InternalIP",
        "--enable-admission-plugins=NodeRestriction",
        "--profiling=false", "--v=1",
    ))


def controller_manager() -> Component:
    return Component("kube-controller-manager", (
        _kube("kube-controller-manager"),
        f"--kubeconfig={layout.KUBECONFIG}",
        f"--authentication-kubeconfig={layout.KUBECONFIG}", f"--authorization-kubeconfig={layout.KUBECONFIG}",
        "--bind-address=127.0.0.1", "--leader-elect=false",
        f"--service-account-private-key-file={layout.PKI / 'sa.key'}",
        f"--root-ca-file={layout.PKI / 'ca.crt'}",
        f"--service-cluster-ip-range={layout.SERVICE_RANGE}",
        "--use-service-account-credentials=true", "--profiling=false", "--v=1",
    ))


def scheduler() -> Component:
    return Component("kube-scheduler", (
        _kube("kube-scheduler"),
        f"--kubeconfig={layout.KUBECONFIG}",
        f"--authentication-kubeconfig={layout.KUBECONFIG}", f"--authorization-kubeconfig={layout.KUBECONFIG}",
        "--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false", "--v=1",
    ))


def containerd_config(pause_image: str) -> str:
    c = layout.CONTAINERD
    return f"""version = 2
root = "{c / 'root'}"
state = "{c / 'state'}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{layout.CONTAINERD_SOCKET}"

[ttrpc]
  address = "{c / 'containerd.sock.ttrpc'}"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  # Without it every sandbox fails here ("can't get final child's PID from pipe: EOF"):
  # this host lacks CAP_SYS_RESOURCE, so an oom_score_adj below ours cannot be set.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{layout.CNI_CONF}"
"""


def cni_conflist() -> str:
    """A bridge with host-local addresses; no masquerade: pods have no way out of the bridge."""
    return f"""{{
  "cniVersion": "1.0.0",
  "name": "{layout.CNI_NETWORK}",
  "plugins": [
    {{
      "type": "bridge", "bridge": "{layout.BRIDGE}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {{"type": "host-local", "ranges": [[{{"subnet": "{layout.POD_SUBNET}", "gateway": "{layout.BRIDGE_IP}"}}]],
               "routes": [{{"dst": "0.0.0.0/0"}}]}}
    }},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}}}
  ]
}}
"""


def kubelet_config(cgroup_root: str) -> str:
    pki = layout.PKI
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: {pki / 'kubelet.crt'}
tlsPrivateKeyFile: {pki / 'kubelet.key'}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: {pki / 'ca.crt'}}}
authorization: {{mode: AlwaysAllow}}
containerRuntimeEndpoint: unix://{layout.CONTAINERD_SOCKET}
# cgroup v1 host without systemd: cgroupfs, and v1 allowed explicitly (deprecated upstream).
cgroupDriver: cgroupfs
failCgroupV1: false
# Under this process's own memory cgroup, so pods stay inside the machine's limits for us.
cgroupRoot: {cgroup_root}
failSwapOn: false
clusterDNS: [{layout.DNS_SERVICE_IP}]
clusterDomain: cluster.local
# Pods that ask for the node's resolver get one that answers nothing: no lookup leaves the host.
resolvConf: {layout.ROOT / 'resolv.conf'}
# Images are imported, never pulled (there is no registry): garbage collection must not drop them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}}
serializeImagePulls: false
maxPods: 60
"""


def kubelet() -> Component:
    return Component("kubelet", (
        _kube("kubelet"),
        f"--config={layout.ROOT / 'kubelet.yaml'}",
        f"--kubeconfig={layout.PKI / 'kubelet.kubeconfig'}",
        f"--root-dir={layout.KUBELET_ROOT}",
        f"--hostname-override={layout.NODE_NAME}",
        f"--node-ip={layout.BRIDGE_IP}",
        "--v=1",
    ))


def kube_proxy_config() -> str:
    return f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {layout.KUBECONFIG}}}
mode: iptables
hostnameOverride: {layout.NODE_NAME}
clusterCIDR: {layout.POD_SUBNET}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# NodePorts only on the bridge address: on loopback they would need route_localnet.
nodePortAddresses: ["{layout.BRIDGE_IP}/32"]
# Leave the host's conntrack sysctls alone (0 = do not set): they are not ours to change.
conntrack: {{maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}}
"""


def kube_proxy() -> Component:
    return Component("kube-proxy", (_kube("kube-proxy"), f"--config={layout.ROOT / 'kube-proxy.yaml'}", "--v=1"))


def containerd() -> Component:
    return Component("containerd", ("/usr/bin/containerd", "--config", str(layout.CONTAINERD / "config.toml")))


def write_if_changed(path: Path, text: str) -> bool:
    """Write only a changed file: kube-proxy exits when its configuration file is written to,
    even with the same content, so a second `k8s-up` must leave it alone."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def write_configs(pause_image: str, cgroup_root: str) -> None:
    write_if_changed(layout.CONTAINERD / "config.toml", containerd_config(pause_image))
    write_if_changed(layout.CNI_CONF / "10-barcode.conflist", cni_conflist())
    write_if_changed(layout.ROOT / "kubelet.yaml", kubelet_config(cgroup_root))
    write_if_changed(layout.ROOT / "kube-proxy.yaml", kube_proxy_config())
    write_if_changed(layout.ROOT / "resolv.conf", "nameserver 127.0.0.1\n")


def log_path(component: Component) -> Path:
    return layout.LOGS / f"{component.name}.log"
