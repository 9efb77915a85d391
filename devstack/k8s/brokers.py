"""`make k8s-test`'s three-broker faults (issue 29): the pod leading the busiest partition deleted
under load, then a second broker, then the Kafka StatefulSet rolled; each time the cluster must
be back in sync before the next.

Which broker leads what is asked inside a gateway pod (`python -m services.kafka.leaders`): the
brokers advertise cluster DNS names, which resolve only there, and the host talks to the cluster
only through port-forwards.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from devstack.chaos import Fault
from devstack.k8s import say

Kubectl = Callable[..., str]
Pods = Callable[[str], list[str]]


class Brokers:
    """The release's Kafka StatefulSet as seen through kubectl."""

    def __init__(self, release: str, kubectl: Kubectl, pods: Pods) -> None:
        self.statefulset = f"{release}-kafka"
        self.kubectl, self.pods = kubectl, pods
        self.killed: list[int] = []  # node ids deleted so far, in order

    def states(self) -> dict[str, Any]:
        """`python -m services.kafka.leaders` run in a gateway pod: leaders, ISRs, end offsets."""
        gateway = self.pods("gateway")[0]
        return dict(json.loads(self.kubectl("exec", gateway, "--", "python", "-m", "services.kafka.leaders",
                                            timeout=60)))

    def in_sync(self, within_s: float = 240.0) -> float:
        """Wait until every partition has a leader and all its replicas in sync; seconds waited."""
        started = time.monotonic()
        last = ""
        while time.monotonic() - started < within_s:
            try:
                states = self.states()
                lagging = [p for p in states["partitions"] if p["leader"] < 0 or len(p["isr"]) < len(p["replicas"])]
                if not lagging:
                    return time.monotonic() - started
                last = f"{len(lagging)} partitions under-replicated, e.g. {lagging[0]}"
            except (RuntimeError, ValueError, KeyError) as exc:  # a gateway pod between states
                last = str(exc)[:300]
            time.sleep(2)
        raise RuntimeError(f"Kafka not back in sync after {within_s:.0f} s: {last}")

    def _delete(self, node_id: int) -> None:
        pod = f"{self.statefulset}-{node_id}"
        self.killed.append(node_id)
        say(f"deleting {pod} (node {node_id})")
        self.kubectl("delete", "pod", pod, "--wait=true", timeout=180)
        self.kubectl("rollout", "status", f"statefulset/{self.statefulset}", "--timeout=300s", timeout=330)
        say(f"{pod} back; in sync after {self.in_sync():.0f} s more")

    def delete_busiest_leader(self, _: Any) -> None:
        self._delete(int(self.states()["busiest_leader"]))

    def delete_another(self, _: Any) -> None:
        """The leader of the busiest partition among the nodes not deleted yet."""
        led = [p for p in self.states()["partitions"] if p["leader"] >= 0 and p["leader"] not in self.killed]
        if not led:
            raise RuntimeError(f"no partition led by a node other than {self.killed}")
        self._delete(int(led[0]["leader"]))

    def roll(self, _: Any) -> None:
        """`kubectl rollout restart`: each node replaced in turn, highest ordinal first."""
        self.kubectl("rollout", "restart", f"statefulset/{self.statefulset}")
        self.kubectl("rollout", "status", f"statefulset/{self.statefulset}", "--timeout=600s", timeout=630)
        say(f"StatefulSet rolled; in sync after {self.in_sync():.0f} s more")

    def faults(self) -> list[Fault]:
        return [Fault("delete the busiest partition's leader", self.delete_busiest_leader),
                Fault("delete a second broker", self.delete_another),
                Fault("roll the Kafka StatefulSet", self.roll)]
