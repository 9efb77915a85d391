"""The local single-node Kubernetes: build its pinned parts, start and stop it, test the chart on it."""
