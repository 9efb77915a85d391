"""KRaft Kafka from the pinned jars: one node (broker and controller in one process), or a
cluster of three such nodes whose controllers form the quorum (`KafkaCluster`, `make run
KAFKA_BROKERS=3`).

Why combined nodes for three: on a 2-core laptop six JVMs (three brokers, three controllers) cost
twice the memory and start time of three, and the fault this cluster is for (one machine of three
lost) takes a broker and a voter together either way; a 3-voter quorum and replication factor 3
with min.insync.replicas 2 both survive one loss and refuse at two. Separate controllers are what
a large production cluster runs, so a broker's load cannot slow the quorum (docs/architecture.md).
"""
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


# Internal topics (consumer offsets, transactions, share groups) on a three-node cluster: as
# safe as the pipeline's own topics (replication 3, two in sync to accept a write).
_REPLICATED_INTERNALS = {
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    # A replica that lost its log (never here: data survives a kill) must not become leader.
    "unclean.leader.election.enable": "false",
    # A killed node is fenced (its leaderships moved) when the controller has not heard from it
    # for this long: Kafka's 9 s default made the longest gap in results 9.7-12.0 s after a
    # leader's SIGKILL, 3 s made it 3.5-3.6 s (`make chaos KAFKA_BROKERS=3`, docs/reliability.md).
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
}


@dataclass
class KafkaBroker:
    """Owns one data directory; `port` is the client port, the controller gets its own. Alone it
    is its own quorum; in a `KafkaCluster` it is node `node_id` of `voters`."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    # Broker properties over the defaults below (`make bench-servers` tries candidates).
    extra_props: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    node_id: int = 1
    voters: str = ""  # "1@host:port,2@..." for a cluster member; "" for a node of its own
    cluster_id: str = ""  # a cluster's members share one; "" draws one at the first format

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
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
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
            **(_REPLICATED_INTERNALS if self.voters else {}),
            **self.extra_props,
        }
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.data_dir / "log4j2.properties").write_text(LOG4J2.format(level="warn"))
        return config

    def start(self, timeout: float = 90.0) -> None:
        self.launch()
        assert self.proc is not None
        wait_until(self.is_ready, self.proc, timeout, "Kafka", self.log_path)

    def launch(self) -> None:
        """Format the data directory (first time only) and start the JVM, without waiting: a
        cluster's members must all be starting before any can elect a controller."""
        config = self._write_config()
        classpath = self._classpath()
        jvm = os.environ.get("BARCODE_KAFKA_JVM_OPTS", "-Xms256m -Xmx768m -XX:+UseG1GC").split()
        java = ["java", *jvm, "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile=file:{self.data_dir / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.data_dir}", "-cp", classpath]
        meta = self.data_dir / "logs" / "meta.properties"
        if not meta.exists():
            subprocess.run(
                [*java, "kafka.tools.StorageTool", "format", "-t", self.cluster_id or _kafka_uuid(),
                 "-c", str(config), "--ignore-formatted"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        self.proc = spawn([*java, "kafka.Kafka", str(config)], self.log_path)

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


@dataclass
class KafkaCluster:
    """One node, or three combined nodes forming one cluster: what the stack starts and the
    services' bootstrap names. With one node it behaves exactly as that node."""

    brokers: list[KafkaBroker]

    @classmethod
    def create(cls, root: Path, count: int = 1, port: int | None = None) -> "KafkaCluster":
        """`count` nodes under `root`. A fixed client `port` fixes every address (node n: client
        port + 2(n-1), its controller the port after): the quorum's addresses are in each node's
        metadata log and must not change between runs."""
        if count not in (1, 3):
            raise ValueError(f"KAFKA_BROKERS={count}: 1 (a laptop) or 3 (a cluster that survives losing one)")
        if count == 1:
            broker = KafkaBroker(root / "kafka", port=port or free_port())
            if port:
                broker.controller_port = port + 1
            return cls([broker])
        home = root / "kafka-cluster"
        ports = [(port + 2 * n, port + 2 * n + 1) if port else (free_port(), free_port()) for n in range(count)]
        voters = ",".join(f"{n + 1}@127.0.0.1:{controller}" for n, (_, controller) in enumerate(ports))
        cluster_id = _kept_cluster_id(home)
        return cls([KafkaBroker(home / f"node-{n + 1}", port=client, controller_port=controller, node_id=n + 1,
                                voters=voters, cluster_id=cluster_id) for n, (client, controller) in enumerate(ports)])

    @property
    def replicated(self) -> bool:
        return len(self.brokers) > 1

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers)

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        """The first node's process (the only one's, on a laptop stack)."""
        return self.brokers[0].proc

    @property
    def extra_props(self) -> dict[str, str]:
        return self.brokers[0].extra_props

    @extra_props.setter
    def extra_props(self, props: dict[str, str]) -> None:
        for broker in self.brokers:
            broker.extra_props = dict(props)

    def topic_env(self) -> dict[str, str]:
        """The services' topic settings this cluster can keep: replication 3 with two in sync to
        accept a write, or the single node's 1/1."""
        if not self.replicated:
            return {}
        return {"BARCODE_REPLICATION_FACTOR": str(len(self.brokers)), "BARCODE_MIN_INSYNC_REPLICAS": "2"}

    def start(self, timeout: float = 120.0) -> None:
        if not self.replicated:
            self.brokers[0].start(timeout)
            return
        for broker in self.brokers:
            broker.launch()
        for broker in self.brokers:
            assert broker.proc is not None
            wait_until(broker.is_ready, broker.proc, timeout, f"Kafka node {broker.node_id}", broker.log_path)

    def is_ready(self) -> bool:
        return all(b.is_ready() for b in self.brokers)

    def stop(self) -> None:
        for broker in self.brokers:
            broker.stop()

    def log_tail(self) -> str:
        return "\n".join(f"--- node {b.node_id} ---\n{b.log_tail()}" for b in self.brokers)


def _kept_cluster_id(home: Path) -> str:
    """The cluster's id, drawn once and kept beside its nodes: a node formatted later (its data
    directory removed) must join the same cluster."""
    path = home / "cluster-id"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(_kafka_uuid())
    return path.read_text().strip()
