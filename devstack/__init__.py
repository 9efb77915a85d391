"""Everything that runs this project on one machine, in three parts:

- the local stack (this package's top level): a real Kafka broker and a real MinIO server,
  installed from pinned versions and started on loopback, plus the four services (`make run`,
  the tests' fixtures, `make chaos`);
- `devstack.bench`: the benchmarks (`make bench` and its siblings, docs/benchmarks.md);
- `devstack.k8s`: a real single-node Kubernetes built here, the images, and `make k8s-test`
  (docs/kubernetes.md).
"""
