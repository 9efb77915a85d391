"""The k8s-test's Prometheus: what it is told to scrape, and that the dashboard's queries reach
the suite whole. (That they answer is checked against the real Prometheus by `make k8s-test`.)"""
from __future__ import annotations

import json
import re

from devstack.k8s import images, prometheus
from services.batcher.app import HELP as BATCHER
from services.gateway.metrics import HELP as GATEWAY
from services.generator.app import HELP as GENERATOR
from services.kafka.stage import HELP as STAGE
from services.lag.app import HELP as LAG
from services.notifier.app import HELP as NOTIFIER
from services.router.app import HELP as ROUTER


def test_it_scrapes_the_annotated_pods_of_the_release_only() -> None:
    config = prometheus.scrape_config("barcode")
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["barcode"]}}]
    keep, path, address, component, pod = job["relabel_configs"]
    assert (keep["action"], keep["regex"]) == ("keep", "true")
    assert path["target_label"] == "__metrics_path__"
    # The annotation's port replaces whatever port discovery found (the pod's IP stays).
    as_python = address["replacement"].replace("$1", r"\1").replace("$2", r"\2")
    assert re.fullmatch(address["regex"], "10.0.0.7:8080;9102") and re.fullmatch(address["regex"], "10.0.0.7;9102")
    assert re.sub(address["regex"], as_python, "10.0.0.7:8080;9102") == "10.0.0.7:9102"
    assert re.sub(address["regex"], as_python, "10.0.0.7;9102") == "10.0.0.7:9102"
    assert component["target_label"] == "component" and pod["target_label"] == "pod"


def test_it_runs_restricted_in_a_namespace_of_its_own_from_the_image_built_here() -> None:
    objects = prometheus.manifests("barcode")
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] not in ("Namespace", "ClusterRole",
                                                                                    "ClusterRoleBinding")} == {"observability"}
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == images.PROMETHEUS and spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap"]
    assert json.loads(config_map["data"]["prometheus.yml"]) == prometheus.scrape_config("barcode")


def test_every_dashboard_query_names_only_metrics_a_service_serves() -> None:
    served = {f"barcode_{service}_{name}" for service, helps in (
        ("gateway", GATEWAY), ("router", {**STAGE, **ROUTER}), ("generator", {**STAGE, **GENERATOR}),
        ("notifier", {**STAGE, **NOTIFIER}), ("batcher", BATCHER), ("kafka", LAG)) for name in helps}
    queries = prometheus.dashboard_queries()
    assert len(queries) >= 10
    for title, expr in queries:
        assert "$__" not in expr, (title, expr)  # every Grafana variable filled in
        for name in re.findall(r"\bbarcode_[a-z_]+", expr):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            if name.endswith(("_in_flight", "_dead_letters_total")) or "(router|generator|notifier)" in expr:
                continue  # named by a regex over the three stages: checked below
            assert base in served, (title, name)
    for stage in ("router", "generator", "notifier"):
        assert f"barcode_{stage}_in_flight" in served and f"barcode_{stage}_dead_letters_total" in served
