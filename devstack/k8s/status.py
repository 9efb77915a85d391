"""The cluster smoke script's decisions, on the kubernetes client's own models: is a rollout
complete, which pod to blame when it is not, and what to print about it. Pure functions, so
they are unit-tested without a cluster (tests/devstack/test_k8s_smoke_status.py)."""
from __future__ import annotations

from kubernetes.client import V1Deployment, V1Pod, V1StatefulSet

# Waiting reasons that will not fix themselves by waiting longer.
STUCK_REASONS = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                           "CreateContainerConfigError", "CreateContainerError", "RunContainerError"})


def rollout_complete(workload: V1Deployment | V1StatefulSet) -> tuple[bool, str]:
    """(done, why not) the way `kubectl rollout status` decides: the controller has seen the
    latest spec, and every replica is updated, available and the only kind left."""
    spec, status, meta = workload.spec, workload.status, workload.metadata
    wanted = spec.replicas if spec.replicas is not None else 1
    if status is None or (status.observed_generation or 0) < (meta.generation or 0):
        return False, "waiting for the controller to see the new spec"
    updated = status.updated_replicas or 0
    ready = status.ready_replicas or 0
    if isinstance(workload, V1Deployment):
        for condition in status.conditions or []:
            if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
                return False, f"progress deadline exceeded: {condition.message}"
        available = status.available_replicas or 0
        total = status.replicas or 0
        if updated < wanted:
            return False, f"{updated} of {wanted} replicas updated"
        if total > updated:
            return False, f"{total - updated} old replicas still terminating"
        if available < updated:
            return False, f"{available} of {updated} updated replicas available"
        return True, f"{available}/{wanted} available"
    if updated < wanted and status.update_revision != status.current_revision:
        return False, f"{updated} of {wanted} pods updated"
    if ready < wanted:
        return False, f"{ready} of {wanted} pods ready"
    return True, f"{ready}/{wanted} ready"


def _problem(pod: V1Pod) -> tuple[int, str] | None:
    """(severity, what is wrong) for a pod that is not running and ready, else None."""
    status = pod.status
    if status is None:
        return 1, "no status yet"
    if status.phase == "Failed":
        return 4, f"failed: {status.reason or ''} {status.message or ''}".strip()
    for c in (status.init_container_statuses or []) + (status.container_statuses or []):
        waiting = c.state.waiting if c.state is not None else None
        if waiting is not None and waiting.reason in STUCK_REASONS:
            return 3, f"container {c.name}: {waiting.reason}: {waiting.message or ''}".strip()
        terminated = c.last_state.terminated if c.last_state is not None else None
        if c.restart_count and terminated is not None:
            return 2, f"container {c.name} restarted {c.restart_count}x, last exit {terminated.exit_code} ({terminated.reason})"
    if status.phase == "Pending":
        for condition in status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False":
                return 3, f"unschedulable: {condition.message}"
        return 1, "pending"
    ready = all(c.ready for c in status.container_statuses or []) and bool(status.container_statuses)
    return None if ready else (1, "running, not ready")


def pod_to_blame(pods: list[V1Pod]) -> tuple[V1Pod, str] | None:
    """The pod whose state best explains a failed rollout: a failed pod before a crash loop or
    a bad image, before restarts, before merely pending or unready; None if all are fine."""
    worst = [(p, problem) for p in pods if (problem := _problem(p)) is not None]
    if not worst:
        return None
    pod, (_, why) = max(worst, key=lambda item: item[1][0])
    return pod, why


def describe(pod: V1Pod) -> str:
    """A few lines about a pod: phase, each container's state and restarts."""
    status = pod.status
    lines = [f"pod {pod.metadata.name}: {status.phase if status else 'unknown'}"]
    for c in (status.container_statuses or []) if status else []:
        state = c.state
        if state is not None and state.waiting is not None:
            now = f"waiting ({state.waiting.reason})"
        elif state is not None and state.terminated is not None:
            now = f"terminated (exit {state.terminated.exit_code}, {state.terminated.reason})"
        else:
            now = "running"
        lines.append(f"  {c.name}: {now}, ready={c.ready}, restarts={c.restart_count}")
    return "\n".join(lines)
