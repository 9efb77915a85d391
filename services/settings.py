"""Settings shared by every service, read once from prefixed environment variables.

Everything is prefixed (BARCODE_, GATEWAY_, ...) so that a stray generic variable such as a
BROKER_URL meant for another program cannot rewire a service. Bad values fail at start, naming the variable.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Mapping, TypeVar


class ConfigError(ValueError):
    pass


T = TypeVar("T")


def read_config(read: Callable[[], T]) -> T:
    """`read()`, or exit with one line on stderr naming the variable: a bad setting is the
    operator's to fix, and a traceback would bury the one line that says which."""
    try:
        return read()
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")


class Env:
    """Typed reads from an environment mapping, with errors that name the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def str(self, name: str, default: str) -> str:
        return self.environ.get(name, default)

    def int(self, name: str, default: int, minimum: int = 0) -> int:
        raw = self.environ.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not an integer") from None
        if value < minimum:
            raise ConfigError(f"{name}={value} must be at least {minimum}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.environ.get(name, default)
        if value not in choices:
            raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value

    def float(self, name: str, default: float, minimum: float = 0.0) -> float:
        raw = self.environ.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if value < minimum:
            raise ConfigError(f"{name}={value} must be at least {minimum}")
        return value


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    topic_prefix: str
    partitions: int
    # Longest a fetch waits on the broker for new data (it answers at once when a record
    # arrives). Shorter means more empty fetches: 10 ms cost about 25% more CPU per job than
    # 100 ms at 40 jobs/s, with no better latency (docs/benchmarks.md, `make bench-settings`).
    fetch_max_wait_ms: int
    # Bytes a fetch waits for (up to fetch_max_wait_ms) before the broker answers: 1 answers on
    # the first record; more lets one fetch carry several records under load, for fewer requests.
    fetch_min_bytes: int
    linger_ms: int
    state_ttl_s: int  # how long notifications (pending results, job status) are kept
    # For topics the services create: 1 on a single broker; 3 and 2 on a real cluster, where
    # acks=all then means "on two brokers at least" before any service calls a message sent.
    replication_factor: int = 1
    min_insync_replicas: int = 1
    # How long a service waits for the broker to answer at start before it gives up and
    # exits; 0, the default, waits as long as it takes, readiness false meanwhile. In a cluster every pod may start before Kafka does;
    # waiting beats a crash loop's back-off, and locally nothing may be there to restart it.
    start_wait_s: float = 0.0
    # barcode.notifications and barcode.progress: each gateway replica reads one partition of
    # them ("home", where it issues its clients' ids) plus those of the clients it took over,
    # so with more partitions than gateways a replica reads only its own clients' results
    # (docs/architecture.md, "Results addressed to the replica").
    reply_partitions: int = 12
    # The Kafka client of the stage runtime (router, generator, notifier): "aiokafka", or
    # "librdkafka" (confluent-kafka: a third less CPU in the router and notifier, but a rolling
    # upgrade in `make k8s-test` went 37-146 s without results against 15-17 s on aiokafka;
    # issue 28's decision record in docs/architecture.md). The gateway and batcher use aiokafka.
    stage_client: str = "aiokafka"

    @classmethod
    def from_env(cls, env: Env | None = None) -> "KafkaSettings":
        env = env or Env()
        return cls(
            bootstrap=env.str("BARCODE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            topic_prefix=env.str("BARCODE_TOPIC_PREFIX", ""),
            # 2: room for two replicas of each consumer. Every partition is one more entry in
            # every fetch, which on a 2-CPU machine costs the broker and clients about 10% more CPU
            # per job at 4 (docs/benchmarks.md); a cluster sets it to its replica counts.
            partitions=env.int("BARCODE_PARTITIONS", 2, minimum=1),
            fetch_max_wait_ms=env.int("BARCODE_FETCH_MAX_WAIT_MS", 100, minimum=1),
            fetch_min_bytes=env.int("BARCODE_FETCH_MIN_BYTES", 1, minimum=1),
            linger_ms=env.int("BARCODE_LINGER_MS", 0),
            state_ttl_s=env.int("BARCODE_STATE_TTL_SECONDS", 3600, minimum=60),
            replication_factor=env.int("BARCODE_REPLICATION_FACTOR", 1, minimum=1),
            min_insync_replicas=env.int("BARCODE_MIN_INSYNC_REPLICAS", 1, minimum=1),
            start_wait_s=env.int("BARCODE_KAFKA_START_WAIT_SECONDS", 0, minimum=0),
            reply_partitions=env.int("BARCODE_REPLY_PARTITIONS", 12, minimum=1),
            stage_client=env.choice("BARCODE_STAGE_KAFKA_CLIENT", "aiokafka", ("aiokafka", "librdkafka")),
        )

    def topic(self, base: str) -> str:
        return f"{self.topic_prefix}{base}"

    def group(self, base: str) -> str:
        """A consumer group's name: prefixed like the topics, or two stacks on one broker would
        share the group and each process be handed the other stack's partitions."""
        return f"{self.topic_prefix}{base}"


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    public_endpoint: str  # what clients can reach; the gateway signs URLs against it
    access_key: str
    secret_key: str
    region: str
    bucket: str

    @classmethod
    def from_env(cls, env: Env | None = None) -> "S3Settings":
        env = env or Env()
        endpoint = env.str("BARCODE_S3_ENDPOINT", "http://127.0.0.1:9000")
        return cls(
            endpoint=endpoint,
            public_endpoint=env.str("BARCODE_S3_PUBLIC_ENDPOINT", endpoint),
            access_key=env.str("BARCODE_S3_ACCESS_KEY", "barcode"),
            secret_key=env.str("BARCODE_S3_SECRET_KEY", "barcode-secret-key"),
            region=env.str("BARCODE_S3_REGION", "us-east-1"),
            bucket=env.str("BARCODE_S3_BUCKET", "barcodes"),
        )


def health_endpoint(service: str, env: Env | None = None, default_port: int = 0) -> tuple[str, int]:
    """Where a stage serves /healthz, /readyz and /metrics: <SERVICE>_HEALTH_HOST/_PORT; port 0 (the local
    default) serves nothing. The chart sets a port: Kubernetes probes it. `default_port`: for a
    service whose HTTP side is its whole point (the lag exporter)."""
    env = env or Env()
    prefix = service.upper()
    return env.str(f"{prefix}_HEALTH_HOST", "127.0.0.1"), env.int(f"{prefix}_HEALTH_PORT", default_port)


def log_level(env: Env | None = None) -> str:
    return (env or Env()).str("BARCODE_LOG_LEVEL", "INFO").upper()


def drain_seconds(env: Env | None = None) -> float:
    """How long a worker may take to finish in-flight work after SIGTERM before it exits anyway
    (what it had not committed is redone by whoever takes its partitions)."""
    return (env or Env()).float("BARCODE_DRAIN_SECONDS", 20.0, minimum=0.0)


def exit_after(seconds: float, what: str) -> None:
    """Start a daemon timer that ends the process if a graceful stop overruns its deadline."""
    import logging
    import os
    import threading

    def overrun() -> None:
        logging.getLogger(what).error("%s did not stop within %.0f s of SIGTERM; exiting now", what, seconds)
        os._exit(1)

    timer = threading.Timer(seconds, overrun)
    timer.daemon = True
    timer.start()
