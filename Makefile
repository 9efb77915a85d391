# barcode-pipeline: `make run` starts everything locally, `make test` runs the suite.
# Everything installed or written lives under .local/ (ignored by git).

PYTHON ?= python3.11
LOCAL ?= .local
VENV ?= $(LOCAL)/venv
PY := $(VENV)/bin/python
KAFKA_PORT ?= 9092
MINIO_PORT ?= 9000
GATEWAY_PORT ?= 8080
GENERATORS ?= 2
# 1: one Kafka node (laptops); 3: a three-node cluster, every topic replicated 3 (min.insync.replicas 2)
KAFKA_BROKERS ?= 1
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

# The venv is rebuilt when the pinned requirements change; the sentinel marks a finished install.
$(VENV)/.installed: pyproject.toml requirements.lock
	@echo "[make] creating the Python environment in $(VENV) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --disable-pip-version-check -c requirements.lock -e '.[test,plots]'
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the Python environment (pinned packages)

.PHONY: install
install: venv ## Install everything: Python packages, Kafka jars (Maven Central), MinIO (Go build)
	$(PY) -m devstack install

.PHONY: test-tools
test-tools: ## Debian's chromium (browser tests) and poppler-utils (label sheets) for the tests (apt-get, first time only)
	$(PY) -m devstack.install test-tools

.PHONY: helm
helm: ## The pinned helm binary for the chart's checks (go install, first time only)
	$(PY) -m devstack.install helm

.PHONY: install-jaeger
install-jaeger: ## Jaeger, the trace backend (go build of the pinned scripts/jaeger module, first time only)
	$(PY) -m devstack.install jaeger

.PHONY: install-prometheus
install-prometheus: ## Prometheus for the local cluster's checks (go build of the pinned scripts/prometheus module; k8s-test calls it)
	$(PY) -m devstack.install prometheus

.PHONY: run
run: install $(if $(TRACES),install-jaeger) ## Start Kafka, MinIO and the four services in the background; print the gateway URL (TRACES=1: and Jaeger, every job traced)
	$(PY) -m devstack up --kafka-port $(KAFKA_PORT) --minio-port $(MINIO_PORT) --gateway-port $(GATEWAY_PORT) --generators $(GENERATORS) --kafka-brokers $(KAFKA_BROKERS) $(if $(TRACES),--traces)

.PHONY: stop
stop: ## Stop everything `make run` started
	@if [ -x $(PY) ]; then $(PY) -m devstack down; else echo "nothing running"; fi

.PHONY: status
status: ## Show what `make run` started and whether it is still running
	$(PY) -m devstack status

.PHONY: test
test: install test-tools helm install-jaeger ## Run the whole suite (starts and stops its own Kafka and MinIO on free ports)
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: screenshots
screenshots: install test-tools ## Refresh docs/screenshots (the README's picture) from the browser tests
	BARCODE_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/e2e/test_page.py

.PHONY: unit
unit: venv ## Run only the tests that need no Kafka or MinIO
	$(PY) -m pytest -m "not stack" $(PYTEST_ARGS)

.PHONY: smoke
smoke: ## Send jobs one at a time through the running stack (`make run`) and print per-stage latency
	$(PY) -m devstack.smoke --url http://127.0.0.1:$(GATEWAY_PORT)

.PHONY: clean
clean: stop ## Remove run state (.local/run); keeps the installed venv, jars and MinIO
	rm -rf $(LOCAL)/run

.PHONY: kafka-hop
kafka-hop: install ## Time a bare producer -> consumer hop on a fresh local broker (the floor under each hop)
	$(PY) -m devstack.bench.kafka_hop

.PHONY: bench-render
bench-render: venv ## Render time per symbology family, format and engine (vs python-barcode's default PNG writer)
	$(PY) -m devstack.bench.render

.PHONY: redrive
redrive: ## Re-queue dead letters on the running stack (DRY=1 lists them; CODE=storage_unavailable filters)
	$(PY) -m services.kafka.redrive $(if $(DRY),--dry-run) $(if $(CODE),--code $(CODE))

