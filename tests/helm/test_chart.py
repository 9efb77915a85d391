"""The Helm chart, checked without a cluster: `helm lint`, `helm template` with the default
values and every file in helm/barcode-pipeline/ci/, every rendered object validated against
the Kubernetes OpenAPI schemas (kubernetes-validate, offline), and the properties the chart
promises asserted on every workload. `make k8s-test` installs it on a real cluster."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devstack import paths
from devstack.install import HELM

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "barcode-pipeline"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
KUBERNETES = "1.37.0"  # the newest schemas kubernetes-validate carries
SERVICES = ("gateway", "router", "generator", "notifier", "batcher", "lag")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Pod")


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    # helm built with `go install` has no cluster version stamped in (it would assume 1.20).
    return subprocess.run([str(HELM), *args, "--kube-version", KUBERNETES], capture_output=True, text=True,
                          timeout=120)


def render(*values: Path, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    args = ["template", "barcode-pipeline", str(CHART), "--namespace", "barcode"]
    for v in values:
        args += ["-f", str(v)]
    for s in sets:
        args += ["--set", s]
    result = helm(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


@pytest.fixture(scope="module", params=[None, *CI_VALUES], ids=lambda p: "default" if p is None else p.name)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(*( [request.param] if request.param else []))


def test_helm_lint_passes_with_every_values_file() -> None:
    for values in [None, *CI_VALUES]:
        result = helm("lint", "--strict", str(CHART), *(["-f", str(values)] if values else []))
        assert result.returncode == 0, f"{values}: {result.stdout}{result.stderr}"


def test_every_object_is_valid_against_the_kubernetes_schemas(rendered: list[dict[str, Any]]) -> None:
    for obj in rendered:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)  # raises on any violation


def test_every_workload_runs_restricted(rendered: list[dict[str, Any]]) -> None:
    workloads = [o for o in rendered if o["kind"] in WORKLOAD_KINDS]
    assert workloads
    for obj in workloads:
        spec = pod_spec(obj)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec["automountServiceAccountToken"] is False, where
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] > 0, where
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"] + spec.get("initContainers", []):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert "memory" in resources["limits"], where


def test_every_object_carries_the_standard_labels(rendered: list[dict[str, Any]]) -> None:
    wanted = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
              "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of"}
    for obj in rendered:
        assert wanted <= set(obj["metadata"]["labels"]), obj["metadata"]["name"]
        if obj["kind"] in ("Deployment", "StatefulSet"):
            assert wanted <= set(obj["spec"]["template"]["metadata"]["labels"])


def test_services_have_probes_pdbs_and_a_grace_period_longer_than_their_drain(rendered: list[dict[str, Any]]) -> None:
    deployments = {o["metadata"]["labels"]["app.kubernetes.io/component"]: o
                   for o in rendered if o["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    pdbs = {o["metadata"]["labels"]["app.kubernetes.io/component"] for o in rendered if o["kind"] == "PodDisruptionBudget"}
    assert pdbs - {"kafka"} == set(SERVICES)  # three in-chart brokers have one too
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == "http", (name, probe)
        # Readiness asks Kafka (a worker that cannot reach it takes no part in a rollout);
        # liveness stays process-only, so a broker outage does not restart every pod.
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert spec["terminationGracePeriodSeconds"] > float(env["BARCODE_DRAIN_SECONDS"])
        assert container["args"] == [f"services.{name}"]
        port = container["ports"][0]["containerPort"]
        health_port = {"gateway": "GATEWAY_PORT", "router": "ROUTER_HEALTH_PORT", "generator": "GENERATOR_HEALTH_PORT",
                       "notifier": "NOTIFIER_HEALTH_PORT", "batcher": "BATCHER_HEALTH_PORT", "lag": "LAG_HEALTH_PORT"}[name]
        assert env[health_port] == str(port), name  # the probe asks where the service listens


def test_gateway_scales_on_cpu_and_scales_down_slowly() -> None:
    hpa = next(o for o in render() if o["kind"] == "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "barcode-pipeline-gateway"
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    gateway = next(o for o in render() if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("gateway"))
    assert "replicas" not in gateway["spec"]  # the HPA owns it


def test_laptop_values_bring_kafka_and_minio_with_volumes() -> None:
    objects = render(CHART / "ci" / "laptop-values.yaml")
    statefulsets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "StatefulSet"}
    assert set(statefulsets) == {"barcode-pipeline-kafka", "barcode-pipeline-minio"}
    for sts in statefulsets.values():
        assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"
    kafka = statefulsets["barcode-pipeline-kafka"]["spec"]["template"]["spec"]["containers"][0]
    assert kafka["image"] == "barcode-pipeline-kafka:0.1.0"  # built by `make images` from the pinned jars
    env = {e["name"]: e.get("value") for e in kafka["env"]}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_external_values_point_every_service_at_the_external_cluster() -> None:
    objects = render(CHART / "ci" / "external-values.yaml")
    assert not [o for o in objects if o["kind"] == "StatefulSet"]
    assert not [o for o in objects if o["kind"] == "Secret"]  # existing Secrets are referenced
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        container = pod_spec(deployment)["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        assert env["BARCODE_KAFKA_BOOTSTRAP"]["value"].startswith("b-1.kafka.internal:9092")
        assert env["BARCODE_REPLICATION_FACTOR"]["value"] == "3"
        assert env["BARCODE_MIN_INSYNC_REPLICAS"]["value"] == "2"
        assert env["BARCODE_S3_ENDPOINT"]["value"] == "https://s3.eu-west-1.amazonaws.com"
        assert env["BARCODE_S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "barcode-s3"
        assert env["BARCODE_LOG_LEVEL"]["value"] == "WARNING"  # default.env reaches every service
        assert container["image"] == "registry.example.com/barcode-pipeline:0.1.0"


def test_company_profiles_default_to_the_repositorys() -> None:
    shipped = (ROOT / "config" / "companies.yaml").read_text()
    assert (CHART / "files" / "companies.yaml").read_text() == shipped  # kept in sync
    config = next(o for o in render() if o["kind"] == "ConfigMap")
    assert yaml.safe_load(config["data"]["companies.yaml"]) == yaml.safe_load(shipped)


@pytest.mark.parametrize(("sets", "message"), [
    (("components.generator.replicas=3",), "components.generator.replicas (3) is more than kafka.partitions (2)"),
    (("components.router.terminationGracePeriodSeconds=10",), "terminationGracePeriodSeconds must be longer"),
    (("kafka.enabled=false",), "kafka.bootstrap is required"),
    (("components.gateway.replcias=3",), "additional properties 'replcias' not allowed"),
    (("kafka.partitions=0",), "minimum: got 0, want 1"),
    (("image.pullPolicy=Sometimes",), "value must be one of"),
    (("gateway.apiKeys={secret-key=CompanyA}",), "does not match pattern"),
])
def test_bad_values_are_rejected_with_a_reason(sets: tuple[str, ...], message: str) -> None:
    args = ["template", "barcode-pipeline", str(CHART)]
    for s in sets:
        args += ["--set", s]
    result = helm(*args)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_the_test_hook_sends_one_job_through_the_gateway() -> None:
    pod = next(o for o in render() if o["kind"] == "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    # `helm uninstall` leaves hooks behind: a passed test pod must delete itself.
    assert "hook-succeeded" in pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    args = pod["spec"]["containers"][0]["args"]
    assert args[0] == "loadtest" and "http://barcode-pipeline-gateway:8080" in args


def _kafka_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"].endswith("-kafka"))
    return pod_spec(sts)["containers"][0]


def test_kafka_cluster_id_is_one_kafka_accepts(tmp_path: Path) -> None:
    """KRaft wants a base64url-encoded 16-byte UUID; a hex string cut to 22 characters is not one.
    Checked by Kafka's own storage tool from the pinned jars (`make install`)."""
    env = {e["name"]: e.get("value") for e in _kafka_container(render())["env"]}
    cluster_id = env["CLUSTER_ID"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}[AQgw]", cluster_id), cluster_id
    props = tmp_path / "server.properties"
    props.write_text("process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:1\n"
                     "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:1\ncontroller.listener.names=CONTROLLER\n"
                     f"log.dirs={tmp_path / 'data'}\n")
    jars = str(paths.kafka_libs() / "*")
    result = subprocess.run(["java", "-cp", jars, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                             "-c", str(props)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"cluster.id={cluster_id}" in (tmp_path / "data" / "meta.properties").read_text()


def test_kafka_and_minio_write_only_to_their_volumes_and_tmp() -> None:
    """Read-only root filesystems: nothing may need a writable path the pod does not mount."""
    objects = render()
    for sts in (o for o in objects if o["kind"] == "StatefulSet"):
        spec = pod_spec(sts)
        assert "initContainers" not in spec  # our images need no config seeding
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts, sts["metadata"]["name"]
        claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
        assert {m["name"] for m in container["volumeMounts"]} - {v["name"] for v in spec["volumes"]} <= claims


def test_uninstall_takes_the_volume_claims_with_it() -> None:
    for sts in (o for o in render() if o["kind"] == "StatefulSet"):
        assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete", sts["metadata"]["name"]


def test_local_values_use_imported_images_and_the_clusters_default_storage() -> None:
    objects = render(CHART / "ci" / "local-values.yaml")
    for obj in (o for o in objects if o["kind"] in WORKLOAD_KINDS):
        for container in pod_spec(obj)["containers"]:
            if obj["kind"] != "Pod":
                assert container["imagePullPolicy"] == "Never", obj["metadata"]["name"]
    for sts in (o for o in objects if o["kind"] == "StatefulSet"):
        # minikube's storage-provisioner is the default StorageClass, as on a laptop.
        assert "storageClassName" not in sts["spec"]["volumeClaimTemplates"][0]["spec"]
    gateway = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-gateway"))
    assert gateway["spec"]["replicas"] == 2  # a resuming client needs another gateway to go to


def test_a_new_component_needs_values_only() -> None:
    """Deployments come from one range over .Values.components: no list of names in a template."""
    objects = render(sets=("components.extra.enabled=true", "components.extra.module=services.router",
                           "components.extra.port=9200", "components.extra.probes.liveness=/healthz",
                           "components.extra.probes.readiness=/readyz", "components.extra.probes.startup=/healthz"))
    names = {o["metadata"]["name"] for o in objects if o["kind"] in ("Deployment", "PodDisruptionBudget")}
    assert "barcode-pipeline-extra" in names
    for template in (CHART / "templates").glob("*.yaml"):
        assert '"router" "generator"' not in template.read_text(), template.name


def test_liveness_probes_restart_only_after_a_long_silence(rendered: list[dict[str, Any]]) -> None:
    """On a busy node one probe can take over a second: no container is killed for that, only
    after 30 s without an answer (timeouts of at least 3 s)."""
    for obj in (o for o in rendered if o["kind"] in ("Deployment", "StatefulSet")):
        container = pod_spec(obj)["containers"][0]
        probe = container["livenessProbe"]
        where = obj["metadata"]["name"]
        assert probe.get("timeoutSeconds", 1) >= 3, where
        assert probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3) >= 30, where
        assert "startupProbe" in container or probe.get("initialDelaySeconds", 0) >= 30, where


def _kafka(rendered: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Kafka StatefulSet and its container's environment."""
    statefulset = next(o for o in rendered if o["kind"] == "StatefulSet"
                       and o["metadata"]["labels"]["app.kubernetes.io/component"] == "kafka")
    env = {e["name"]: e for e in pod_spec(statefulset)["containers"][0]["env"]}
    return statefulset, env


def test_three_brokers_form_a_quorum_of_stable_nodes_and_the_services_know_all_three() -> None:
    rendered = render(CHART / "ci" / "local-values.yaml", CHART / "ci" / "three-brokers-values.yaml")
    statefulset, env = _kafka(rendered)
    assert statefulset["spec"]["replicas"] == 3 and statefulset["spec"]["podManagementPolicy"] == "Parallel"
    headless = next(o for o in rendered if o["kind"] == "Service" and o["metadata"]["name"] == statefulset["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    # The node id is the pod's ordinal; the voters are the three pods' own names.
    assert env["KAFKA_NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['apps.kubernetes.io/pod-index']"
    nodes = headless["metadata"]["name"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"]["value"] == ",".join(
        f"{n}@barcode-pipeline-kafka-{n}.{nodes}:9093" for n in range(3))
    assert env["KAFKA_ADVERTISED_LISTENERS"]["value"] == f"PLAINTEXT://$(POD_NAME).{nodes}:9092"
    assert (env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]["value"], env["KAFKA_MIN_INSYNC_REPLICAS"]["value"]) == ("3", "2")
    pdb = next(o for o in rendered if o["kind"] == "PodDisruptionBudget"
               and o["metadata"]["labels"]["app.kubernetes.io/component"] == "kafka")
    assert pdb["spec"]["maxUnavailable"] == 1
    for deployment in (o for o in rendered if o["kind"] == "Deployment"):
        service_env = {e["name"]: e.get("value") for e in pod_spec(deployment)["containers"][0]["env"]}
        assert service_env["BARCODE_KAFKA_BOOTSTRAP"] == ",".join(
            f"barcode-pipeline-kafka-{n}.{nodes}:9092" for n in range(3))
        assert (service_env["BARCODE_REPLICATION_FACTOR"], service_env["BARCODE_MIN_INSYNC_REPLICAS"]) == ("3", "2")


def test_one_broker_stays_as_it_was_and_more_copies_than_brokers_is_refused() -> None:
    statefulset, env = _kafka(render())
    assert statefulset["spec"]["replicas"] == 1
    assert (env["KAFKA_NODE_ID"]["value"], env["KAFKA_CONTROLLER_QUORUM_VOTERS"]["value"]) == ("1", "1@localhost:9093")
    refused = helm("template", "barcode-pipeline", str(CHART), "--set", "kafka.replicationFactor=3")
    assert refused.returncode != 0 and "kafka.replicationFactor 3 needs as many brokers; kafka.brokers is 1" in refused.stderr
    assert helm("template", "barcode-pipeline", str(CHART), "--set", "kafka.brokers=2").returncode != 0  # 1 or 3


def test_every_service_pod_tells_prometheus_where_its_metrics_are() -> None:
    ports = {"gateway": "8080", "router": "9101", "generator": "9102", "notifier": "9103", "batcher": "9104",
             "lag": "9105"}
    for deployment in (o for o in render() if o["kind"] == "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"],
                annotations["prometheus.io/path"]) == ("true", ports[component], "/metrics"), component
        container = pod_spec(deployment)["containers"][0]
        assert int(ports[component]) in {p["containerPort"] for p in container["ports"]}
    off = render(sets=("metrics.scrapeAnnotations=false",))
    assert not any("prometheus.io/scrape" in o["spec"]["template"]["metadata"]["annotations"]
                   for o in off if o["kind"] == "Deployment")


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in pod_spec(deployment)["containers"][0].get("env", [])}


def test_an_otlp_endpoint_turns_traces_on_in_every_service_and_none_leaves_them_off() -> None:
    deployments = [o for o in render() if o["kind"] == "Deployment" and o["metadata"]["labels"].get(
        "app.kubernetes.io/component") in ("gateway", "router", "generator", "notifier", "batcher")]
    assert len(deployments) == 5 and not any("BARCODE_OTLP_ENDPOINT" in _env(d) for d in deployments)
    on = render(sets=("tracing.otlpEndpoint=http://jaeger-collector.observability:4318", "tracing.sample=0.25"))
    traced = [o for o in on if o["kind"] == "Deployment" and o["metadata"]["labels"].get(
        "app.kubernetes.io/component") in ("gateway", "router", "generator", "notifier", "batcher")]
    for deployment in traced:
        env = _env(deployment)
        assert (env["BARCODE_OTLP_ENDPOINT"], env["BARCODE_TRACE_SAMPLE"]) == (
            "http://jaeger-collector.observability:4318", "0.25"), deployment["metadata"]["name"]
    refused = helm("template", "barcode-pipeline", str(CHART), "--set", "tracing.otlpEndpoint=jaeger:4318")
    assert refused.returncode != 0 and "/tracing/otlpEndpoint" in refused.stderr


def test_the_grafana_dashboard_ships_in_a_configmap_grafanas_sidecar_finds() -> None:
    import json
    (config_map,) = [o for o in render() if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard")]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["barcode-pipeline.json"])
    assert dashboard == json.loads((CHART / "dashboards" / "barcode-pipeline.json").read_text())
    titles = {panel["title"] for panel in dashboard["panels"]}
    for wanted in ("Jobs per second", "Time in each stage, p99", "Results by outcome and error code",
                   "Consumer lag by group and topic", "Batches", "Gateway WebSockets"):
        assert wanted in titles
    assert not any(o["metadata"]["name"].endswith("-dashboard") for o in render(sets=("dashboard.enabled=false",))
                   if o["kind"] == "ConfigMap")


def test_the_lag_exporter_is_one_small_pod_that_prometheus_scrapes() -> None:
    (lag,) = [o for o in render() if o["kind"] == "Deployment"
              and o["metadata"]["labels"]["app.kubernetes.io/component"] == "lag"]
    container = pod_spec(lag)["containers"][0]
    assert container["args"][-1] == "services.lag" and lag["spec"]["replicas"] == 1
    assert _env(lag)["LAG_HEALTH_PORT"] == "9105"
