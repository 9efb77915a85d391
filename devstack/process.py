"""Start and stop long-running child processes with their output in a log file, and start
them again when they exit on their own (`Supervisor`)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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


class Supervised(Protocol):
    """What a supervisor can watch and start again: a service, or an adapter around Kafka/MinIO."""

    @property
    def proc(self) -> subprocess.Popen[bytes] | None: ...

    def start(self, wait: bool = ...) -> None: ...


@dataclass
class Restarts:
    count: int = 0
    last: str = ""  # "exit -9 at 12:03:04": how and when it last ended on its own


class Supervisor:
    """Starts again a process that exited on its own, as a kubelet does for a crashed pod, with
    back-off: `min_delay_s` doubling per quick successive exit up to `max_delay_s`, back to
    `min_delay_s` once a run lasted `stable_s`. A unit whose `proc` is None is not watched: it
    is being stopped or restarted on purpose (a fault injection, `make stop`). A unit's `lock`,
    if it has one, is held across the check and the start, so a deliberate kill in another
    thread never races a restart into two copies."""

    def __init__(self, units: Mapping[str, Supervised], say: Callable[[str], None],
                 min_delay_s: float = 1.0, max_delay_s: float = 30.0, stable_s: float = 60.0) -> None:
        self.units, self.say = units, say
        self.min_delay_s, self.max_delay_s, self.stable_s = min_delay_s, max_delay_s, stable_s
        self.restarts: dict[str, Restarts] = {}
        self._due: dict[str, float] = {}  # name -> when to start it again
        self._quick_exits: dict[str, int] = {}
        self._started: dict[str, float] = {name: time.monotonic() for name in units}

    def check(self) -> bool:
        """One pass over the units; True if anything changed (an exit seen, a restart made)."""
        changed = False
        for name, unit in self.units.items():
            with getattr(unit, "lock", None) or contextlib.nullcontext():
                changed |= self._check(name, unit)
        return changed

    def _check(self, name: str, unit: Supervised) -> bool:
        now = time.monotonic()
        proc = unit.proc
        if proc is None or proc.poll() is None:
            self._due.pop(name, None)  # running, or handled by someone else
            return False
        if name not in self._due:
            quick = self._quick_exits.get(name, 0) if now - self._started.get(name, now) < self.stable_s else 0
            delay = min(self.min_delay_s * 2 ** quick, self.max_delay_s)
            self._quick_exits[name] = quick + 1
            self._due[name] = now + delay
            record = self.restarts.setdefault(name, Restarts())
            record.last = f"exit {proc.returncode} at {time.strftime('%H:%M:%S')}"
            self.say(f"{name} exited ({proc.returncode}); restarting it in {delay:.0f} s")
            return True
        if now < self._due[name]:
            return False
        del self._due[name]
        record = self.restarts[name]
        record.count += 1
        self._started[name] = time.monotonic()
        try:
            unit.start(wait=False)
        except (ProcessFailed, OSError, subprocess.SubprocessError) as exc:
            self.say(f"{name} did not start again: {exc}")  # the next pass sees it dead and retries
        else:
            self.say(f"{name} restarted (restart {record.count}, pid {unit.proc.pid if unit.proc else '-'})")
        return True
