"""Kafka + MinIO + the four services, started together on loopback.

Used by `make run` (fixed ports, state under .local/run) and by the test suite (free ports,
a temporary folder). Readiness is real: Kafka answers metadata, MinIO answers its health
check, every stage logs "<name> ready", gateways answer /readyz.
"""
from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.jaeger import JaegerServer
from devstack.kafka import KafkaBroker, KafkaCluster
from devstack.minio import MinioServer
from devstack.ports import free_port
from devstack.process import Supervised, Supervisor
from devstack.services import GATEWAY, WORKERS, ServiceProcess, service_env


def _numbered(kind: str, count: int) -> list[str]:
    """Process (and log) names: the kind itself for one, kind-1 ... kind-N for several."""
    return [kind] if count == 1 else [f"{kind}-{n}" for n in range(1, count + 1)]


@dataclass
class Stack:
    root: Path
    kafka: KafkaCluster
    minio: MinioServer
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    jaeger: JaegerServer | None = None  # traces on: every service exports to it

    @classmethod
    def create(cls, root: Path, kafka_port: int | None = None, minio_port: int | None = None,
               extra_env: dict[str, str] | None = None, kafka_brokers: int = 1,
               jaeger: JaegerServer | None = None) -> "Stack":
        """`kafka_brokers` 3: a three-node cluster, and every topic replicated to all three.
        `jaeger`: traces on, every job traced, exported to that Jaeger (started with the infra)."""
        kafka = KafkaCluster.create(root, kafka_brokers, kafka_port)
        minio = MinioServer(root / "minio" / "data", port=minio_port or free_port())
        env = {"GATEWAY_RESUME_SECRET": secrets.token_hex(16), "BARCODE_LOG_LEVEL": "INFO"}
        env.update(kafka.topic_env())
        if jaeger is not None:
            env["BARCODE_OTLP_ENDPOINT"] = jaeger.otlp_endpoint
        env.update(extra_env or {})
        return cls(root=root, kafka=kafka, minio=minio, extra_env=env, jaeger=jaeger)

    def env(self, **extra: str) -> dict[str, str]:
        return service_env(self.kafka.bootstrap, self.minio.endpoint, {**self.extra_env, **extra})

    def start_infra(self) -> None:
        if self.jaeger is not None:
            self.jaeger.start()
        self.minio.start()
        self.kafka.start()

    def service(self, name: str, port: int | None = None, **env: str) -> ServiceProcess:
        """Define (not start) a service; gateways get `port` (free if not given)."""
        kind = name.split("-")[0]
        if kind == GATEWAY:
            port = port or free_port()
            env.setdefault("GATEWAY_REPLICA", name)
        if kind in WORKERS:  # the /healthz a Kubernetes probe would ask
            env.setdefault(f"{kind.upper()}_HEALTH_PORT", str(free_port()))
        svc = ServiceProcess(kind, self.env(**env), self.root / "logs" / f"{name}.log", port=port)
        self.services[name] = svc
        return svc

    def start_pipeline(self, gateway_port: int | None = None, generators: int = 1, gateways: int = 1,
                       **env: str) -> list[str]:
        """Start all services in parallel (`generators` generator and `gateways` gateway
        processes, `env` overriding their settings), then wait for each to be ready; returns
        the gateways' URLs, the first on `gateway_port` if given."""
        for name in (*(w for w in WORKERS if w != "generator"), *_numbered("generator", generators)):
            self.service(name, **env).start(wait=False)
        gateway_procs = [self.service(name, port=gateway_port if n == 0 else None, **env)
                         for n, name in enumerate(_numbered(GATEWAY, gateways))]
        for svc in gateway_procs:
            svc.start(wait=False)
        for svc in self.services.values():
            svc.wait_ready(timeout=120)
        return [svc.url for svc in gateway_procs]

    def supervisor(self, say: Callable[[str], None], infra: bool = False) -> Supervisor:
        """A Supervisor over the services (and Kafka and MinIO with `infra`); call its check()
        every half second or so."""
        units: dict[str, Supervised] = {}
        if infra:
            units.update(self.kafka_units())
            units["minio"] = _Server("minio", self.minio)
            if self.jaeger is not None:
                units["jaeger"] = _Server("jaeger", self.jaeger)
        units.update(self.services)
        return Supervisor(units, say)

    def kafka_units(self) -> dict[str, "_Server"]:
        """Each Kafka node by its process name: "kafka", or "kafka-1" ... "kafka-3"."""
        names = _numbered("kafka", len(self.kafka.brokers))
        return {name: _Server(name, broker) for name, broker in zip(names, self.kafka.brokers)}

    def stop(self) -> None:
        for svc in reversed(list(self.services.values())):
            svc.stop()
        self.kafka.stop()
        self.minio.stop()
        if self.jaeger is not None:
            self.jaeger.stop()


class _Server:
    """Kafka, MinIO or Jaeger as a supervised unit; its start waits until it answers."""

    def __init__(self, name: str, server: KafkaBroker | MinioServer | JaegerServer) -> None:
        self.name, self.server = name, server

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        return self.server.proc

    def start(self, wait: bool = True) -> None:
        self.server.start()
