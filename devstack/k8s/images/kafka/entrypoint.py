#!/usr/bin/python3
"""Entrypoint of the local Kafka image: configure a KRaft broker from the environment, then exec java.

It follows the env convention of the apache/kafka image (which the chart was written against):

- every `KAFKA_<NAME>=value` becomes a broker property: `KAFKA_` dropped, lower-cased, `_` -> `.`,
  `__` -> `_`, `___` -> `-` (`KAFKA_LOG_DIRS` -> `log.dirs`);
- except the JVM and logging settings of Kafka's start scripts (`JVM_SETTINGS` below), which are
  not broker properties: `KAFKA_HEAP_OPTS` (default `-Xmx1G -Xms1G`), `KAFKA_JVM_PERFORMANCE_OPTS`
  (default: the start script's G1 settings), `KAFKA_OPTS` (extra JVM flags), `KAFKA_LOG4J_OPTS`
  (replaces our `-Dlog4j2.configurationFile`), `KAFKA_LOG4J_ROOT_LOGLEVEL` (default `WARN`; the
  "Kafka Server started" line is always logged);
- `CLUSTER_ID` (no prefix) formats the storage when a log dir has no `meta.properties` yet, and is
  not needed after that. Kafka 4.4 stores it as an opaque string (format and start accept any
  non-empty id); the convention, and what older versions checked, is a base64url-encoded 16-byte
  UUID of 22 characters;
- Kubernetes' service-link variables (`KAFKA_PORT=tcp://10.96.0.10:9092`, `KAFKA_SERVICE_HOST`, ...,
  injected when a Service named `kafka...` exists in the namespace) are skipped, not turned into
  properties;
- `LOG_DIR` is Kafka's `kafka.logs.dir` (nothing is written there: the log goes to stdout).

The root filesystem is read-only in the pod: server.properties and the log4j2 config are written
to `$TMPDIR` (default /tmp) `/kafka-config/`; the only other writes are the log dirs. The jars
and this script are the image's; nothing from the apache/kafka image is used.

Pure functions first (unit-tested in tests/devstack/test_k8s_images.py), `main()` last.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

PREFIX = "KAFKA_"
# Start-script settings (kafka-run-class.sh, kafka-server-start.sh) and the apache/kafka
# image's own, never broker properties.
JVM_SETTINGS = frozenset({
    "KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_LOG4J_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_VERSION", "KAFKA_DEBUG", "KAFKA_HOME",
})
LIBS = Path("/opt/kafka/libs")
DEFAULT_HEAP = "-Xmx1G -Xms1G"
DEFAULT_JVM_PERFORMANCE = ("-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 "
                           "-XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true")

# The same log4j2 template as the local stack's broker (devstack/kafka.py), put into the image
# by devstack/k8s/images.py; `{level}` is the root level.
LOG4J2_TEMPLATE = Path("/opt/kafka/config/log4j2.properties.template")


class ConfigError(Exception):
    pass


def property_name(env_name: str) -> str | None:
    """`KAFKA_LOG_DIRS` -> `log.dirs`; None for anything that is not a broker property."""
    if not env_name.startswith(PREFIX) or env_name in JVM_SETTINGS:
        return None
    body = env_name[len(PREFIX):]
    if not body or "____" in body or body.startswith("_") or body.endswith("_"):
        raise ConfigError(f"{env_name}: cannot be read as a property name (underscores at an end, or four in a row)")
    return re.sub(r"_{1,3}", lambda m: {1: ".", 2: "_", 3: "-"}[len(m.group())], body).lower()


# What the kubelet injects for every Service in the namespace (enableServiceLinks): a Service
# named "kafka" (or "kafka-ui", ...) yields KAFKA_PORT=tcp://10.96.0.10:9092, KAFKA_SERVICE_HOST=...
# Kafka only warns about the unknown properties they would become, but they are not config.
_SERVICE_LINK_NAME = re.compile(r"\w+?_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)")
_SERVICE_LINK_URL = re.compile(r"(tcp|udp|sctp)://[^/\s]+:\d+")


def is_service_link(env_name: str, value: str) -> bool:
    if _SERVICE_LINK_NAME.fullmatch(env_name):
        return True
    return env_name.endswith("_PORT") and bool(_SERVICE_LINK_URL.fullmatch(value))


def broker_properties(environ: Mapping[str, str]) -> dict[str, str]:
    props = {}
    for env_name, value in environ.items():
        if is_service_link(env_name, value):
            continue
        name = property_name(env_name)
        if name is not None:
            props[name] = value
    return dict(sorted(props.items()))


def escape_value(value: str) -> str:
    """A Java .properties value (read as ISO-8859-1): backslashes, line breaks, leading blanks, non-ASCII."""
    out = []
    for i, char in enumerate(value):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == " " and i == 0:
            out.append("\\ ")
        elif ord(char) > 126 or ord(char) < 32:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def render_properties(props: Mapping[str, str]) -> str:
    return "".join(f"{name}={escape_value(value)}\n" for name, value in props.items())


def storage_dirs(props: Mapping[str, str]) -> list[str]:
    """Every folder `kafka-storage format` writes a meta.properties into."""
    dirs = [d.strip() for d in props.get("log.dirs", props.get("log.dir", "/tmp/kraft-combined-logs")).split(",")]
    if props.get("metadata.log.dir"):
        dirs.append(props["metadata.log.dir"].strip())
    return [d for d in dict.fromkeys(dirs) if d]


def jvm_args(environ: Mapping[str, str], config_dir: Path) -> list[str]:
    """The JVM flags of kafka-server-start.sh + kafka-run-class.sh, from the same variables."""
    log4j = environ.get("KAFKA_LOG4J_OPTS") or f"-Dlog4j2.configurationFile=file:{config_dir / 'log4j2.properties'}"
    logs_dir = environ.get("LOG_DIR") or str(config_dir)
    return [
        *shlex.split(environ.get("KAFKA_HEAP_OPTS") or DEFAULT_HEAP),
        *shlex.split(environ.get("KAFKA_JVM_PERFORMANCE_OPTS") or DEFAULT_JVM_PERFORMANCE),
        *shlex.split(log4j),
        f"-Dkafka.logs.dir={logs_dir}",
        *shlex.split(environ.get("KAFKA_OPTS", "")),
        # A class-path wildcard: the JVM expands it, so no jar list to keep in sync.
        "-cp", f"{LIBS}/*",
    ]


def main() -> None:
    environ = dict(os.environ)
    try:
        props = broker_properties(environ)
    except ConfigError as exc:
        sys.exit(f"kafka-entrypoint: {exc}")
    if "process.roles" not in props:
        sys.exit("kafka-entrypoint: KAFKA_PROCESS_ROLES is not set; this image runs KRaft only "
                 "(set KAFKA_NODE_ID, KAFKA_PROCESS_ROLES, KAFKA_LISTENERS, KAFKA_CONTROLLER_QUORUM_VOTERS, ...)")
    config_dir = Path(environ.get("TMPDIR") or "/tmp") / "kafka-config"
    try:
        config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        sys.exit(f"kafka-entrypoint: cannot create {config_dir} ({exc}); /tmp must be writable (an emptyDir)")
    config = config_dir / "server.properties"
    config.write_text(render_properties(props), encoding="latin-1", errors="strict")
    level = environ.get("KAFKA_LOG4J_ROOT_LOGLEVEL") or "WARN"
    (config_dir / "log4j2.properties").write_text(LOG4J2_TEMPLATE.read_text().format(level=level))
    java = ["java", *jvm_args(environ, config_dir)]

    unformatted = [d for d in storage_dirs(props) if not (Path(d) / "meta.properties").exists()]
    if unformatted:
        cluster_id = environ.get("CLUSTER_ID", "")
        if not cluster_id:
            sys.exit(f"kafka-entrypoint: {', '.join(unformatted)} not formatted and CLUSTER_ID is not set "
                     "(by convention a base64url-encoded 16-byte UUID: 22 characters of A-Z a-z 0-9 - _, "
                     "as `kafka-storage random-uuid` prints)")
        print(f"kafka-entrypoint: formatting {', '.join(unformatted)} for cluster {cluster_id}", flush=True)
        # `--ignore-formatted`: with several dirs, the formatted ones are left as they are.
        # `--cluster-id=ID` in one argument: an id starting with "-" would otherwise be read as an option.
        result = subprocess.run([*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                                 "-c", str(config), "--ignore-formatted"])
        if result.returncode != 0:
            sys.exit(f"kafka-entrypoint: formatting the storage failed ({result.returncode})")
    sys.stdout.flush()
    # exec: java becomes the container's PID 1 and gets SIGTERM directly (controlled shutdown).
    os.execvp("java", [*java, "kafka.Kafka", str(config)])


if __name__ == "__main__":
    main()
