"""A private Docker Engine for building the cluster's images: its own socket, data and exec roots.

It never touches a system Docker (there is none here, and a user's would be theirs): everything
lives under `.local/k8s/docker/`. Networking is off (`--bridge=none --iptables=false`): no
container we run needs a network, and builds whose RUN steps reach the package registries use
`docker build --network host`. That also keeps dockerd's own iptables rules (FORWARD policy DROP)
off this machine, which the cluster's bridge would otherwise have to work around.

`python -m devstack.k8s.docker [start|stop|status]`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from devstack.k8s import layout, say
from devstack.k8s.mounts import unmount_under
from devstack.process import tail

DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/local/bin/docker"

ROOT = layout.ROOT / "docker"  # beside the cluster it builds images for
DATA_ROOT = ROOT / "data"
EXEC_ROOT = ROOT / "exec"
PIDFILE = ROOT / "docker.pid"
SOCKET = ROOT / "docker.sock"
LOG = ROOT / "dockerd.log"
CGROUP_PARENT = "barcode-docker"


def docker_host() -> str:
    return f"unix://{SOCKET.resolve()}"


def docker_env() -> dict[str, str]:
    """The environment for `docker` commands against this engine.

    DOCKER_BUILDKIT=0: there is no buildx here, so the legacy builder (which needs no plugin).
    """
    return {**os.environ, "DOCKER_HOST": docker_host(), "DOCKER_BUILDKIT": "0"}


def docker(*args: str, check: bool = True, capture: bool = False, stdin: IO[bytes] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """Run the docker client against this engine; with `capture`, stdout and stderr are returned as text."""
    return subprocess.run(
        [DOCKER, *args], env=docker_env(), check=check, text=True, stdin=stdin,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
    )


def _pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _running(pid) and "dockerd" in _cmdline(pid) else None


def answers() -> bool:
    """The engine is usable: `docker version` reaches the server over our socket."""
    if not SOCKET.exists():
        return False
    result = subprocess.run([DOCKER, "version", "--format", "{{.Server.Version}}"], env=docker_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return result.returncode == 0


def running() -> bool:
    return _pid() is not None and answers()


def start(timeout: float = 60.0) -> None:
    """Start the engine unless one of ours already answers on our socket."""
    if running():
        return
    if _pid() is not None:
        # Alive but not answering (half started or wedged): replace it rather than guess.
        stop()
    _kill_leftovers()
    _cleanup_mounts()
    for folder in (DATA_ROOT, EXEC_ROOT):
        folder.mkdir(parents=True, exist_ok=True)
    SOCKET.unlink(missing_ok=True)
    PIDFILE.unlink(missing_ok=True)
    started = time.monotonic()
    argv = [
        DOCKERD,
        "--data-root", str(DATA_ROOT.resolve()),
        "--exec-root", str(EXEC_ROOT.resolve()),
        "--pidfile", str(PIDFILE.resolve()),
        "-H", docker_host(),
        # No networking at all: no docker0, no NAT, no iptables rules (see the module docstring).
        "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false",
        # Its own containerd (dockerd starts one under the exec root), not a system one; own
        # namespaces and cgroup parent so that nothing of ours can be mistaken for someone else's.
        "--containerd-namespace", "barcode-docker", "--containerd-plugins-namespace", "barcode-docker-plugins",
        "--cgroup-parent", f"/{CGROUP_PARENT}",
    ]
    with open(LOG, "ab") as log:
        # Own session: Ctrl-C in the caller's terminal must not take the engine down mid-build.
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}; see {LOG}:\n{tail(LOG)}")
        if answers():
            say(f"docker engine up on {SOCKET} ({time.monotonic() - started:.1f}s)")
            return
        time.sleep(0.2)
    raise RuntimeError(f"dockerd not answering after {timeout:.0f}s; see {LOG}:\n{tail(LOG)}")


def stop(timeout: float = 30.0) -> None:
    """Stop the engine fully (SIGTERM, wait, SIGKILL) and unmount what it left; fine if not running."""
    pid = _pid()
    if pid is not None:
        say(f"stopping the docker engine (pid {pid}) ...")
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _running(pid):
                _reap(pid)
                time.sleep(0.1)
            if not _running(pid):
                break
    # A dockerd that died hard (SIGKILL, OOM) leaves its containerd, the shims and the containers
    # running; they hold mounts under our roots. Found by our exec root in their command lines.
    _kill_leftovers()
    _cleanup_mounts()
    PIDFILE.unlink(missing_ok=True)
    SOCKET.unlink(missing_ok=True)


def _kill_leftovers() -> None:
    ours = str((EXEC_ROOT / "containerd").resolve())  # shims: -address OURS/containerd.sock; containerd: --config OURS/...
    killed: list[int] = []
    for pid in _pids():
        argv = _cmdline(pid)
        if argv.startswith("/usr/bin/containerd-shim") and f"-address {ours}/" in argv:
            # Killing a container's PID 1 ends its whole PID namespace; then its shim.
            killed += [*_children(pid), pid]
        elif argv.startswith(("containerd ", "/usr/bin/containerd ")) and f"{ours}/" in argv:
            killed.append(pid)
    for pid in killed:
        _kill(pid)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in killed) and time.monotonic() < deadline:
        time.sleep(0.1)
    # dockerd trusts this pid file: pointing at a dead (or zombie) containerd, it waits for that
    # one to answer instead of starting its own, and gives up after 15 s.
    _unlink_if_dead(EXEC_ROOT / "containerd" / "containerd.pid")
    # Our containers' cgroups (--cgroup-parent): empty once their processes are gone.
    for controller in Path("/sys/fs/cgroup").iterdir():
        parent = controller / CGROUP_PARENT
        if parent.is_dir():
            for leaf in sorted(parent.glob("*/"), reverse=True):
                _rmdir(leaf)
            _rmdir(parent)


def _unlink_if_dead(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        pidfile.unlink(missing_ok=True)
        return
    if not _running(pid):
        pidfile.unlink()


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan stays a zombie until init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _rmdir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass  # not empty (still in use) or gone: leave it


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _cleanup_mounts() -> None:
    """Overlay and netns mounts a killed dockerd leaves under its roots block deleting `.local`."""
    unmount_under(DATA_ROOT, EXEC_ROOT)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "start"
    if command == "start":
        start()
    elif command == "stop":
        stop()
    elif command == "status":
        print("running" if running() else "stopped")
    else:
        print(f"usage: python -m devstack.k8s.docker [start|stop|status], not {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
