"""`make k8s-smoke`: check a `helm install`ed release end to end from outside the cluster.

Waits for every Deployment and StatefulSet of the release to finish its rollout, forwards a
local port to a gateway pod through the Kubernetes API (no kubectl needed), sends one job over
the WebSocket in each format, fetches each file by its signed URL and through the gateway, and
decodes it. On failure it prints the pod it blames, its
state and its last log lines. Its decisions live in devstack/k8s/status.py (unit-tested).
`make k8s-test` runs it against the local cluster with `--url` (its own kubectl port-forward).
"""
from __future__ import annotations

import argparse
import asyncio
import select
import socket
import socketserver
import sys
import threading
import time
import uuid
from typing import Any

import aiohttp
from kubernetes import client, config
from kubernetes.stream import portforward

from devstack.k8s.status import describe, pod_to_blame, rollout_complete


def _say(message: str) -> None:
    print(f"[k8s-smoke] {message}", flush=True)


class Cluster:
    def __init__(self, namespace: str, release: str, context: str | None) -> None:
        try:
            config.load_kube_config(context=context)
        except config.ConfigException:
            config.load_incluster_config()
        self.core = client.CoreV1Api()
        self.apps = client.AppsV1Api()
        self.namespace = namespace
        self.selector = f"app.kubernetes.io/instance={release}"

    def workloads(self) -> list[Any]:
        ns, sel = self.namespace, self.selector
        return (self.apps.list_namespaced_deployment(ns, label_selector=sel).items
                + self.apps.list_namespaced_stateful_set(ns, label_selector=sel).items)

    def pods(self, component: str | None = None) -> list[client.V1Pod]:
        selector = self.selector + (f",app.kubernetes.io/component={component}" if component else "")
        return self.core.list_namespaced_pod(self.namespace, label_selector=selector).items

    def wait_for_rollouts(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            workloads = self.workloads()
            states = {f"{w.kind or type(w).__name__[2:]}/{w.metadata.name}": rollout_complete(w) for w in workloads}
            pending = {name: why for name, (done, why) in states.items() if not done}
            line = ", ".join(f"{n}: {why}" for n, why in sorted(pending.items())) or "all rolled out"
            if line != last:
                _say(line)
                last = line
            if workloads and not pending:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(3)

    def report_failure(self) -> None:
        pods = self.pods()
        for pod in pods:
            print(describe(pod))
        blamed = pod_to_blame(pods)
        if blamed is None:
            _say("every pod is running and ready; the failure is past the pods (service, network, storage)")
            return
        pod, why = blamed
        _say(f"most likely cause: pod {pod.metadata.name}: {why}")
        for c in pod.spec.containers:
            try:
                log = self.core.read_namespaced_pod_log(pod.metadata.name, self.namespace, container=c.name,
                                                        tail_lines=30)
            except client.ApiException as exc:
                log = f"(no log: {exc.reason})"
            print(f"--- last log lines of {pod.metadata.name}/{c.name} ---\n{log}")


class PortForward(socketserver.ThreadingTCPServer):
    """127.0.0.1:<free port> -> <pod>:<port>, one API port-forward stream per connection."""

    daemon_threads = True

    def __init__(self, cluster: Cluster, pod: str, port: int) -> None:
        self.cluster, self.pod, self.remote_port = cluster, pod, port
        super().__init__(("127.0.0.1", 0), _Bridge)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Bridge(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: PortForward = self.server  # type: ignore[assignment]
        forward = portforward(server.cluster.core.connect_get_namespaced_pod_portforward, server.pod,
                              server.cluster.namespace, ports=str(server.remote_port))
        remote = forward.socket(server.remote_port)
        remote.setblocking(True)
        local: socket.socket = self.request
        try:
            while True:
                readable, _, _ = select.select([local, remote], [], [], 60)
                if not readable:
                    return
                for source, target in ((local, remote), (remote, local)):
                    if source in readable:
                        data = source.recv(65536)
                        if not data:
                            return
                        target.sendall(data)
        finally:
            remote.close()


FORMATS = ("png", "svg", "pdf", "eps", "zpl")


async def one_job(session: aiohttp.ClientSession, url: str, fmt: str) -> str:
    """One QR code in `fmt` over the WebSocket; both its links fetched and decoded."""
    from tests.support.decode import decode  # noqa: PLC0415 - the checker's decoder, not the service's

    data = f"K8S-SMOKE-{fmt}-{uuid.uuid4().hex[:8]}"
    async with session.ws_connect(f"{url}/v1/ws") as ws:
        await ws.receive_json(timeout=30)
        await ws.send_json({"type": "generate", "data": data, "symbology": "qrcode", "format": fmt})
        while True:
            message = await ws.receive_json(timeout=60)
            if message["type"] in ("completed", "failed", "error"):
                break
    if message["type"] != "completed":
        raise RuntimeError(f"the {fmt} job did not complete: {message}")
    if message.get("verified") is not True:
        # A ZPL label is drawn back by the renderer in the service image (Node): it must be there.
        raise RuntimeError(f"the {fmt} job was not verified: {message.get('unverified_reason', message)}")
    sizes = []
    # `url` is signed for s3.publicEndpoint (a port-forward to MinIO); `file_url` goes through
    # the gateway (built from the Host header: this port-forward's address).
    for link in ("url", "file_url"):
        async with session.get(message[link]) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{fmt} {link} answered {resp.status}: {body[:200]!r}")
        found = await asyncio.to_thread(decode, body, message["content_type"])
        if found != [data]:
            raise RuntimeError(f"the {fmt} file from {link} decodes to {found}, not {data!r}")
        sizes.append(len(body))
    _say(f"{fmt}: job {message['job_id']} completed, {sizes[0]} bytes, url and file_url both decode to {data!r}")
    return fmt


async def every_format(url: str) -> list[str]:
    async with aiohttp.ClientSession() as session:
        return [await one_job(session, url, fmt) for fmt in FORMATS]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.k8s.smoke", description=__doc__)
    parser.add_argument("--namespace", default="barcode")
    parser.add_argument("--release", default="barcode-pipeline")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the rollouts")
    parser.add_argument("--gateway-port", type=int, default=8080, help="the gateway container's port")
    parser.add_argument("--url", help="a gateway already forwarded (`kubectl port-forward`): skip the rollout "
                                      "wait and this script's own port-forward")
    args = parser.parse_args()
    if args.url:
        asyncio.run(every_format(args.url))
        _say(f"OK: one job in each of {', '.join(FORMATS)}, every file decoded")
        return 0
    cluster = Cluster(args.namespace, args.release, args.context)
    _say(f"waiting for the rollouts of release {args.release} in namespace {args.namespace} ...")
    if not cluster.wait_for_rollouts(args.timeout):
        cluster.report_failure()
        return 1
    gateways = [p for p in cluster.pods("gateway") if pod_to_blame([p]) is None]
    if not gateways:
        cluster.report_failure()
        return 1
    forward = PortForward(cluster, gateways[0].metadata.name, args.gateway_port)
    _say(f"forwarding {forward.url} -> pod {gateways[0].metadata.name}:{args.gateway_port}")
    try:
        asyncio.run(every_format(forward.url))
    except Exception as exc:  # noqa: BLE001 - report any failure with the cluster's state
        _say(f"FAILED: {exc}")
        cluster.report_failure()
        return 1
    finally:
        forward.shutdown()
    _say(f"OK: one job in each of {', '.join(FORMATS)}, every file decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
