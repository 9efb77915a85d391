"""`kubectl port-forward` on 127.0.0.1, kept alive: the only way the host reaches the cluster's services.

kubectl forwards to one pod, chosen when it starts; when that pod goes away (a fault, a rolling
upgrade) kubectl stops forwarding. This wrapper starts it again on the same local port, so a
client that reconnects lands on a pod that is there now, the way a user re-runs the command.
"""
from __future__ import annotations

import socket
import subprocess
import threading
import time

from devstack.k8s import layout
from devstack.ports import free_port


# What kubectl prints when the pod it forwards to has gone (it exits after some, not all).
POD_GONE = ("lost connection to pod", "failed to find sandbox", "not found", "container not running",
            "network namespace for sandbox")


class PortForward:
    def __init__(self, target: str, remote_port: int, local_port: int | None = None,
                 namespace: str = layout.NAMESPACE) -> None:
        self.target, self.remote_port, self.namespace = target, remote_port, namespace
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
            self._proc = self._spawn()
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                # kubectl may keep running after its pod is gone, failing every connection.
                if any(marker in line for marker in POD_GONE):
                    self._proc.terminate()
                    break
            self._proc.wait()
            if not self._stopping.is_set():
                time.sleep(0.5)

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
