"""Pure logic of the cluster's image builds: the Kafka entrypoint's env -> properties, the Debian
mirror read from apt's sources, image tags. Building and running the images needs Docker and is
done by `python -m devstack.k8s.images`, not here."""
from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path
from types import ModuleType

import pytest

from devstack.k8s import debian, images

ROOT = Path(__file__).resolve().parents[2]


def _entrypoint() -> ModuleType:
    # A script copied into the image, not a package module: loaded from its path.
    path = ROOT / "devstack" / "k8s" / "images" / "kafka" / "entrypoint.py"
    spec = importlib.util.spec_from_file_location("kafka_entrypoint", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("kafka_entrypoint", module)
    spec.loader.exec_module(module)
    return module


entrypoint = _entrypoint()


# ---- Kafka entrypoint ----

@pytest.mark.parametrize("env_name,prop", [
    ("KAFKA_LOG_DIRS", "log.dirs"),
    ("KAFKA_NODE_ID", "node.id"),
    ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "listener.security.protocol.map"),
    ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "offsets.topic.replication.factor"),
    # apache/kafka's escapes: "__" is an underscore, "___" a dash.
    ("KAFKA_LISTENER_NAME_INTERNAL_SSL_KEYSTORE__TYPE", "listener.name.internal.ssl.keystore_type"),
    ("KAFKA_CONFLUENT___METRICS_ENABLE", "confluent-metrics.enable"),
    # Single-letter words convert too (apache/kafka's regex skips every other one).
    ("KAFKA_A_B_C", "a.b.c"),
])
def test_env_names_become_property_names(env_name: str, prop: str) -> None:
    assert entrypoint.property_name(env_name) == prop


@pytest.mark.parametrize("env_name", [
    "KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_LOG4J_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS", "KAFKA_VERSION",
    "CLUSTER_ID", "LOG_DIR", "HOME", "PATH", "KAFKAX_Y",
])
def test_jvm_settings_and_other_variables_are_not_properties(env_name: str) -> None:
    assert entrypoint.property_name(env_name) is None


@pytest.mark.parametrize("env_name", ["KAFKA_", "KAFKA__X", "KAFKA_X_", "KAFKA_A____B"])
def test_unreadable_names_are_refused_not_guessed(env_name: str) -> None:
    with pytest.raises(entrypoint.ConfigError):
        entrypoint.property_name(env_name)


def test_kubernetes_service_links_are_not_properties() -> None:
    # What the kubelet injects for a Service named "kafka" (and "kafka-ui") in the namespace.
    links = {
        "KAFKA_PORT": "tcp://10.96.0.10:9092", "KAFKA_SERVICE_HOST": "10.96.0.10", "KAFKA_SERVICE_PORT": "9092",
        "KAFKA_SERVICE_PORT_KAFKA": "9092", "KAFKA_PORT_9092_TCP": "tcp://10.96.0.10:9092",
        "KAFKA_PORT_9092_TCP_PROTO": "tcp", "KAFKA_PORT_9092_TCP_PORT": "9092", "KAFKA_PORT_9092_TCP_ADDR": "10.96.0.10",
        "KAFKA_UI_PORT": "tcp://10.96.0.11:8080", "KAFKA_UI_SERVICE_HOST": "10.96.0.11",
    }
    assert entrypoint.broker_properties({**links, "KAFKA_NODE_ID": "1"}) == {"node.id": "1"}
    # A real property that merely ends in _PORT keeps its (non-URL) value.
    assert entrypoint.broker_properties({"KAFKA_SOME_PORT": "9999"}) == {"some.port": "9999"}


def test_the_charts_environment_renders_a_kraft_config() -> None:
    environ = {
        "KAFKA_NODE_ID": "1", "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093", "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
        "KAFKA_HEAP_OPTS": "-Xmx512m", "CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qk", "HOME": "/tmp",
    }
    rendered = entrypoint.render_properties(entrypoint.broker_properties(environ))
    assert rendered == (
        "controller.quorum.voters=1@localhost:9093\n"
        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
        "log.dirs=/var/lib/kafka/data\n"
        "node.id=1\n"
        "process.roles=broker,controller\n"
    )


def test_values_are_escaped_for_java_properties() -> None:
    assert entrypoint.escape_value("a=b:c") == "a=b:c"  # only the first separator splits
    assert entrypoint.escape_value("C:\\dir") == "C:\\\\dir"
    assert entrypoint.escape_value(" lead") == "\\ lead"
    assert entrypoint.escape_value("line1\nline2") == "line1\\nline2"
    assert entrypoint.escape_value("é€😀") == "\\u00e9\\u20ac\\ud83d\\ude00"


def test_storage_dirs_include_the_metadata_dir() -> None:
    assert entrypoint.storage_dirs({"log.dirs": "/a, /b"}) == ["/a", "/b"]
    assert entrypoint.storage_dirs({"log.dir": "/a", "metadata.log.dir": "/m"}) == ["/a", "/m"]
    assert entrypoint.storage_dirs({"log.dirs": "/a", "metadata.log.dir": "/a"}) == ["/a"]


