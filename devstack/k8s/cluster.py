"""`python -m devstack.k8s.cluster up|down|status`: the real single-node cluster behind `make k8s-up`.

Up: packages -> pinned binaries -> blackhole routes and bridge -> certificates -> etcd ->
kube-apiserver -> controller-manager, scheduler -> containerd (+ pause and CoreDNS images) ->
kubelet -> kube-proxy -> CoreDNS, node-local volumes, the `barcode` namespace (restricted).
A second `up` reuses what runs. Down removes every process, container, mount, network
namespace, bridge, iptables rule, route and cgroup that up made, and says what it could not.
"""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from devstack.k8s import addons, build, components, host, layout, network, pki, say
from devstack.k8s.components import Component
from devstack.k8s.mounts import mounts_under, unmount_under
from devstack.k8s.pins import KUBE
from devstack.process import pid_alive, spawn, tail, terminate

CGROUP_STATE = layout.ROOT / "cgroups.json"


# ---------- processes ----------

def _pid_file(name: str) -> Path:
    return layout.PIDS / f"{name}.pid"


def running_pid(name: str) -> int | None:
    try:
        pid = int(_pid_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start(component: Component, ready: Callable[[], bool], timeout: float = 90) -> None:
    if running_pid(component.name) is None:
        log = components.log_path(component)
        proc = spawn(component.argv, log)
        layout.PIDS.mkdir(parents=True, exist_ok=True)
        _pid_file(component.name).write_text(str(proc.pid))
    started = time.monotonic()
    while not ready():
        pid = running_pid(component.name)
        if pid is None:
            raise host.HostNotReady(f"{component.name} exited; see {components.log_path(component)}:\n"
                                    f"{tail(components.log_path(component))}")
        if time.monotonic() - started > timeout:
            raise host.HostNotReady(f"{component.name} not ready after {timeout:.0f}s; see "
                                    f"{components.log_path(component)}:\n{tail(components.log_path(component))}")
        time.sleep(0.3)
    say(f"{component.name} ready ({time.monotonic() - started:.1f}s)")


def stop(name: str, timeout: float = 15) -> None:
    pid = running_pid(name)
    if pid is not None:
        terminate(pid, timeout)  # SIGTERM to its process group, SIGKILL after `timeout`
    _pid_file(name).unlink(missing_ok=True)


# ---------- readiness checks ----------

def _https_ok(url: str, token: str | None = None) -> bool:
    context = ssl.create_default_context(cafile=str(layout.PKI / "ca.crt"))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return response.status == 200
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def kubectl(*args: str, check: bool = True, input_text: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(layout.KUBECTL), f"--kubeconfig={layout.KUBECONFIG}", *args], check=check,
                          capture_output=True, text=True, input=input_text, timeout=timeout)


def _exists(*args: str) -> Callable[[], bool]:
    return lambda: kubectl("get", *args, check=False).returncode == 0


