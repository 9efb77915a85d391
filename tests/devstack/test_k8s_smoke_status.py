"""The smoke script's decisions on objects built with the kubernetes client's own models."""
from __future__ import annotations

from kubernetes.client import (V1ContainerState, V1ContainerStateRunning, V1ContainerStateTerminated,
                               V1ContainerStateWaiting, V1ContainerStatus, V1Deployment, V1DeploymentCondition,
                               V1DeploymentSpec, V1DeploymentStatus, V1LabelSelector, V1ObjectMeta, V1Pod,
                               V1PodCondition, V1PodStatus, V1PodTemplateSpec, V1StatefulSet, V1StatefulSetSpec,
                               V1StatefulSetStatus)

from devstack.k8s.status import describe, pod_to_blame, rollout_complete


def _deployment(replicas: int = 2, generation: int = 3, observed: int = 3, updated: int = 2, available: int = 2,
                total: int = 2, conditions: list[V1DeploymentCondition] | None = None) -> V1Deployment:
    return V1Deployment(
        metadata=V1ObjectMeta(name="barcode-gateway", generation=generation),
        spec=V1DeploymentSpec(replicas=replicas, selector=V1LabelSelector(), template=V1PodTemplateSpec()),
        status=V1DeploymentStatus(observed_generation=observed, updated_replicas=updated, available_replicas=available,
                                  replicas=total, ready_replicas=available, conditions=conditions))


def test_a_deployment_is_rolled_out_when_every_replica_is_new_and_available() -> None:
    assert rollout_complete(_deployment()) == (True, "2/2 available")


def test_a_deployment_is_not_rolled_out_while_anything_is_behind() -> None:
    assert rollout_complete(_deployment(observed=2)) == (False, "waiting for the controller to see the new spec")
    assert rollout_complete(_deployment(updated=1)) == (False, "1 of 2 replicas updated")
    assert rollout_complete(_deployment(total=3)) == (False, "1 old replicas still terminating")
    assert rollout_complete(_deployment(available=1)) == (False, "1 of 2 updated replicas available")
    stuck = V1DeploymentCondition(type="Progressing", status="False", reason="ProgressDeadlineExceeded",
                                  message="ReplicaSet has timed out progressing")
    done, why = rollout_complete(_deployment(conditions=[stuck]))
    assert not done and why.startswith("progress deadline exceeded")


def test_a_statefulset_is_rolled_out_when_its_pods_are_ready() -> None:
    def sts(ready: int) -> V1StatefulSet:
        return V1StatefulSet(metadata=V1ObjectMeta(name="barcode-kafka", generation=1),
                             spec=V1StatefulSetSpec(replicas=1, selector=V1LabelSelector(), service_name="k",
                                                    template=V1PodTemplateSpec()),
                             status=V1StatefulSetStatus(observed_generation=1, replicas=1, ready_replicas=ready,
                                                        updated_replicas=1, current_revision="a", update_revision="a"))
    assert rollout_complete(sts(1)) == (True, "1/1 ready")
    assert rollout_complete(sts(0)) == (False, "0 of 1 pods ready")


def _pod(name: str, phase: str = "Running", ready: bool = True, waiting: str | None = None, restarts: int = 0,
         conditions: list[V1PodCondition] | None = None) -> V1Pod:
    state = V1ContainerState(waiting=V1ContainerStateWaiting(reason=waiting, message="details")) if waiting \
        else V1ContainerState(running=V1ContainerStateRunning())
    last = V1ContainerState(terminated=V1ContainerStateTerminated(exit_code=1, reason="Error")) if restarts else None
    container = V1ContainerStatus(name="app", image="img", image_id="", ready=ready, restart_count=restarts,
                                  state=state, last_state=last)
    return V1Pod(metadata=V1ObjectMeta(name=name),
                 status=V1PodStatus(phase=phase, container_statuses=[container], conditions=conditions))


def test_healthy_pods_blame_nobody() -> None:
    assert pod_to_blame([_pod("a"), _pod("b")]) is None


def test_the_worst_pod_is_blamed_with_its_reason() -> None:
    pods = [_pod("unready", ready=False), _pod("restarting", restarts=4),
            _pod("bad-image", phase="Pending", ready=False, waiting="ImagePullBackOff")]
    pod, why = pod_to_blame(pods)  # type: ignore[misc]
    assert pod.metadata.name == "bad-image" and why == "container app: ImagePullBackOff: details"
    pod, why = pod_to_blame(pods[:2])  # type: ignore[misc]
    assert pod.metadata.name == "restarting" and "restarted 4x, last exit 1 (Error)" in why


def test_an_unschedulable_pod_says_why() -> None:
    unschedulable = V1PodCondition(type="PodScheduled", status="False", message="0/1 nodes: insufficient memory")
    pod = _pod("big", phase="Pending", ready=False, conditions=[unschedulable])
    pod.status.container_statuses = None
    assert pod_to_blame([pod]) == (pod, "unschedulable: 0/1 nodes: insufficient memory")


def test_describe_lists_each_container_state() -> None:
    text = describe(_pod("crashing", ready=False, waiting="CrashLoopBackOff", restarts=7))
    assert text.splitlines() == ["pod crashing: Running", "  app: waiting (CrashLoopBackOff), ready=False, restarts=7"]