.PHONY: chaos
chaos: install ## Fault injection: kill every service, the broker and MinIO under load; check nothing is lost (KAFKA_BROKERS=3: leader kills on a 3-node cluster)
	$(PY) -m devstack.chaos --jobs 3000 --rate 40 --clients 8 --drain 300 --kafka-brokers $(KAFKA_BROKERS) $(CHAOS_ARGS)

.PHONY: fuzz
fuzz: install ## Fuzz REST (schemathesis, stateful, >= 10,000 cases) and WebSocket frames on a stack of its own (~10 min; FUZZ_ARGS="--max-minutes 5 --frames 20000")
	$(PY) -m devstack.fuzz $(FUZZ_ARGS)

# The benchmark tools (py-spy) are installed on first use, not by `make test`.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --progress-bar on --disable-pip-version-check -c requirements.lock -e '.[test,plots,bench]'
	@touch $@

.PHONY: bench
bench: install $(VENV)/.bench-installed ## The benchmark: pipeline, bwip-js and 2-process bwip-js interleaved x3, the ceiling, the gateway tier, RSS; rewrites docs/benchmarks.md tables (~25 min)
	$(PY) -m devstack.bench $(BENCH_ARGS)

.PHONY: bench-batches
bench-batches: install ## 10,000-row batches (Code 128, mixed): time to last row and outputs, memory, single-job p99 beside one (~6 min)
	$(PY) -m devstack.bench.batches $(BENCH_ARGS)

.PHONY: bench-fairness
bench-fairness: install ## Issue 22: one caller at its full rate budget (costly Han Xin) vs another's p50/p99, alone and beside it (~4-8 min)
	$(PY) -m devstack.bench.fairness $(BENCH_ARGS)

.PHONY: bench-messages
bench-messages: install ## Issue 28: Kafka records per job, per topic and per way of asking (against `make run`; ~1 min)
	$(PY) -m devstack.bench.messages $(BENCH_ARGS)

.PHONY: bench-images
bench-images: install $(VENV)/.bench-installed ## Issue 25: image URLs vs bwip-js, same parameters: all misses and a Zipf label workload, ramps interleaved (~15 min)
	$(PY) -m devstack.bench.images $(BENCH_ARGS)

.PHONY: bench-settings
bench-settings: install ## CPU per job per process under each candidate Kafka/event-loop setting (~5 min)
	$(PY) -m devstack.bench.settings $(BENCH_ARGS)

.PHONY: bench-servers
bench-servers: install ## CPU per job of Kafka and MinIO under their own candidate settings (threads, GC), interleaved (~15 min)
	$(PY) -m devstack.bench.servers $(BENCH_ARGS)

.PHONY: profile
profile: install $(VENV)/.bench-installed ## py-spy flame graphs of every service under load (.local/bench/profile-*.svg)
	$(PY) -m devstack.bench.profile $(PROFILE_ARGS)

.PHONY: loadtest
loadtest: ## Open-loop load against the running stack (LOADTEST_ARGS="--rate 200 --duration 30" or "--ramp 50:50:1000")
	$(PY) -m loadtest --url http://127.0.0.1:$(GATEWAY_PORT) $(LOADTEST_ARGS)

.PHONY: bench-index
bench-index: venv ## Gateway memory per job held in its index (how to size GATEWAY_MAX_JOBS)
	$(PY) -m devstack.bench.index

.PHONY: bench-memory
bench-memory: ## Gateway memory per idle WebSocket (run the stack with GATEWAY_MAX_SOCKETS_PER_CALLER=20000)
	$(PY) -m devstack.bench.memory

