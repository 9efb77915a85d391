"""Run each built image the way the cluster will, and check it works: `python -m devstack.k8s.image_checks`.

Every container runs locked down like the chart's pods: no network (`--network none`), a
read-only root filesystem with only /tmp (and a data dir) writable, no capabilities, no new
privileges, the image's non-root user. Clients run from the service image inside the server's
network namespace (`--network container:NAME`), so nothing ever leaves loopback.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from devstack.k8s import docker, images, say
from devstack.services import SERVICES

LOCKED_DOWN = ("--network", "none", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges")
PREFIX = f"barcode-image-check-{os.getpid()}"

SERVICE_CHECK = """
import importlib, io, os
MODULES = __MODULES__
from PIL import Image
import zxingcpp
for module in MODULES:
    importlib.import_module(module)
from services.render import api
from services.render.symbologies import CATALOGUE
sizes = {}
for fmt in ("png", "svg", "pdf", "eps"):
    # render() decodes the symbol back with zxing-cpp (a raster of it for vectors).
    sizes[fmt] = len(api.render(CATALOGUE["code128"], "HELLO-123", fmt, {}, "zint").body)
png = api.render(CATALOGUE["qrcode"], "barcode-pipeline", "png", {}, None).body
assert [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == ["barcode-pipeline"]
print(f"{len(MODULES)} modules import; code128 png/svg/pdf/eps {sizes} bytes, decoded; uid {os.getuid()}")
""".replace("__MODULES__", repr((*(f"services.{name}" for name in SERVICES), "loadtest")))

KAFKA_CLIENT = """
import asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

async def main():
    admin = AIOKafkaAdminClient(bootstrap_servers="localhost:9092")
    await admin.start()
    await admin.create_topics([NewTopic("image.check", 2, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers="localhost:9092", acks="all")
    await producer.start()
    sent = await producer.send_and_wait("image.check", b"hello", key=b"k")
    await producer.stop()
    consumer = AIOKafkaConsumer("image.check", bootstrap_servers="localhost:9092", group_id="image-check",
                                auto_offset_reset="earliest")
    await consumer.start()
    got = await asyncio.wait_for(consumer.getone(), 60)
    await consumer.commit()
    await consumer.stop()
    assert got.value == b"hello"
    print(f"topic created, produced (acks=all, offset {sent.offset}), consumed and committed in a group")

asyncio.run(main())
"""

MINIO_CLIENT = """
import time, urllib.request
import boto3
for _ in range(100):
    try:
        if urllib.request.urlopen("http://127.0.0.1:9000/minio/health/ready", timeout=1).status == 200:
            break
    except OSError:
        time.sleep(0.2)
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", aws_access_key_id="check",
                  aws_secret_access_key="check-secret-key", region_name="us-east-1")
s3.create_bucket(Bucket="image-check")
s3.put_object(Bucket="image-check", Key="k", Body=b"hello")
assert s3.get_object(Bucket="image-check", Key="k")["Body"].read() == b"hello"
print("ready; bucket created, object put and read back")
"""

DNS_CLIENT = """
import socket, struct, time
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\\x07example\\x03org\\x00" + struct.pack(">HH", 1, 1)
for _ in range(50):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    try:
        s.sendto(query, ("127.0.0.1", 1053))
        reply = s.recv(512)
        break
    except OSError:
        time.sleep(0.2)
    finally:
        s.close()
ident, flags, _, answers, _, extra = struct.unpack(">HHHHHH", reply[:12])
assert ident == 0x1234 and flags & 0x8000 and flags & 0xF == 0, (ident, flags)
print(f"answered a UDP query on :1053 (rcode 0, {answers} answer(s), {extra} additional: the whoami plugin)")
"""


def _run(*args: str) -> str:
    result = docker.docker(*args, check=False, capture=True)
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:6])} ... failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def _client(server: str, script: str) -> str:
    """Run `script` with the service image's Python inside `server`'s network namespace."""
    return _run("run", "--rm", "--network", f"container:{server}", "--read-only", "--tmpfs", "/tmp",
                "--cap-drop", "ALL", "--entrypoint", "python", images.SERVICE, "-c", script).splitlines()[-1]


def _wait_for_log(name: str, text: str, timeout: float, times: int = 1) -> float:
    """Seconds until `text` is in the container's log `times` times (the log survives a restart)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        logs = docker.docker("logs", name, check=False, capture=True)
        if (logs.stdout + logs.stderr).count(text) >= times:
            return time.monotonic() - started
        state = _run("inspect", "--format", "{{.State.Running}}", name)
        if state != "true":
            raise RuntimeError(f"{name} exited:\n{(logs.stdout + logs.stderr)[-3000:]}")
        time.sleep(0.5)
    raise RuntimeError(f"{name}: no {text!r} in its log after {timeout:.0f}s")


def _stop(name: str) -> str:
    started = time.monotonic()
    _run("stop", "--time", "30", name)
    code = _run("inspect", "--format", "{{.State.ExitCode}}", name)
    return f"stopped by SIGTERM in {time.monotonic() - started:.1f}s (exit {code})"


def check_service() -> str:
    return _run("run", "--rm", *LOCKED_DOWN, "--entrypoint", "python", images.SERVICE, "-c", SERVICE_CHECK)


def check_kafka() -> str:
    name, volume = f"{PREFIX}-kafka", f"{PREFIX}-kafka-data"
    env = {  # the chart's environment (templates/kafka.yaml), with listeners on loopback
        "KAFKA_NODE_ID": "1", "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://localhost:9092",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1", "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_LOG_DIRS": "/var/lib/kafka/data", "KAFKA_HEAP_OPTS": "-Xmx512m -Xms512m",
        "CLUSTER_ID": "0123456789abcdef01234A",  # the chart's form: 21 hex characters + "A"
        # What the kubelet would inject for a Service named "kafka": must not become properties.
        "KAFKA_PORT": "tcp://10.96.0.10:9092", "KAFKA_SERVICE_HOST": "10.96.0.10",
    }
    try:
        # --hostname localhost: with no network Docker's /etc/hosts lacks the container's own name,
        # which log4j looks up (in a pod the kubelet writes it).
        _run("run", "-d", "--name", name, "--hostname", "localhost", *LOCKED_DOWN, "--user", "1000:1000",
             "-v", f"{volume}:/var/lib/kafka/data", *(f"-e{k}={v}" for k, v in env.items()), images.KAFKA)
        started = _wait_for_log(name, "Kafka Server started", 120)
        written = _run("exec", name, "cat", "/tmp/kafka-config/server.properties").splitlines()
        expected = {f"{k[6:].lower().replace('_', '.')}={v}" for k, v in env.items()
                    if k.startswith("KAFKA_") and k not in ("KAFKA_HEAP_OPTS", "KAFKA_PORT", "KAFKA_SERVICE_HOST")}
        if set(written) != expected:
            raise RuntimeError(f"server.properties is {written}, expected {sorted(expected)}")
        client = _client(name, KAFKA_CLIENT)
        stopped = _stop(name)
        # A second start must reuse the formatted data dir (and must not need CLUSTER_ID).
        _run("start", name)
        restarted = _wait_for_log(name, "Kafka Server started", 120, times=2)
        logs = docker.docker("logs", name, capture=True)
        log = logs.stdout + logs.stderr
        formats = log.count("kafka-entrypoint: formatting")
        if formats != 1:
            raise RuntimeError(f"the data dir was formatted {formats} times")
        errors = [line for line in log.splitlines() if " ERROR " in line]
        return (f"server.properties has exactly the {len(written)} KAFKA_* settings; started in {started:.0f}s; {client}; {stopped}; restarted on the same data dir in {restarted:.0f}s "
                f"without formatting again; {len(errors)} ERROR lines in the log")
    finally:
        docker.docker("rm", "-f", name, check=False, capture=True)
        docker.docker("volume", "rm", volume, check=False, capture=True)


def check_minio() -> str:
    name = f"{PREFIX}-minio"
    try:
        _run("run", "-d", "--name", name, *LOCKED_DOWN, "-e", "MINIO_ROOT_USER=check",
             "-e", "MINIO_ROOT_PASSWORD=check-secret-key", images.MINIO,
             "server", "/tmp/data", "--address", "127.0.0.1:9000", "--console-address", "127.0.0.1:9001")
        user = _run("inspect", "--format", "{{.Config.User}}", name)
        return f"as {user}: {_client(name, MINIO_CLIENT)}; {_stop(name)}"
    finally:
        docker.docker("rm", "-f", name, check=False, capture=True)


def check_pause() -> str:
    name = f"{PREFIX}-pause"
    try:
        _run("run", "-d", "--name", name, *LOCKED_DOWN, images.PAUSE)
        time.sleep(0.5)
        return _stop(name)
    finally:
        docker.docker("rm", "-f", name, check=False, capture=True)


CHECKS: dict[str, Callable[[], str]] = {
    images.SERVICE: check_service, images.KAFKA: check_kafka, images.MINIO: check_minio,
    images.PAUSE: check_pause,
}


def main(argv: list[str]) -> int:
    docker.start()
    failed = 0
    for ref, check in CHECKS.items():
        if argv and not any(word in ref for word in argv):
            continue
        started = time.monotonic()
        try:
            say(f"check {ref}: ok - {check()} ({time.monotonic() - started:.0f}s)")
        except RuntimeError as exc:
            failed += 1
            say(f"check {ref}: FAILED - {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
