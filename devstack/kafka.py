"""A single-node KRaft Kafka broker (combined broker + controller) from the pinned jars."""
from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack import paths
from devstack.ports import free_port, is_listening
from devstack.process import spawn, stop_child, tail, wait_until

LOG4J2 = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.stdout.ref = STDOUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
"""


@dataclass
class KafkaBroker:
    """Owns one data directory; `port` is the client port, the controller gets its own."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    # Broker properties over the defaults below (`make bench-servers` tries candidates).
    extra_props: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    def _classpath(self) -> str:
        libs = paths.kafka_libs()
        jars = sorted(str(p) for p in libs.glob("*.jar"))
        if not jars:
            raise RuntimeError(f"no Kafka jars in {libs}; run `make install` first")
        return os.pathsep.join(jars)

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            # Single node: internal topics cannot have more than one replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            # Let the retention of short-lived topics (notifications: 1 h) act within minutes.
            "log.retention.check.interval.ms": "60000",
            **self.extra_props,
        }
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.data_dir / "log4j2.properties").write_text(LOG4J2.format(level="warn"))
        return config

    def start(self, timeout: float = 90.0) -> None:
        config = self._write_config()
        classpath = self._classpath()
        jvm = os.environ.get("BARCODE_KAFKA_JVM_OPTS", "-Xms256m -Xmx768m -XX:+UseG1GC").split()
        java = ["java", *jvm, "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile=file:{self.data_dir / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.data_dir}", "-cp", classpath]
        meta = self.data_dir / "logs" / "meta.properties"
        if not meta.exists():
            subprocess.run(
                [*java, "kafka.tools.StorageTool", "format", "-t", _kafka_uuid(),
                 "-c", str(config), "--ignore-formatted"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        self.proc = spawn([*java, "kafka.Kafka", str(config)], self.log_path)
        wait_until(self.is_ready, self.proc, timeout, "Kafka", self.log_path)

    def is_ready(self) -> bool:
        # Probe the port first: a metadata request against a closed port makes aiokafka
        # log a connection error per attempt.
        return is_listening(self.port) and broker_answers(self.bootstrap)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_child(self.proc)
        self.proc = None

    def log_tail(self) -> str:
        return tail(self.log_path)


def _kafka_uuid() -> str:
    """Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. One that starts
    with "-" (1 in 64) would be read by StorageTool's argument parser as an option and fail the
    format (it did, once, in `make test`), so the first character is drawn again until it is not."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def broker_answers(bootstrap: str) -> bool:
    """Ready means a metadata request succeeds, not merely an open port."""
    import asyncio
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        finally:
            await admin.close()

    return asyncio.run(probe())
