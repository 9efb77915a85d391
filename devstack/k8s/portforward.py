"""`kubectl port-forward` on 127.0.0.1, kept alive: the only way the host reaches the cluster's services.

kubectl forwards to one pod, chosen when it starts; when that pod goes away (a fault, a rolling
upgrade) kubectl stops forwarding. This wrapper starts it again on the same local port, so a
client that reconnects lands on a pod that is there now, the way a user re-runs the command.

kubectl does not always say that its pod has gone: it can keep running and fail (or hang) every
connection. With a `probe_path`, the wrapper asks the far side over the forward every second and
starts kubectl again after a few failures in a row, as a user would when nothing answers (a
k8s-test's rolling upgrade once had its clients get no result for 300 s after the gateway pod
was replaced, with nothing on the console to say why: kubectl's lines are printed now too).
"""
from __future__ import annotations

import http.client
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from devstack.k8s import layout
from devstack.ports import free_port


# What kubectl prints when the pod it forwards to has gone (it exits after some, not all).
POD_GONE = ("lost connection to pod", "failed to find sandbox", "not found", "container not running",
            "network namespace for sandbox")
# kubectl prints one of these per connection: not worth a line on the console.
QUIET = ("Handling connection for",)
PROBE_EVERY_S = 1.0
PROBE_TIMEOUT_S = 2.0
PROBE_FAILURES = 3  # in a row, before kubectl is started again
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the probe goes to loopback only


class PortForward:
    def __init__(self, target: str, remote_port: int, local_port: int | None = None,
                 namespace: str = layout.NAMESPACE, probe_path: str | None = None) -> None:
        """`probe_path`: an HTTP path the far side answers while it is alive (any status counts:
        a 503 still means the forward reaches a process)."""
        self.target, self.remote_port, self.namespace = target, remote_port, namespace
        self.probe_path = probe_path
        self.local_port = local_port or free_port()
        self.restarts = -1
        self._proc: subprocess.Popen[str] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._keep_alive, daemon=True, name=f"port-forward {target}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def __enter__(self) -> PortForward:
        self._thread.start()
        self.wait_listening()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _spawn(self) -> subprocess.Popen[str]:
        self.restarts += 1
        return subprocess.Popen(
            [str(layout.KUBECTL), f"--kubeconfig={layout.KUBECONFIG}", "-n", self.namespace, "port-forward",
             "--address", "127.0.0.1", self.target, f"{self.local_port}:{self.remote_port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def _keep_alive(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc = self._spawn()
            reader = threading.Thread(target=self._read_output, args=(proc,), daemon=True,
                                      name=f"port-forward {self.target} output")
            reader.start()
            self._watch(proc)
            proc.wait()
            reader.join(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
            if not self._stopping.is_set():
                time.sleep(0.5)

    def _read_output(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith(QUIET):
                print(f"[port-forward {self.target}] {line.rstrip()}", flush=True)
            # kubectl may keep running after its pod is gone, failing every connection.
            if any(marker in line for marker in POD_GONE):
                proc.terminate()
                break

    def _watch(self, proc: subprocess.Popen[str]) -> None:
        """Until kubectl exits: with a probe path, end it once the far side stops answering."""
        failures = 0
        while proc.poll() is None and not self._stopping.wait(PROBE_EVERY_S):
            if self.probe_path is None:
                continue
            failures = 0 if self._answers() else failures + 1
            if failures >= PROBE_FAILURES:
                print(f"[port-forward {self.target}] {self.probe_path} did not answer {failures} times in a row: "
                      "starting kubectl port-forward again", flush=True)
                proc.terminate()
                return

    def _answers(self) -> bool:
        try:
            with NO_PROXY.open(f"{self.url}{self.probe_path}", timeout=PROBE_TIMEOUT_S):
                return True
        except urllib.error.HTTPError:
            return True  # a status, however bad, came from a live process
        except (OSError, ValueError, http.client.HTTPException):
            return False

    def wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.local_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"kubectl port-forward {self.target} did not listen on 127.0.0.1:{self.local_port}")

    def close(self) -> None:
        self._stopping.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._thread.join(timeout=15)