def _node_ready() -> bool:
    out = kubectl("get", "node", layout.NODE_NAME, "-o",
                  "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
    return out.returncode == 0 and out.stdout.strip() == "True"


def _kube_proxy_synced() -> bool:
    """kube-proxy answers its health check (rules left by an earlier one must not count)."""
    return _http_ok("http://127.0.0.1:10256/healthz")


def _containerd_ok() -> bool:
    return subprocess.run(["ctr", "-a", str(layout.CONTAINERD_SOCKET), "version"],
                          capture_output=True).returncode == 0


# ---------- cgroups ----------

def _cgroup_root() -> str:
    return host.own_memory_cgroup(Path("/proc/self/cgroup").read_text()).rstrip("/") + "/barcode-k8s"


def _hierarchies() -> list[Path]:
    base = Path("/sys/fs/cgroup")
    return [p for p in sorted(base.iterdir()) if p.is_dir() and (p / "cgroup.procs").exists()] if base.is_dir() else []


def _record_cgroups(cgroup_root: str) -> None:
    """Remember which folders on the way to cgroupRoot the kubelet will create, to remove just those."""
    if CGROUP_STATE.exists():
        return
    made: list[str] = []
    parts = [p for p in cgroup_root.split("/") if p]
    for hierarchy in _hierarchies():
        for depth in range(1, len(parts) + 1):
            folder = hierarchy.joinpath(*parts[:depth])
            if not folder.exists():
                made.append(str(folder))
                break
    CGROUP_STATE.write_text(json.dumps(made))


def _make_cgroups(cgroup_root: str) -> None:
    """The kubelet refuses a cgroupRoot that is missing in any hierarchy: make it in each.

    A new cpuset cgroup starts with no CPUs or memory nodes, and nothing can join it until they
    are copied from its parent (cgroup v1).
    """
    parts = [p for p in cgroup_root.split("/") if p]
    for hierarchy in _hierarchies():
        for depth in range(1, len(parts) + 1):
            folder = hierarchy.joinpath(*parts[:depth])
            folder.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if (folder / name).exists() and not (folder / name).read_text().strip():
                    (folder / name).write_text((folder.parent / name).read_text())


def _remove_cgroups() -> list[str]:
    try:
        made = json.loads(CGROUP_STATE.read_text())
    except FileNotFoundError:
        return []
    left = []
    for top in made:
        top_path = Path(top)
        if not top_path.exists():
            continue
        # Deepest first: a cgroup folder can only be removed once it has no children.
        for folder in sorted((p for p in top_path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                folder.rmdir()
            except OSError:
                pass  # reported below through its parent
        try:
            top_path.rmdir()
        except OSError as exc:
            left.append(f"cgroup {top} ({exc.strerror})")
    if not left:
        CGROUP_STATE.unlink(missing_ok=True)
    return left


# ---------- containers and mounts ----------

def _ctr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ctr", "-a", str(layout.CONTAINERD_SOCKET), "-n", "k8s.io", *args],
                          capture_output=True, text=True, timeout=60)


def _kill_containers() -> None:
    """Every pod's processes, killed through containerd (the kubelet is already stopped)."""
    if not _containerd_ok():
        return
    tasks = [line.split()[0] for line in _ctr("tasks", "ls").stdout.splitlines()[1:] if line.strip()]
    for task in tasks:
        _ctr("tasks", "kill", "-a", "-s", "SIGKILL", task)
    deadline = time.monotonic() + 20
    for task in tasks:
        while _ctr("tasks", "delete", "-f", task).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.2)


def _our_processes() -> list[int]:
    """Shims and anything else still running with our paths in its command line."""
    pids = []
    marker = str(layout.ROOT).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


# Where the cluster's mounts live: its own folder, and the task bundles of containerd's CRI namespace.
MOUNT_ROOTS = (layout.ROOT, Path("/run/containerd/io.containerd.runtime.v2.task/k8s.io"))


def _unmount_all() -> None:
    # Lazy unmounts of nested mounts can leave a parent busy for a moment: a few rounds.
    for _ in range(3):
        if not mounts_under(*MOUNT_ROOTS):
            return
        unmount_under(*MOUNT_ROOTS)


# ---------- up / down ----------

def up() -> None:
    started = time.monotonic()
    host.ensure_packages()
    host.preflight()
    build.build_all()
    from devstack.k8s import docker, images  # the image tools start Docker; only needed from here on

    say("network: blackhole routes for the Service and pod ranges, then the bridge ...")
    network.up()
    pki.ensure()
    for folder in (layout.LOGS, layout.ETCD_DATA, layout.KUBELET_ROOT):
        folder.mkdir(parents=True, exist_ok=True)
    layout.ETCD_DATA.chmod(0o700)
    cgroup_root = _cgroup_root()
    _record_cgroups(cgroup_root)
    _make_cgroups(cgroup_root)
    components.write_configs(images.PAUSE, cgroup_root)
    admin = pki.token("admin")

    start(components.etcd(), lambda: _http_ok(f"http://127.0.0.1:{layout.ETCD_PORT}/health"))
    start(components.apiserver(), lambda: _https_ok(f"{layout.API_URL}/readyz", admin), timeout=120)
    start(components.controller_manager(), _exists("serviceaccount", "default", "-n", "default"))
    start(components.scheduler(), lambda: running_pid("kube-scheduler") is not None)
    start(components.containerd(), _containerd_ok)
    # The cluster's own images (the pod sandbox, DNS); the chart's come with `make images`.
    docker.start()
    base_id = images.build_base()
    images.build_pause(base_id)
    images.build_coredns(base_id)
    images.load_into_containerd(str(layout.CONTAINERD_SOCKET), (images.PAUSE, images.COREDNS))
    start(components.kubelet(), _node_ready, timeout=120)
    start(components.kube_proxy(), _kube_proxy_synced)

    addons.prepare_volume_dirs()
    manifest = addons.manifest(addons.namespace() + addons.storage() + addons.coredns(images.COREDNS))
    kubectl("apply", "-f", "-", input_text=manifest)
    kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s")
    say(f"cluster up in {time.monotonic() - started:.0f}s: KUBECONFIG={layout.KUBECONFIG} {layout.KUBECTL} get pods -A")


def down() -> int:
    started = time.monotonic()
    say("stopping the local cluster ...")
    stop("kube-proxy")
    if (KUBE.bin_dir / "kube-proxy").exists():
        subprocess.run([str(KUBE.bin_dir / "kube-proxy"), "--cleanup"], capture_output=True)
    stop("kubelet")
    _kill_containers()
    stop("containerd")
    for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
        stop(name)
    for pid in _our_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        from devstack.k8s import docker
        docker.stop()
    except ImportError:
        pass
    time.sleep(0.5)
    _unmount_all()
    network.down()
    left = _remove_cgroups()
    left += network.leftovers() + [f"mount {m}" for m in mounts_under(*MOUNT_ROOTS)] + [f"process {p}" for p in _our_processes()]
    if left:
        say("down left behind:\n  " + "\n  ".join(left))
        return 1
    say(f"cluster down in {time.monotonic() - started:.0f}s: no process, mount, netns, bridge, rule, route or cgroup left")
    return 0


def status() -> int:
    names = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet", "kube-proxy")
    for name in names:
        pid = running_pid(name)
        print(f"  {name:<24} {'running, pid ' + str(pid) if pid else 'stopped'}")
    return 0 if all(running_pid(n) for n in names) else 1


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    try:
        if command == "up":
            up()
            return 0
        if command == "down":
            return down()
        return status()
    except (host.HostNotReady, subprocess.CalledProcessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else ""
        print(f"[k8s] FAILED: the local cluster cannot start: {exc}\n{detail}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
