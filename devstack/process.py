"""Start and stop long-running child processes with their output in a log file."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class ProcessFailed(RuntimeError):
    pass


def spawn(
    argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        # A new session so Ctrl-C in the terminal of `make run` does not reach the stack,
        # and so `stop` can signal the whole group.
        return subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, env=dict(env or os.environ),
            cwd=cwd, start_new_session=True,
        )


def wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes] | None, timeout: float, what: str, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ProcessFailed(f"{what} exited with {proc.returncode}; see {log_path}:\n{tail(log_path)}")
        if ready():
            return
        time.sleep(0.1)
    raise ProcessFailed(f"{what} not ready after {timeout:.0f}s; see {log_path}:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group, SIGKILL it if it has not gone after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                finished = pid if not pid_alive(pid) else 0
            if finished:
                return
            time.sleep(0.05)


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM a child's process group and wait for it; SIGKILL it after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()
