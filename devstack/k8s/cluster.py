"""`python -m devstack.k8s.cluster up|down|status`: the single-node cluster behind `make k8s-up`.

minikube v1.38.1 (`--driver=none`, containerd) running Kubernetes v1.36.3, every program built
here from the Go module proxy and every image built here (no registry), inside a mount +
network namespace of its own (devstack/k8s/box.py) so that nothing it writes lands on the host.

Up: packages -> pinned binaries -> the namespace -> the kubelet's cgroup -> containerd, node
images -> `minikube start` -> the API bridge and the host's kubeconfig -> the `barcode`
namespace (restricted) and the default StorageClass. A second `up` reuses what runs. Down:
`minikube delete`, then the namespace and everything in it, the bridge, the cgroups, the image
builder; it says what it could not remove.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack.k8s import addons, box, build, host, layout, minikube, say
from devstack.k8s.mounts import mounts_under

CGROUP_STATE = layout.ROOT / "cgroups.json"


def kubectl(*args: str, check: bool = True, input_text: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(layout.KUBECTL), f"--kubeconfig={layout.KUBECONFIG}", *args], check=check,
                          capture_output=True, text=True, input=input_text, timeout=timeout)


def _wait(what: str, ready, timeout: float = 180) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not ready():
        if time.monotonic() - started > timeout:
            raise host.HostNotReady(f"{what} not ready after {timeout:.0f}s")
        time.sleep(1)
    say(f"{what} ready ({time.monotonic() - started:.1f}s)")


def _default_storage_class() -> bool:
    out = kubectl("get", "storageclass", "-o", "jsonpath={.items[?(@.metadata.annotations."
                  "storageclass\\.kubernetes\\.io/is-default-class=='true')].metadata.name}", check=False)
    return out.returncode == 0 and bool(out.stdout.strip())


def _provisioner_running() -> bool:
    out = kubectl("-n", "kube-system", "get", "pod", "storage-provisioner", "-o", "jsonpath={.status.phase}",
                  check=False)
    return out.returncode == 0 and out.stdout.strip() == "Running"


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


def _kill_cgroup_members() -> None:
    """Whatever still runs in the kubelet's cgroups (a container minikube delete missed: it has
    its own mount and network namespaces, so it would outlive the holder unseen)."""
    root = _cgroup_root().strip("/")
    for hierarchy in _hierarchies():
        top = hierarchy / root
        if not top.is_dir():
            continue
        for procs in top.rglob("cgroup.procs"):
            for pid in procs.read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass


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


def memory_mib() -> tuple[float, float]:
    """(the pods' resident memory, control plane included: `total_rss` of the kubelet's memory
    cgroup; the node's own processes outside it, kubelet, containerd and the shims: their RSS)"""
    stat = Path("/sys/fs/cgroup/memory") / _cgroup_root().lstrip("/") / "memory.stat"
    pods = 0
    if stat.exists():
        pods = next((int(line.split()[1]) for line in stat.read_text().splitlines()
                     if line.startswith("total_rss ")), 0)
    node = 0
    root = _cgroup_root()
    for pid in box.processes_inside():
        try:
            if root in Path(f"/proc/{pid}/cgroup").read_text():
                continue  # a pod's: counted above
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        node += next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return pods / 2**20, node / 2**20


# ---------- up / down ----------

def up() -> None:
    started = time.monotonic()
    layout.ROOT.mkdir(parents=True, exist_ok=True)  # a fresh clone has no .local/k8s yet
    host.ensure_packages()
    host.preflight()
    build.build_all()
    cgroup_root = _cgroup_root()
    _record_cgroups(cgroup_root)
    _make_cgroups(cgroup_root)
    box.up()
    minikube.start(cgroup_root)
    _wait("API server from the host (127.0.0.1 bridge)", lambda: kubectl("get", "--raw", "/readyz", check=False).returncode == 0)
    kubectl("apply", "-f", "-", input_text=addons.manifest(addons.namespace()))
    _wait("default StorageClass (minikube's storage-provisioner)", lambda: _default_storage_class() and _provisioner_running())
    pods, node = memory_mib()
    say(f"cluster up in {time.monotonic() - started:.0f}s (memory: pods {pods:.0f} MiB, kubelet + containerd + shims "
        f"{node:.0f} MiB): KUBECONFIG={layout.KUBECONFIG} {layout.KUBECTL} get pods -A")


def down() -> int:
    started = time.monotonic()
    say("stopping the local cluster ...")
    minikube.delete()
    box.kill_inside()
    _kill_cgroup_members()
    left = box.down()
    try:
        from devstack.k8s import docker
        docker.stop()
    except ImportError:
        pass
    left += _remove_cgroups()
    left += [f"mount {m}" for m in mounts_under(layout.ROOT)]
    if box.ROOT.exists() and not left:
        shutil.rmtree(box.ROOT / "fs", ignore_errors=True)  # the cluster's files (the cache stays)
    layout.KUBECONFIG.unlink(missing_ok=True)
    if left:
        say("down left behind:\n  " + "\n  ".join(left))
        return 1
    say(f"cluster down in {time.monotonic() - started:.0f}s: no process, mount, namespace, route, rule or cgroup left")
    return 0


def status() -> int:
    if box.holder_pid() is None:
        print("  the cluster's namespace is not running")
        return 1
    return minikube.minikube("status", check=False, timeout=60).returncode


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