def test_jvm_flags_come_from_the_start_scripts_variables(tmp_path: Path) -> None:
    args = entrypoint.jvm_args({"KAFKA_HEAP_OPTS": "-Xms256m -Xmx768m", "KAFKA_OPTS": "-Dx=1"}, tmp_path)
    assert args[:2] == ["-Xms256m", "-Xmx768m"]
    assert f"-Dlog4j2.configurationFile=file:{tmp_path}/log4j2.properties" in args
    assert "-Dx=1" in args and args[-2:] == ["-cp", "/opt/kafka/libs/*"]
    defaults = entrypoint.jvm_args({}, tmp_path)
    assert defaults[:2] == ["-Xmx1G", "-Xms1G"] and "-XX:+UseG1GC" in defaults


# ---- the Debian mirror ----

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main contrib
"""


def test_deb822_sources_give_the_bookworm_mirror() -> None:
    sources = debian.parse_deb822(DEB822)
    assert debian.mirror(sources) == "http://mirror.example/debian"
    assert [s.suite for s in sources] == ["bookworm", "bookworm-updates", "bookworm-security"]
    assert sources[2].components == ("main", "contrib")


def test_one_line_sources_give_the_bookworm_mirror() -> None:
    text = ("# deb http://old.example/debian bookworm main\n"
            "deb [signed-by=/k.gpg arch=amd64] http://one.example/debian bookworm main contrib\n"
            "deb http://one.example/debian-security bookworm-security main\n")
    sources = debian.parse_one_line(text)
    assert debian.mirror(sources) == "http://one.example/debian"
    assert sources[0].components == ("main", "contrib")


def test_without_a_bookworm_source_the_mirror_falls_back_to_deb_debian_org() -> None:
    assert debian.mirror(debian.parse_one_line("deb http://x.example/debian trixie main\n")) == debian.FALLBACK_MIRROR
    assert debian.mirror([]) == "http://deb.debian.org/debian"


def test_the_images_sources_list_mirrors_the_hosts_bookworm_suites() -> None:
    assert debian.image_sources_list(debian.parse_deb822(DEB822)) == (
        "deb http://mirror.example/debian bookworm main\n"
        "deb http://mirror.example/debian bookworm-updates main\n"
        "deb http://security.example/debian-security bookworm-security main\n"
    )
    assert debian.image_sources_list([]) == "deb http://deb.debian.org/debian bookworm main\n"


# ---- tags ----

def test_tags_follow_the_charts_app_version() -> None:
    chart = 'apiVersion: v2\nname: x\nversion: 0.1.0\nappVersion: "1.2.3"  # the image tag\n'
    assert images.app_version(chart) == "1.2.3"
    assert images.app_version("appVersion: 2.0.0-rc.1\n") == "2.0.0-rc.1"
    assert images.cluster_images("1.2.3") == {
        "service": "barcode-pipeline:1.2.3", "kafka": "barcode-pipeline-kafka:1.2.3",
        "minio": "barcode-pipeline-minio:1.2.3", "pause": "local/pause:3.10",
    }


def test_the_shipped_chart_tags_every_image() -> None:
    chart = (ROOT / "helm" / "barcode-pipeline" / "Chart.yaml").read_text()
    tag = images.app_version(chart)
    assert (images.SERVICE, images.KAFKA, images.MINIO) == (
        f"barcode-pipeline:{tag}", f"barcode-pipeline-kafka:{tag}", f"barcode-pipeline-minio:{tag}")
    assert images.CLUSTER_IMAGES == (images.SERVICE, images.KAFKA, images.MINIO, images.PAUSE)
    assert images.CHECK_IMAGES == (f"barcode-pipeline-prometheus:{tag}",)  # k8s-test's, not `make images`


def test_containerd_names_images_the_way_the_kubelet_asks_for_them() -> None:
    assert images.containerd_name("barcode-pipeline:0.1.0") == "docker.io/library/barcode-pipeline:0.1.0"
    assert images.containerd_name("local/pause:3.10") == "docker.io/local/pause:3.10"
    assert images.containerd_name("registry.example:5000/x:1") == "registry.example:5000/x:1"
    assert images.containerd_name("localhost/x:1") == "localhost/x:1"


def _elf(segment_types: list[int]) -> bytes:
    """A 64-bit little-endian ELF header and program header table, nothing else."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # e_phoff
    struct.pack_into("<HH", header, 0x36, 56, len(segment_types))  # e_phentsize, e_phnum
    table = b"".join(struct.pack("<I", t) + bytes(52) for t in segment_types)
    return bytes(header) + table


def test_a_static_binary_is_told_from_a_dynamic_one(tmp_path: Path) -> None:
    pt_load, pt_interp, pt_note = 1, 3, 4
    static, dynamic = tmp_path / "static", tmp_path / "dynamic"
    static.write_bytes(_elf([pt_load, pt_note]))
    dynamic.write_bytes(_elf([pt_interp, pt_load]))
    assert images.is_static_elf(static) is True
    assert images.is_static_elf(dynamic) is False
    # The test interpreter itself is dynamically linked.
    assert images.is_static_elf(Path(sys.executable).resolve()) is False


def test_the_inputs_digest_changes_with_content_and_base(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_text("one")
    first = images.inputs_digest([("a", a)], ["base1"])
    assert images.inputs_digest([("a", a)], ["base1"]) == first
    assert images.inputs_digest([("a", a)], ["base2"]) != first
    a.write_text("two")
    assert images.inputs_digest([("a", a)], ["base1"]) != first