# ---- Kubernetes (docs/kubernetes.md). `make k8s-test` runs the whole path on minikube
# (--driver=none, in a namespace of its own), every program and image built on this machine
# (root, Debian packages, the Go module proxy): nothing is pulled.
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' helm/barcode-pipeline/Chart.yaml)
KIND_CLUSTER ?= barcode
NAMESPACE ?= barcode
RELEASE ?= barcode-pipeline
HELM ?= $(firstword $(wildcard $(LOCAL)/bin/helm-v*) helm)
VALUES ?= helm/barcode-pipeline/ci/laptop-values.yaml
KIND_IMAGES := barcode-pipeline:$(IMAGE_TAG) barcode-pipeline-kafka:$(IMAGE_TAG) barcode-pipeline-minio:$(IMAGE_TAG)
# The local cluster's kubeconfig when it exists (make k8s-up); otherwise your own (kind, your minikube).
LOCAL_KUBECONFIG := $(if $(wildcard $(LOCAL)/k8s/kubeconfig),KUBECONFIG=$(abspath $(LOCAL)/k8s/kubeconfig))

.PHONY: images
images: install ## Build the service, Kafka, MinIO and pause images (Docker Engine from Debian, Debian base by debootstrap); into the local cluster when it runs
	$(PY) -m devstack.k8s.images

.PHONY: k8s-up
k8s-up: venv ## Start minikube here (--driver=none in its own namespace; pinned, built once into .local/; kubeconfig .local/k8s/kubeconfig)
	$(PY) -m devstack.k8s.cluster up

.PHONY: k8s-down
k8s-down: ## minikube delete, then remove every process, mount, namespace, route, rule and cgroup it made
	@if [ -x $(PY) ]; then $(PY) -m devstack.k8s.cluster down; else echo "nothing running"; fi

.PHONY: k8s-status
k8s-status: ## minikube status of the local cluster
	$(PY) -m devstack.k8s.cluster status

.PHONY: k8s-test
k8s-test: install helm ## up -> images -> helm install -> helm test -> smoke -> load -> faults -> upgrade -> resume -> uninstall -> three brokers: leader kills, roll -> laptop deploy -> down
	$(PY) -m devstack.k8s.suite $(K8S_TEST_ARGS)

.PHONY: kind-up
kind-up: ## Create a local kind cluster named $(KIND_CLUSTER) (needs kind and Docker Hub; not run here)
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --name $(KIND_CLUSTER)

.PHONY: kind-load
kind-load: images ## Build the images and load them into the kind cluster (one archive, from the engine `make images` uses)
	DOCKER_HOST=unix://$(abspath $(LOCAL)/k8s/docker/docker.sock) docker save -o $(LOCAL)/kind-images.tar $(KIND_IMAGES)
	kind load image-archive $(LOCAL)/kind-images.tar --name $(KIND_CLUSTER)
	rm -f $(LOCAL)/kind-images.tar

.PHONY: minikube-load
minikube-load: images ## Your own minikube (e.g. the Docker driver): load the images `make images` built (one archive; not run here)
	DOCKER_HOST=unix://$(abspath $(LOCAL)/k8s/docker/docker.sock) docker save -o $(LOCAL)/minikube-images.tar $(KIND_IMAGES)
	minikube image load $(LOCAL)/minikube-images.tar
	rm -f $(LOCAL)/minikube-images.tar

.PHONY: deploy
deploy: ## helm upgrade --install with $(VALUES) into namespace $(NAMESPACE)
	$(LOCAL_KUBECONFIG) $(HELM) upgrade --install $(RELEASE) helm/barcode-pipeline --namespace $(NAMESPACE) --create-namespace -f $(VALUES) --wait

.PHONY: port-forward
port-forward: ## Forward 127.0.0.1:$(GATEWAY_PORT) to the gateway Service (kubectl)
	$(LOCAL_KUBECONFIG) $(firstword $(wildcard $(LOCAL)/bin/kubectl) kubectl) -n $(NAMESPACE) port-forward service/$(RELEASE)-gateway $(GATEWAY_PORT):8080

.PHONY: k8s-smoke
k8s-smoke: venv ## Wait for the release's rollouts, port-forward, one job in each format over the WebSocket, every file decoded
	$(LOCAL_KUBECONFIG) $(PY) -m devstack.k8s.smoke --namespace $(NAMESPACE) --release $(RELEASE)
