"""The mount + network + UTS namespace the local cluster lives in, so `--driver=none` writes nothing
of the host's.

minikube's none driver installs a cluster host-wide: it writes `/etc`, `/var/lib`, `/var/log`,
`/run`, `/opt/cni`, init scripts and iptables. Here one holder process (`unshare --mount --net
--uts --propagation private sleep infinity`) owns namespaces in which those paths are overlays
or bind mounts of folders under `.local/k8s/box/`, the hostname is `minikube`, and the network
is loopback plus a veth pair that leads nowhere (the node's address; this kernel has no dummy
module), with a REJECT rule on it and blackhole routes for the Service and pod ranges. Every
minikube, ctr, crictl and iptables command runs through `nsenter` into it. Killing the holder
once nothing else runs inside ends the namespaces, and with them every mount, route and rule.

The host reaches the cluster in two ways, both on loopback: the API server through a `socat`
that listens on 127.0.0.1 and opens each connection inside the namespace (so kubectl, helm and
`kubectl port-forward` run on the host unchanged), and containerd through its socket, whose
folder is bind-mounted from `.local` (a Unix socket is not bound to a network namespace).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from devstack.k8s import layout, say
from devstack.process import pid_alive, spawn, terminate

ROOT = layout.ROOT / "box"
HOLDER_PID = ROOT / "holder.pid"
BRIDGE_PID = ROOT / "api-bridge.pid"
LOG = ROOT / "holder.log"
# Host folders shown inside through an overlay: the host's files stay visible, what minikube
# writes goes to the upper folder under ROOT.
OVERLAID = ("/etc", "/usr/libexec", "/usr/lib/systemd/system", "/usr/share/ca-certificates", "/usr/local/bin")
# Host folders replaced inside by a folder of ours: nothing of the host's is needed there.
BOUND = ("/var/lib", "/var/log", "/var/tmp", "/opt", "/run", "/tmp/hostpath-provisioner")
# minikube takes its non-systemd path (`service X start`) only when `systemctl` fails.
SYSTEMCTL = "/usr/bin/systemctl"

NODE_IF, PEER_IF = "mk0", "mk1"
NODE_CIDR = "192.168.49.2/24"  # minikube's usual node address; it exists only inside the box
NODE_IP = NODE_CIDR.split("/")[0]
# The Service and pod ranges lead to the dead veth until kube-proxy and the CNI bridge take
# them (a ClusterIP that kube-proxy has not rewritten yet is refused there). Not blackhole
# routes: a host-network pod (the storage-provisioner) connects to the API's ClusterIP from this
# namespace, and the kernel refuses a blackholed destination (EINVAL) before kube-proxy's OUTPUT
# rule could rewrite it.
DEAD_ENDS = ("10.96.0.0/12", "10.244.0.0/16")
GATEWAY = NODE_IP.rsplit(".", 1)[0] + ".1"  # nobody has it: the veth's peer is in here too


def _folder(path: str) -> Path:
    return ROOT / "fs" / path.strip("/").replace("/", "_")


# containerd's socket inside (/run/containerd/containerd.sock), as the host sees it.
CONTAINERD_SOCKET = _folder("/run") / "containerd" / "containerd.sock"


def holder_pid() -> int | None:
    try:
        pid = int(HOLDER_PID.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def nsenter(pid: int) -> list[str]:
    return ["nsenter", "-t", str(pid), "-m", "-n", "-u", "--"]


def run(argv: list[str], check: bool = True, timeout: float = 600, env: dict[str, str] | None = None,
        capture: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """`argv` inside the box."""
    pid = holder_pid()
    if pid is None:
        raise RuntimeError("the cluster's namespace is not running (make k8s-up)")
    return subprocess.run([*nsenter(pid), *argv], check=check, timeout=timeout, env={**os.environ, **(env or {})},
                          capture_output=capture, text=True, input=input_text)


def sh(script: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run(["sh", "-ec", script], check=check, timeout=timeout)


SYSTEMCTL_STUB = ROOT / "systemctl"


def _write_stub_systemctl() -> None:
    SYSTEMCTL_STUB.write_text("#!/bin/sh\n# No systemd in the cluster's namespace: minikube then uses `service`.\nexit 1\n")
    SYSTEMCTL_STUB.chmod(0o755)


def _mounts_script() -> str:
    lines = []
    for path in OVERLAID:
        if not Path(path).is_dir():
            continue
        upper, work = _folder(path) / "upper", _folder(path) / "work"
        lines.append(f"mount -t overlay overlay -o lowerdir={path},upperdir={upper},workdir={work} {path}")
    for path in BOUND:
        lines.append(f"mkdir -p {path} && mount --bind {_folder(path)} {path}")
    lines.append(f"mount --bind {SYSTEMCTL_STUB} {SYSTEMCTL}")
    lines.append("hostname minikube")
    return "\n".join(lines)


def _network_script() -> str:
    return "\n".join([
        "ip link set lo up",
        f"ip link add {NODE_IF} type veth peer name {PEER_IF}",
        f"ip addr add {NODE_CIDR} dev {NODE_IF}",
        f"ip link set {NODE_IF} up",
        f"ip link set {PEER_IF} up",
        # minikube and the kubelet take the node address from the default route's interface.
        f"ip route add default via {GATEWAY} dev {NODE_IF} onlink",
        *(f"ip route add {cidr} dev {NODE_IF} metric 1000" for cidr in DEAD_ENDS),
        # Nothing that reaches the veth goes anywhere: the peer is in here too, and these say so
        # at once (from this namespace, and from the pods it forwards for).
        f"iptables -I OUTPUT -o {NODE_IF} ! -d {NODE_IP} -j REJECT",
        f"iptables -I FORWARD -o {NODE_IF} ! -d {NODE_IP} -j REJECT",
        # Names outside the cluster resolve nowhere: the resolver is the dead gateway, refused at
        # once (CoreDNS forwards to it: an answer, not a timeout; minikube's registry probe too).
        f"rm -f /etc/resolv.conf && echo 'nameserver {GATEWAY}' > /etc/resolv.conf",
    ])


def up() -> int:
    """Start the holder and set up its mounts and network; reuse a running one."""
    pid = holder_pid()
    if pid is not None:
        return pid
    for path in OVERLAID:
        for sub in ("upper", "work"):
            (_folder(path) / sub).mkdir(parents=True, exist_ok=True)
    for path in BOUND:
        _folder(path).mkdir(parents=True, exist_ok=True)
    _write_stub_systemctl()
    proc = spawn(["unshare", "--mount", "--net", "--uts", "--propagation", "private", "sleep", "infinity"], LOG)
    HOLDER_PID.write_text(str(proc.pid))
    deadline = time.monotonic() + 10
    # The namespaces exist once the holder is `sleep` (unshare execs it after making them).
    while Path(f"/proc/{proc.pid}/comm").read_text().strip() != "sleep":
        if time.monotonic() > deadline or not pid_alive(proc.pid):
            raise RuntimeError(f"the namespace holder did not start; see {LOG}")
        time.sleep(0.05)
    sh(_mounts_script())
    sh(_network_script())
    say(f"namespace up (holder pid {proc.pid}): overlays on {', '.join(OVERLAID)}, node address {NODE_IP}")
    return proc.pid


# ---- the API server, from the host's loopback ----

def bridge_api(host_port: int, inner_port: int) -> None:
    """127.0.0.1:host_port on the host -> 127.0.0.1:inner_port inside the box, one socat per connection."""
    pid = holder_pid()
    assert pid is not None
    try:
        running = int(BRIDGE_PID.read_text())
    except (FileNotFoundError, ValueError):
        running = 0
    if running and pid_alive(running):
        return
    # Only the network namespace is entered; socat's EXEC address takes its colons escaped.
    inner = f"nsenter -t {pid} -n socat STDIO TCP\\:127.0.0.1\\:{inner_port}"
    proc = spawn(["socat", f"TCP-LISTEN:{host_port},bind=127.0.0.1,reuseaddr,fork", f"EXEC:{inner}"],
                 ROOT / "api-bridge.log")
    BRIDGE_PID.write_text(str(proc.pid))


def down() -> list[str]:
    """Stop the bridge and the holder; what is left inside dies with the namespaces."""
    left = []
    for pid_file in (BRIDGE_PID, HOLDER_PID):
        try:
            pid = int(pid_file.read_text())
        except (FileNotFoundError, ValueError):
            continue
        if pid_alive(pid):
            terminate(pid, 10)
        if pid_alive(pid):
            left.append(f"process {pid} ({pid_file.name})")
        else:
            pid_file.unlink(missing_ok=True)
    if not left:
        # The mount points made on the host's own /tmp (empty once the namespace is gone).
        for path in BOUND:
            if path.startswith("/tmp/"):
                try:
                    Path(path).rmdir()
                except OSError:
                    pass
    return left


def processes_inside() -> list[int]:
    """Processes in the box's network namespace other than the holder (none may outlive down)."""
    pid = holder_pid()
    if pid is None:
        return []
    ours = os.readlink(f"/proc/{pid}/ns/net")
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid:
            try:
                if os.readlink(entry / "ns" / "net") == ours:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def kill_inside() -> None:
    for pid in processes_inside():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
