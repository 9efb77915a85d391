"""minikube (`--driver=none`, containerd) inside the cluster's own namespace (devstack/k8s/box.py).

Before `minikube start`: the pinned programs are built (minikube, kubeadm and the Kubernetes
binaries, crictl), placed where minikube looks for them (its cache, so it downloads nothing),
containerd gets a config and an init script (there is no systemd here: minikube uses `service`),
and every image kubeadm and the addons run is imported (devstack/k8s/node_images.py). After it:
the host's kubeconfig (`.local/k8s/kubeconfig`) points at the API server through the loopback
bridge, and the `barcode` namespace exists (restricted). minikube's own storage-provisioner
addon is the cluster's default StorageClass (`standard`), as on a laptop.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from devstack.k8s import box, images, layout, node_images, pins, say

HOME = layout.ROOT / "minikube-home"  # MINIKUBE_HOME: the profile, certificates, binary cache
BINARY = Path(pins.MINIKUBE_BUILD.bin_dir) / "minikube"
INNER_KUBECONFIG = layout.ROOT / "minikube.kubeconfig"  # as minikube writes it: the node's address
API_PORT = 8443  # inside the box
HOST_API_PORT = 18443  # on the host's loopback, through the bridge

CONTAINERD_INIT = """#!/bin/sh
# containerd for minikube's `service containerd ...` (Debian's package ships only a systemd unit).
PID=/run/containerd/containerd.pid
case "$1" in
  start)
    [ -f $PID ] && kill -0 "$(cat $PID)" 2>/dev/null && exit 0
    mkdir -p /run/containerd /var/log
    nohup /usr/bin/containerd --config /etc/containerd/config.toml >>/var/log/containerd.log 2>&1 &
    echo $! > $PID
    i=0; while [ ! -S /run/containerd/containerd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done ;;
  stop)
    [ -f $PID ] && kill "$(cat $PID)" 2>/dev/null
    i=0; while [ -f $PID ] && kill -0 "$(cat $PID)" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    rm -f $PID ;;
  restart|force-reload) "$0" stop; "$0" start ;;
  status) [ -f $PID ] && kill -0 "$(cat $PID)" 2>/dev/null ;;
  *) echo "usage: $0 start|stop|restart|status"; exit 1 ;;
esac
"""


def env() -> dict[str, str]:
    return {"MINIKUBE_HOME": str(HOME), "KUBECONFIG": str(INNER_KUBECONFIG), "MINIKUBE_IN_STYLE": "false",
            "CHANGE_MINIKUBE_NONE_USER": "false", "MINIKUBE_WANTUPDATENOTIFICATION": "false"}


def minikube(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`minikube ARGS` inside the box; its output streamed (minikube's steps are the progress)."""
    return box.run([str(BINARY), *args], check=check, timeout=timeout, env=env(), capture=False)


def _cache_binaries() -> None:
    """kubeadm, kubelet and kubectl where minikube looks before downloading them."""
    cache = HOME / ".minikube" / "cache" / "linux" / "amd64" / pins.KUBERNETES
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("kubeadm", "kubelet", "kubectl"):
        target = cache / name
        if not target.exists():
            shutil.copy2(Path(pins.KUBE.bin_dir) / name, target)


def containerd_config() -> str:
    """containerd's default config with what this machine needs: restrict_oom_score_adj (without
    it every sandbox fails here: "can't get final child's PID from pipe"), written without spaces
    around `=`, so minikube's own `sed` (which expects them) leaves it alone."""
    default = subprocess.run(["containerd", "config", "default"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"(?m)^(\s*)restrict_oom_score_adj = .*$", r"\1restrict_oom_score_adj=true", default)


def _prepare_inside() -> None:
    """containerd's config and init script, the CNI plugins and crictl, inside the box's overlays."""
    crictl = Path(pins.CRICTL_BUILD.bin_dir) / "crictl"
    config = box._folder("/etc") / "containerd-config.toml"  # staged outside, copied in
    config.write_text(containerd_config())
    init = box._folder("/etc") / "containerd.init"
    init.write_text(CONTAINERD_INIT)
    box.sh(f"""
mkdir -p /etc/containerd /opt/cni/bin /etc/init.d
cp {config} /etc/containerd/config.toml
cp {init} /etc/init.d/containerd && chmod 755 /etc/init.d/containerd
cp -n /usr/lib/cni/* /opt/cni/bin/
cp {crictl} /usr/local/bin/crictl
printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\\n' > /etc/crictl.yaml
service containerd start
""")


def _host_kubeconfig() -> None:
    """minikube's kubeconfig, pointed at the bridge: https://127.0.0.1:HOST_API_PORT (the API
    server's certificate names 127.0.0.1)."""
    text = INNER_KUBECONFIG.read_text()
    text = re.sub(r"server: https://[^\s]+", f"server: https://127.0.0.1:{HOST_API_PORT}", text)
    layout.KUBECONFIG.write_text(text)
    layout.KUBECONFIG.chmod(0o600)


def start(cgroup_root: str) -> None:
    """The cluster, from nothing to a Ready node (about 100 s); a second call finds it running."""
    _cache_binaries()
    _prepare_inside()
    # The images go in before `start`: kubeadm's preflight and the addons find them present.
    refs = node_images.build_node_images()
    images.load_into_containerd(str(box.CONTAINERD_SOCKET), refs)
    started = time.monotonic()
    say("minikube start (--driver=none, containerd; about 100 s) ...")
    minikube("start", "--driver=none", "--container-runtime=containerd", f"--kubernetes-version={pins.KUBERNETES}",
             "--force", "--cache-images=false", "--interactive=false", "--wait=all",
             f"--apiserver-port={API_PORT}",
             "--extra-config=kubelet.fail-cgroupv1=false", f"--extra-config=kubelet.cgroup-root={cgroup_root}",
             "--extra-config=kubeadm.ignore-preflight-errors=SystemVerification")
    box.bridge_api(HOST_API_PORT, API_PORT)
    _host_kubeconfig()
    say(f"minikube up in {time.monotonic() - started:.0f}s")


def delete() -> None:
    """`minikube delete`, then what the kubelet re-created meanwhile, then containerd."""
    if box.holder_pid() is None:
        return
    if BINARY.exists():
        minikube("delete", check=False, timeout=300)
    box.sh("service kubelet stop 2>/dev/null || true; "
           "crictl rmp -fa 2>/dev/null || true; service containerd stop || true", check=False, timeout=120)
