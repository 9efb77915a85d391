"""The local single-node Kubernetes: build its pinned parts, start and stop it, test the chart on it."""


def say(message: str) -> None:
    """One progress line; every step of `make k8s-up`, `make images` and `make k8s-test` prints these."""
    print(f"[k8s] {message}", flush=True)
