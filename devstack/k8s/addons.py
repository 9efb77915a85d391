"""What a fresh cluster needs before the chart: DNS, node-local storage, the restricted namespace.

Applied with the pinned kubectl (`kubectl apply` is idempotent, so a second `k8s-up` is a no-op).
"""
from __future__ import annotations

import json
import shutil

from devstack.k8s import layout

# Node-local volumes, pre-made: there is no dynamic provisioner on this machine. Enough for one
# release (Kafka and MinIO claim one each) plus a spare for an upgrade that reschedules.
PERSISTENT_VOLUMES = 4
VOLUME_SIZE = "5Gi"

COREFILE = """.:1053 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
"""


def _doc(obj: dict[str, object]) -> str:
    return json.dumps(obj)


def namespace() -> list[dict[str, object]]:
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": layout.NAMESPACE, "labels": labels}}]


def storage() -> list[dict[str, object]]:
    objects: list[dict[str, object]] = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": layout.STORAGE_CLASS},
        "provisioner": "kubernetes.io/no-provisioner",
        # Bind when a pod is scheduled, so the claim lands where the pod runs (one node here).
        "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Retain",
    }]
    for i in range(PERSISTENT_VOLUMES):
        objects.append({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": f"local-pv-{i}", "labels": {"barcode-pipeline/local-volume": "true"}},
            "spec": {
                "capacity": {"storage": VOLUME_SIZE}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": layout.STORAGE_CLASS,
                "local": {"path": str(layout.VOLUMES / f"pv-{i}")},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [layout.NODE_NAME]}]}]}},
            },
        })
    return objects


def prepare_volume_dirs() -> None:
    for i in range(PERSISTENT_VOLUMES):
        folder = layout.VOLUMES / f"pv-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        # Pods run as arbitrary non-root uids (restricted): the folder must be theirs to write.
        folder.chmod(0o777)


def wipe_volume(name: str) -> None:
    """Empty a released volume's folder before it is offered again (what a provisioner's Delete does)."""
    folder = layout.VOLUMES / name.removeprefix("local-")
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    folder.chmod(0o777)


def coredns(image: str) -> list[dict[str, object]]:
    labels = {"k8s-app": "kube-dns"}
    meta = {"name": "coredns", "namespace": "kube-system"}
    rules = [
        {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    ]
    restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                  "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True, "runAsUser": 65532,
                  "seccompProfile": {"type": "RuntimeDefault"}}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:coredns"},
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "system:coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
         "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"Corefile": COREFILE}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {**meta, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
             "metadata": {"labels": labels},
             "spec": {
                 "serviceAccountName": "coredns", "dnsPolicy": "Default",
                 "containers": [{
                     "name": "coredns", "image": image, "imagePullPolicy": "Never",
                     "args": ["-conf", "/etc/coredns/Corefile"],
                     "ports": [{"name": "dns", "containerPort": 1053, "protocol": "UDP"},
                               {"name": "dns-tcp", "containerPort": 1053, "protocol": "TCP"}],
                     "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10},
                     "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                     "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                     "securityContext": restricted,
                     "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                 }],
                 "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
             }}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {**meta, "name": "kube-dns", "labels": labels},
         "spec": {"selector": labels, "clusterIP": layout.DNS_SERVICE_IP, "ports": [
             {"name": "dns", "port": 53, "targetPort": 1053, "protocol": "UDP"},
             {"name": "dns-tcp", "port": 53, "targetPort": 1053, "protocol": "TCP"}]}},
    ]


def manifest(objects: list[dict[str, object]]) -> str:
    return "\n---\n".join(_doc(o) for o in objects) + "\n"
