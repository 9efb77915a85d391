"""A real Prometheus in the local cluster (k8s-test): it finds the release's pods by the scrape
annotations the chart puts on them, the way Prometheus' Kubernetes service discovery does in any
cluster, and the suite asks it what it scraped and runs every query of the chart's dashboard.

It runs in a namespace of its own (`observability`), so the release's namespace holds only what
`helm uninstall` removes; its permission to list pods is a ClusterRole (nothing namespaced is
left in the release's namespace either). The pinned Prometheus built from the Go module proxy
(scripts/prometheus), in an image built here (images/prometheus): no registry can be pulled
from, and Debian's package is built without Kubernetes service discovery.
"""
from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

from devstack import paths
from devstack.k8s import cluster, images, layout
from devstack.k8s.portforward import NO_PROXY, PortForward

NAMESPACE = "observability"
NAME = "prometheus"
PORT = 9090
SCRAPE_JOB = "barcode-pipeline"
DASHBOARD = paths.ROOT / "helm" / "barcode-pipeline" / "dashboards" / "barcode-pipeline.json"
# What a dashboard's Grafana variables stand for when the suite runs its queries.
GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__interval": "15s", "$__range": "10m"}


def scrape_config(watched: str) -> dict[str, Any]:
    """The usual annotation-driven pod discovery, limited to the release's namespace."""
    return {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "scrape_configs": [{
            "job_name": SCRAPE_JOB,
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [watched]}}],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "action": "keep",
                 "regex": "true"},
                {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"], "action": "replace",
                 "target_label": "__metrics_path__", "regex": "(.+)"},
                {"source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                 "action": "replace", "regex": r"([^:]+)(?::\d+)?;(\d+)", "replacement": "$1:$2",
                 "target_label": "__address__"},
                {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
                 "target_label": "component"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        }],
    }


def manifests(watched: str = layout.NAMESPACE) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": NAME}
    restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                  "capabilities": {"drop": ["ALL"]}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, "namespace": NAMESPACE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": f"{NAMESPACE}-{NAME}"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"{NAMESPACE}-{NAME}"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{NAMESPACE}-{NAME}"},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": NAME, "namespace": NAMESPACE},
         "data": {"prometheus.yml": json.dumps(scrape_config(watched), indent=2)}},  # JSON is YAML
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
             "metadata": {"labels": labels},
             "spec": {
                 "serviceAccountName": NAME,
                 "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                                     "seccompProfile": {"type": "RuntimeDefault"}},
                 "containers": [{
                     "name": NAME, "image": images.PROMETHEUS, "imagePullPolicy": "IfNotPresent",
                     "args": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                              f"--web.listen-address=:{PORT}", "--storage.tsdb.retention.time=2h"],
                     "ports": [{"name": "http", "containerPort": PORT}],
                     "readinessProbe": {"httpGet": {"path": "/-/ready", "port": PORT}, "periodSeconds": 2},
                     "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                     "securityContext": restricted,
                     "volumeMounts": [{"name": "config", "mountPath": "/etc/prometheus"},
                                      {"name": "data", "mountPath": "/prometheus"}],
                 }],
                 "volumes": [{"name": "config", "configMap": {"name": NAME}}, {"name": "data", "emptyDir": {}}],
             }}}},
    ]


def deploy(timeout_s: int = 300) -> str:
    """Apply, then wait until Prometheus says it is ready."""
    documents = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests()})
    applied = cluster.kubectl("apply", "-f", "-", input_text=documents, check=False)
    if applied.returncode != 0:
        raise RuntimeError(f"kubectl apply of Prometheus failed: {applied.stderr}")
    cluster.kubectl("-n", NAMESPACE, "rollout", "status", f"deployment/{NAME}", f"--timeout={timeout_s}s",
                    timeout=timeout_s + 30)
    return (f"Prometheus {paths.prometheus_version()} (Go module): scraping the pods of {layout.NAMESPACE} "
            "that its Kubernetes discovery finds annotated, every 5 s")


class Prometheus:
    """The HTTP API through a port-forward (the host reaches the cluster no other way)."""

    def __init__(self) -> None:
        self.forward = PortForward(f"deployment/{NAME}", PORT, namespace=NAMESPACE, probe_path="/-/ready")

    def __enter__(self) -> "Prometheus":
        self.forward.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.forward.__exit__(*exc)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (empty: no series)."""
        url = f"{self.forward.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with NO_PROXY.open(url, timeout=20) as resp:
            body = json.loads(resp.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus refused {expr!r}: {body}")
        return list(body["data"]["result"])

    def wait_for(self, expr: str, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        """The query's result once it has a series, or RuntimeError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                raise RuntimeError(f"no series for {expr!r} after {timeout_s:g} s")
            time.sleep(2)


def scraped_components(prom: Prometheus, wanted: set[str], timeout_s: float = 90.0) -> dict[str, int]:
    """Targets up per component, once every `wanted` component has one up."""
    deadline = time.monotonic() + timeout_s
    while True:
        up: dict[str, int] = {}
        for series in prom.query(f'up{{job="{SCRAPE_JOB}"}}'):
            component = series["metric"].get("component", "?")
            up[component] = up.get(component, 0) + (1 if series["value"][1] == "1" else 0)
        missing = {c for c in wanted if not up.get(c)}
        if not missing:
            return up
        if time.monotonic() > deadline:
            raise RuntimeError(f"Prometheus has no target up for {sorted(missing)} (up per component: {up})")
        time.sleep(2)


def dashboard_queries(path: Path = DASHBOARD) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of the dashboard, Grafana's variables filled in."""
    out = []
    for panel in json.loads(path.read_text())["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            out.append((panel["title"], expr))
    return out
