"""`make k8s-test`: the path users take, run for real on the local cluster, with a summary table.

up -> images -> helm upgrade --install --wait -> every pod Ready -> a Prometheus that finds the
pods by their scrape annotations -> helm test -> smoke (one job per format, every file decoded,
through kubectl port-forward) -> a batch of 200 mixed rows, its ZIP and label sheet decoded -> 60 s
of load -> Prometheus scraped every component and saw the job counters move; every query of the
chart's Grafana dashboard returns a series -> pod deletions
under load (router, generator, notifier, Kafka): lost and duplicated results counted ->
rolling upgrade under load -> a WebSocket client whose gateway pod is deleted resumes on the
other -> helm uninstall leaves nothing -> the release again with three Kafka brokers (replication
3, min.insync.replicas 2): the busiest partition's leader deleted under load, then another leader,
then the Kafka StatefulSet rolled, with no client refused -> uninstalled -> make deploy with the
laptop values -> down. Any failed step fails the run, loudly; nothing
is skipped. Load and faults are bounded in count and time and go only to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devstack import paths
from devstack.chaos import Fault, drive
from devstack.k8s import box, cluster, layout, prometheus, say
from devstack.k8s.brokers import Brokers
from devstack.k8s.memory import worst_job_fits
from devstack.k8s.portforward import PortForward
from devstack.k8s.resume import resume_after_gateway_loss
from devstack.services import JOB_STAGES

CHART = paths.ROOT / "helm" / "barcode-pipeline"
LOCAL_VALUES = CHART / "ci" / "local-values.yaml"
THREE_BROKERS_VALUES = CHART / "ci" / "three-brokers-values.yaml"
RELEASE = "barcode-pipeline"
INSTANCE = f"app.kubernetes.io/instance={RELEASE}"
WORKLOADS = f"{INSTANCE},app.kubernetes.io/component!=test"  # not the `helm test` pod, which completes
SUMMARY = layout.ROOT / "k8s-test-summary.json"


@dataclass
class Step:
    name: str
    seconds: float = 0.0
    ok: bool = False
    detail: str = ""


DETAIL_CHARS = 600  # of a failed step's reason, in its row


@dataclass
class Suite:
    steps: list[Step] = field(default_factory=list)

    def run(self, name: str, action: Callable[[], str | None]) -> None:
        step = Step(name)
        self.steps.append(step)
        say(f"=== {name} ===")
        started = time.monotonic()
        try:
            step.detail = action() or ""
            step.ok = True
        except Exception as exc:
            # The table is what a CI excerpt shows: the reason goes in it, not only in the log.
            step.detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:DETAIL_CHARS]
            raise
        finally:
            step.seconds = time.monotonic() - started
            say(f"--- {name}: {'ok' if step.ok else 'FAILED'} in {step.seconds:.0f}s {step.detail}")

    def note(self, name: str, ok: bool, detail: str) -> None:
        """A row for a part of the step that just ran (one fault of several)."""
        self.steps.append(Step(name, 0.0, ok, detail))

    def table(self) -> str:
        lines = [f"| {'step':<50} | {'s':>5} | {'result':<6} | detail", f"|{'-' * 52}|{'-' * 7}|{'-' * 8}|-------"]
        for s in self.steps:
            seconds = f"{s.seconds:5.0f}" if s.seconds else ""  # notes (parts of a step) have no time of their own
            lines.append(f"| {s.name:<50} | {seconds:>5} | {'ok' if s.ok else 'FAILED':<6} | {s.detail}")
        return "\n".join(lines)


@contextmanager
def gateway_and_minio() -> Iterator[PortForward]:
    """The gateway on a free local port and MinIO on 9000 (the signed URLs name that port), each
    forward started again when its pod is replaced or stops answering."""
    with PortForward(f"service/{RELEASE}-gateway", 8080, probe_path="/healthz") as gateway, \
            PortForward(f"service/{RELEASE}-minio", 9000, local_port=9000, probe_path="/minio/health/live"):
        yield gateway


def helm_binary() -> str:
    from devstack.install import HELM, install_helm
    install_helm()
    return str(HELM)


def helm(*args: str, timeout: float = 900) -> str:
    out = subprocess.run([helm_binary(), f"--kubeconfig={layout.KUBECONFIG}", "-n", layout.NAMESPACE, *args],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args[:2])} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def kubectl(*args: str, timeout: float = 300) -> str:
    out = cluster.kubectl("-n", layout.NAMESPACE, *args, check=False, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def pods(component: str) -> list[str]:
    out = kubectl("get", "pods", "-l", f"{INSTANCE},app.kubernetes.io/component={component}",
                  "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
    return out.split()


def wait_all_ready(timeout: int = 300) -> str:
    kubectl("wait", "--for=condition=Ready", "pod", "-l", WORKLOADS, f"--timeout={timeout}s", timeout=timeout + 30)
    pods_now = json.loads(kubectl("get", "pods", "-l", WORKLOADS, "-o", "json"))["items"]
    restarted = restarts_of(pods_now)
    detail = f"{len(pods_now)} pods Ready, {sum(n for n, _ in restarted.values())} container restarts"
    for pod, (count, why) in restarted.items():
        # Why, in the row and with the last lines it wrote: a restart is not a failure of the
        # step (the pod came back), but it must not go unexplained (CI of c957ae9: a generator
        # restarted twice at install, and nothing said why).
        detail += f"; {pod} {count}x ({why})"
        previous = cluster.kubectl("-n", layout.NAMESPACE, "logs", pod, "--previous", "--tail=25", check=False)
        say(f"{pod} restarted {count}x ({why}); its last lines before:\n{previous.stdout or previous.stderr}")
    return detail


def restarts_of(pod_list: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """Pods whose containers restarted: (restarts, the last ending's reason and exit code)."""
    out = {}
    for pod in pod_list:
        for status in pod.get("status", {}).get("containerStatuses") or []:
            count = int(status.get("restartCount") or 0)
            if count:
                ended = (status.get("lastState") or {}).get("terminated") or {}
                why = f"{ended.get('reason', 'unknown')}, exit code {ended.get('exitCode', '?')}"
                out[pod["metadata"]["name"]] = (count, why)
    return out


def rollouts_done(timeout: int = 300) -> None:
    for kind in ("deployment", "statefulset"):
        for name in kubectl("get", kind, "-l", INSTANCE, "-o", "jsonpath={.items[*].metadata.name}").split():
            kubectl("rollout", "status", f"{kind}/{name}", f"--timeout={timeout}s", timeout=timeout + 30)


def delete_pod(component: str) -> Callable[[Any], None]:
    """A fault: delete one pod of `component` the way `kubectl delete pod` does (graceful), then
    wait for its replacement to be Ready."""
    def inject(_: Any) -> None:
        victim = pods(component)[0]
        kubectl("delete", "pod", victim, "--wait=true", timeout=180)
        rollouts_done()
    return inject


def rolling_upgrade(_: Any) -> None:
    helm("upgrade", RELEASE, str(CHART), "-f", str(LOCAL_VALUES), "--reuse-values", "--wait", "--timeout", "10m",
         "--set-string", f"default.podAnnotations.barcode-pipeline/restarted-at={int(time.time())}")
    rollouts_done()


def install(*extra_values: str) -> str:
    """helm upgrade --install with the local values (and `extra_values` files over them)."""
    # A run starts from nothing: a release left by an interrupted run would keep pods of an
    # older image (same tag, never pulled), and the run would test those.
    if RELEASE in helm("list", "-q", "--all").split():  # --all: an interrupted install is pending
        say(f"a release {RELEASE} is left from an earlier run: uninstalling it first")
        uninstall()
    files = [arg for path in (str(LOCAL_VALUES), *extra_values) for arg in ("-f", path)]
    out = helm("upgrade", "--install", RELEASE, str(CHART), *files, "--wait", "--timeout", "10m")
    status = [line for line in out.splitlines() if line.startswith(("STATUS:", "REVISION:"))]
    return ", ".join(status)


def faults_under_load(suite: Suite, gateway: PortForward, jobs: int, rate: float, faults: list[Fault],
                      drain: float, refusals_allowed: bool = True) -> str:
    """`refusals_allowed` False: a client refused while a fault lasts fails it (one broker of
    three lost must cost seconds of leader election, never an error)."""
    result = asyncio.run(drive(gateway.url, None, jobs, rate, 4, faults, drain))
    for (name, in_flight, lost, dup, rec), during, gap, errors in zip(
            result["faults"], result["sent_during"], result["longest_gap"], result["errors_during"]):
        # Lost/duplicated here are of the jobs in flight when it began; the step's own row
        # counts every job, including the `during` ones sent while it lasted.
        line = (f"{in_flight} jobs in flight at its start (lost {lost}, duplicated {dup}), {during} sent while "
                f"it lasted; first result {'-' if rec is None else f'{rec:.1f} s'} after it began; longest gap "
                f"between results {gap:.1f} s; {errors} refusals")
        say(f"{name}: {line}")
        suite.note(f"  {name}", lost == dup == 0 and (refusals_allowed or errors == 0), line)
    say(f"sent {result['sent']}, accepted {result['accepted']}, completed {result['completed']}, "
        f"failed {result['failed']}, lost {result['lost']}, duplicated {result['duplicated']}, "
        f"bad files {result['bad_files']}, reconnects {result['reconnects']}")
    if result["lost_jobs"]:
        say(f"what the gateway says of the lost jobs: {lost_job_states(gateway.url, result['lost_jobs'][:20])}")
    if result["lost"] or result["duplicated"] or result["bad_files"] or result["never_accepted"] or result["failed"]:
        raise RuntimeError("jobs lost or duplicated under faults: " + json.dumps(
            {k: v for k, v in result.items() if k not in ("faults", "lost_jobs")}))
    # A second job for one key is reported, not failed on: a known race (docs/reliability.md,
    # Known limits), found here, not fixed yet; every file is still checked against its request.
    second = f", second jobs for one key {result['second_jobs']}" if result["second_jobs"] else ""
    return (f"{result['accepted']} jobs at {rate:g}/s: completed {result['completed']}, lost {result['lost']}, "
            f"duplicated {result['duplicated']}, bad files {result['bad_files']}, client reconnects "
            f"{result['reconnects']}{second}")


def lost_job_states(url: str, job_ids: list[str]) -> dict[str, str]:
    """GET /v1/jobs/{id} for each: queued means the pipeline has not finished it; completed means
    its result exists and did not reach the client's socket."""
    import urllib.request  # noqa: PLC0415 - diagnostics only
    states = {}
    for job_id in job_ids:
        try:
            with urllib.request.urlopen(f"{url}/v1/jobs/{job_id}", timeout=10) as resp:
                states[job_id] = json.loads(resp.read()).get("status", "?")
        except OSError as exc:
            states[job_id] = f"error: {exc}"
    return states


def load(gateway: PortForward, rate: float, seconds: float) -> str:
    out_file = layout.ROOT / "k8s-load.json"
    subprocess.run([sys.executable, "-m", "loadtest", "--url", gateway.url, "--rate", str(rate),
                    "--duration", str(seconds), "--connections", "4", "--quiet", "--out", str(out_file)],
                   check=False, timeout=seconds + 180)
    step = json.loads(out_file.read_text())["steps"][0]
    lat = step["latency_ms"]
    detail = (f"{step['sent']} jobs at {step['offered_rate']:g}/s: p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms, "
              f"failed {sum(step['failed'].values())}, rejected {sum(step['rejected'].values())}, lost {step['lost']}")
    if step["lost"] or step["failed"] or step["rejected"]:
        raise RuntimeError(detail)
    return detail


def smoke(gateway: PortForward) -> str:
    out = subprocess.run([sys.executable, "-m", "devstack.k8s.smoke", "--url", gateway.url],
                         capture_output=True, text=True, timeout=300)
    print(out.stdout, out.stderr, flush=True)
    if out.returncode != 0:
        raise RuntimeError("k8s-smoke failed")
    return out.stdout.strip().splitlines()[-1].removeprefix("[k8s-smoke] OK: ")


def batch(gateway: PortForward, rows: int = 200) -> str:
    """A batch through the batcher pod: every file of its ZIP and every label of its PDF decoded
    here (the signed URLs go through the MinIO port-forward)."""
    out = subprocess.run([sys.executable, "-m", "loadtest", "--url", gateway.url, "--batches", "1", "--rows", str(rows),
                          "--batch-mix", "mixed", "--verify", "--quiet"], capture_output=True, text=True, timeout=600)
    print(out.stdout, out.stderr, flush=True)
    if out.returncode != 0:
        raise RuntimeError("the batch did not complete with every file and label decoded")
    return batch_detail(out.stdout, rows)


def batch_detail(report: str, rows: int) -> str:
    """The summary line of the load tool's batch table (loadtest/batches.py `report`)."""
    cells = [line.strip("| ").split(" | ") for line in report.splitlines()
             if line.startswith("| ") and "---" not in line and not line.startswith("| batch |")]
    if not cells:
        raise RuntimeError(f"no batch row in the load tool's report:\n{report}")
    _, _, _, last_row, outputs, rate, completed, failed = cells[-1]
    return (f"{rows} rows (QR, Data Matrix, EAN-13): last row after {last_row} s ({rate} rows/s), ZIP and PDF "
            f"at {outputs} s; {completed} completed, {failed} failed; every file and label decoded")


def uninstall() -> str:
    helm("uninstall", RELEASE, "--wait", "--timeout", "5m")
    deadline = time.monotonic() + 180
    while True:
        left = kubectl("get", "all,configmap,secret,pvc,serviceaccount,poddisruptionbudget,role,rolebinding",
                       "-o", "name").split()
        # What every namespace has of its own (not the release's).
        left = [o for o in left if o not in ("configmap/kube-root-ca.crt", "serviceaccount/default")]
        if not left:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"helm uninstall left: {' '.join(left)}")
        time.sleep(2)
    # The provisioner deletes a released volume's folder, then its PersistentVolume. A claim made
    # again before that (the next install: its volume has the same path) got a folder being
    # removed under it, and MinIO failed with "file access denied": wait for the volumes to go.
    while True:
        volumes = cluster.kubectl("get", "pv", "-o", "jsonpath={range .items[?(@.spec.claimRef.namespace=="
                                  f"'{layout.NAMESPACE}')]}}{{.metadata.name}} {{end}}").stdout.split()
        if not volumes:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the release's volumes were not deleted: {' '.join(volumes)}")
        time.sleep(1)
    return "namespace empty; the claims' volumes deleted by the default StorageClass"


