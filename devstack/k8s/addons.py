"""What a fresh cluster needs before the chart: the `barcode` namespace, restricted (minikube
brings DNS and the default StorageClass).

Applied with the pinned kubectl (`kubectl apply` is idempotent, so a second `k8s-up` is a no-op).
"""
from __future__ import annotations

import json

from devstack.k8s import layout


def _doc(obj: dict[str, object]) -> str:
    return json.dumps(obj)


def namespace() -> list[dict[str, object]]:
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": layout.NAMESPACE, "labels": labels}}]


def manifest(objects: list[dict[str, object]]) -> str:
    return "\n---\n".join(_doc(o) for o in objects) + "\n"