def replication(brokers: Brokers) -> str:
    states = brokers.states()["partitions"]
    factors = {len(p["replicas"]) for p in states}
    if factors != {3}:
        raise RuntimeError(f"partitions with replication factors {sorted(factors)}, not 3")
    return f"{len(states)} partitions, leaders on nodes {sorted({p['leader'] for p in states})}"


# Every component of the chart, as its pods' component label says: each must be scraped.
SCRAPED = {"gateway", "router", "generator", "notifier", "batcher", "lag"}


def scraped(prom: prometheus.Prometheus) -> str:
    up = prometheus.scraped_components(prom, SCRAPED)
    published = prom.wait_for("sum(increase(barcode_gateway_jobs_published_total[3m])) > 0")
    completed = prom.wait_for('sum(increase(barcode_notifier_results_total{status="completed"}[3m])) > 0')
    return (f"targets up: {', '.join(f'{c} {n}' for c, n in sorted(up.items()))}; in the last 3 min "
            f"{float(published[0]['value'][1]):.0f} jobs published, {float(completed[0]['value'][1]):.0f} completed")


def dashboard(prom: prometheus.Prometheus, gateway: PortForward) -> str:
    """Each target of dashboards/barcode-pipeline.json must return a series. The refusals panel
    needs one refusal: a request for a symbology that does not exist is one."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415
    bad = urllib.request.Request(f"{gateway.url}/v1/jobs", data=b'{"symbology": "no-such-symbology", "data": "x"}',
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(bad, timeout=10)
        raise RuntimeError("the gateway took a job for a symbology that does not exist")
    except urllib.error.HTTPError as exc:
        if exc.code != 400:
            raise
    queries = prometheus.dashboard_queries()
    answers = {expr: prom.wait_for(expr, timeout_s=45) for _, expr in queries}
    p99 = answers['histogram_quantile(0.99, sum by (le) (rate(barcode_gateway_job_seconds_bucket[2m])))']
    lag = answers["sum by (group, topic) (barcode_kafka_consumer_lag)"]
    return (f"{len(queries)} queries of {len({title for title, _ in queries})} panels, each with a series; e.g. job "
            f"p99 {float(p99[0]['value'][1]) * 1000:.0f} ms, lag series {len(lag)}")


def cluster_memory() -> str:
    pods, node = cluster.memory_mib()
    return (f"pods {pods:.0f} MiB resident (control plane and release), kubelet + containerd + shims {node:.0f} MiB; "
            f"{pods + node:.0f} MiB in all")


def laptop_deploy() -> str:
    """`make deploy` as on a user's minikube: the chart's laptop values (one of each service,
    the default requests, volumes from minikube's default StorageClass), then one job in each
    format through a port-forward, then uninstalled."""
    out = subprocess.run(["make", "deploy"], cwd=paths.ROOT, capture_output=True, text=True, timeout=900)
    print(out.stdout[-2000:], out.stderr[-2000:], flush=True)
    if out.returncode != 0:
        raise RuntimeError("make deploy (laptop values) failed")
    with gateway_and_minio() as gateway:
        detail = smoke(gateway)
    uninstall()
    return f"ready, {detail}; uninstalled"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.k8s.suite", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the cluster (and the release) up at the end")
    parser.add_argument("--load-rate", type=float, default=15.0, help="jobs/s for the steady load and the faults")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    suite = Suite()
    started = time.monotonic()
    failed = False
    try:
        from devstack.k8s import images
        suite.run("cluster up", lambda: cluster.up() or "")
        suite.run("images built and loaded", lambda: images.build_and_load(str(box.CONTAINERD_SOCKET)) or "")
        suite.run("helm upgrade --install --wait", install)
        suite.run("every pod Ready", wait_all_ready)
        suite.run("Prometheus in the cluster, discovering the pods by annotation", prometheus.deploy)
        suite.run("helm test", lambda: ", ".join(line for line in helm("test", RELEASE, "--timeout", "5m").splitlines()
                                                  if line.startswith(("Phase:", "TEST SUITE:"))))
        with gateway_and_minio() as gateway:
            suite.run("k8s-smoke: every format, decoded", lambda: smoke(gateway))
            suite.run("batch: ZIP and PDF label sheet, every file and label decoded", lambda: batch(gateway))
            suite.run("largest accepted job within the generator's memory limit",
                      lambda: worst_job_fits(gateway.url, kubectl, pods))
            suite.run(f"load {args.load_seconds:g}s at {args.load_rate:g}/s", lambda: load(gateway, args.load_rate, args.load_seconds))
            suite.run("cluster memory after the load", cluster_memory)
            with prometheus.Prometheus() as prom:
                suite.run("Prometheus scraped every component; job counters moved during the load",
                          lambda: scraped(prom))
                suite.run("every query of the chart's Grafana dashboard answers", lambda: dashboard(prom, gateway))
            faults = [Fault(f"delete {c} pod", delete_pod(c)) for c in (*JOB_STAGES, "kafka")]
            suite.run("pod deletions under load", lambda: faults_under_load(suite, gateway, 1200, args.load_rate, faults, 300))
            upgrade = [Fault("helm upgrade (rolling restart)", rolling_upgrade)]
            suite.run("rolling upgrade under load", lambda: faults_under_load(suite, gateway, 600, args.load_rate, upgrade, 300))
        suite.run("WebSocket resume after its gateway pod is deleted", lambda: resume_after_gateway_loss(pods, kubectl))
        suite.run("helm uninstall leaves nothing", uninstall)
        suite.run("three Kafka brokers: helm upgrade --install --wait", lambda: install(str(THREE_BROKERS_VALUES)))
        brokers = Brokers(RELEASE, kubectl, pods)
        suite.run("three brokers: every partition on 3 replicas, all in sync",
                  lambda: f"in sync after {brokers.in_sync():.0f} s; {replication(brokers)}")
        with gateway_and_minio() as gateway:
            suite.run("three brokers: leader, second broker, StatefulSet roll under load",
                      lambda: faults_under_load(suite, gateway, int(args.load_rate * 300), args.load_rate,
                                                brokers.faults(), 300, refusals_allowed=False))
        suite.run("helm uninstall leaves nothing (three brokers)", uninstall)
        suite.run("make deploy with the laptop values, as on a user's minikube", laptop_deploy)
    except Exception as exc:  # noqa: BLE001 - every failure is reported with the table, then the cluster's state
        failed = True
        say(f"FAILED: {exc}")
        print(cluster.kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout, flush=True)
    finally:
        if not args.keep:
            try:
                suite.run("cluster down (nothing left behind)", _cluster_down)
            except RuntimeError:
                failed = True
    total = time.monotonic() - started
    print(f"\nk8s-test summary ({total / 60:.1f} min):\n{suite.table()}", flush=True)
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps({"total_s": round(total), "steps": [s.__dict__ for s in suite.steps]}, indent=2))
    return 1 if failed or not all(s.ok for s in suite.steps) else 0


def _cluster_down() -> str:
    if cluster.down() != 0:
        raise RuntimeError("k8s-down left things behind (listed above)")
    return ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
