"""Build every image the local cluster runs, with the private Docker Engine (devstack/k8s/docker.py).

No registry can be pulled from, so everything starts from a Debian rootfs made here
(devstack/k8s/debian.py) or from scratch:

| image | from | what |
|---|---|---|
| local/debian-python:bookworm | debootstrap | minbase + python3, python3-venv, ca-certificates |
| barcode-pipeline:<appVersion> | ./Dockerfile, BASE = the Debian base | the four services + loadtest |
| barcode-pipeline-kafka:<appVersion> | images/kafka | Debian's JRE 17, the pinned jars, entrypoint.py |
| barcode-pipeline-minio:<appVersion> | images/minio, scratch | the pinned MinIO build |
| local/pause:3.10 | images/pause, scratch | the pod sandbox |
| barcode-pipeline-prometheus:<appVersion> | images/prometheus, scratch | the pinned Prometheus build (k8s-test's scrape check) |

Each image carries a label with a digest of its inputs (files, binaries, base image id): an image
whose label matches is current and is not built again. `python -m devstack.k8s.images` builds
all (and imports them into the local cluster's containerd when `make k8s-up` runs); `... load
ADDRESS` builds what is missing and imports it into the containerd at ADDRESS.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from devstack import kafka, paths
from devstack.k8s import box, debian, docker, say

HERE = Path(__file__).resolve().parent / "images"
CHART = paths.ROOT / "helm" / "barcode-pipeline" / "Chart.yaml"
LABEL = "barcode-pipeline.inputs"
LOGS = paths.LOCAL / "k8s" / "image-logs"
# The service image's build context is the repo root, cut down by .dockerignore; these are the
# paths its Dockerfile copies, so they are what decides whether it is current.
SERVICE_INPUTS = ("Dockerfile", ".dockerignore", "pyproject.toml", "requirements.lock", "services", "loadtest", "config",
                  "scripts/zpl")
PAUSE_VERSION = "3.10"


def containerd_name(ref: str) -> str:
    """The name containerd (and so the kubelet) gives `ref` on import: Docker Hub's normalised form."""
    repository, tag = ref.rsplit(":", 1)
    if "/" not in repository:
        repository = f"library/{repository}"
    first = repository.split("/", 1)[0]
    if "." not in first and ":" not in first and first != "localhost":
        repository = f"docker.io/{repository}"
    return f"{repository}:{tag}"


def app_version(chart_yaml: str) -> str:
    """The chart's `appVersion` (quoted or not): every image of ours is tagged with it."""
    match = re.search(r"""^appVersion:\s*["']?([^"'\s#]+)["']?\s*(?:#.*)?$""", chart_yaml, flags=re.MULTILINE)
    if match is None:
        raise ValueError("no appVersion in Chart.yaml")
    return match.group(1)


def cluster_images(app: str) -> dict[str, str]:
    """The image refs the cluster runs, by role."""
    return {
        "service": f"barcode-pipeline:{app}",
        "kafka": f"barcode-pipeline-kafka:{app}",
        "minio": f"barcode-pipeline-minio:{app}",
        "pause": f"local/pause:{PAUSE_VERSION}",
    }


BASE = debian.BASE_IMAGE
APP_VERSION = app_version(CHART.read_text())
IMAGES = cluster_images(APP_VERSION)
# The refs the cluster code uses: PAUSE is tagged as kubeadm's sandbox image too (node_images.py).
SERVICE, KAFKA, MINIO, PAUSE = (IMAGES[k] for k in ("service", "kafka", "minio", "pause"))
CLUSTER_IMAGES: tuple[str, ...] = tuple(IMAGES.values())
# Not the release's: what k8s-test runs beside it to check it (`make images` leaves it out).
PROMETHEUS = f"barcode-pipeline-prometheus:{APP_VERSION}"
CHECK_IMAGES: tuple[str, ...] = (PROMETHEUS,)


# ---- inputs and docker queries ----

def inputs_digest(files: Iterable[tuple[str, Path]], extra: Iterable[str] = ()) -> str:
    """sha256 over (name, content) of every file, then `extra` strings (e.g. the base image id)."""
    digest = hashlib.sha256()
    for name, path in sorted(files, key=lambda item: item[0]):
        digest.update(name.encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    for value in extra:
        digest.update(value.encode() + b"\0")
    return digest.hexdigest()[:32]


def tree_files(root: Path, relative: Iterable[str]) -> list[tuple[str, Path]]:
    """(relative name, path) of every file under `relative` entries; caches and bytecode left out."""
    found = []
    for rel in relative:
        path = root / rel
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            found.append((str(file.relative_to(root)), file))
    return found


def image_id(ref: str) -> str | None:
    result = docker.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False, capture=True)
    return result.stdout.strip() if result.returncode == 0 else None


def image_label(ref: str, key: str = LABEL) -> str | None:
    result = docker.docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{key}"}}}}', ref,
                           check=False, capture=True)
    value = result.stdout.strip()
    return value if result.returncode == 0 and value not in ("", "<no value>") else None


def image_size_mb(ref: str) -> float:
    out = docker.docker("image", "inspect", "--format", "{{.Size}}", ref, capture=True).stdout
    return int(out.strip()) / 1e6


def is_static_elf(path: Path) -> bool:
    """True if the ELF executable has no PT_INTERP segment (no dynamic loader): it runs FROM scratch."""
    with open(path, "rb") as f:
        header = f.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit only: all we build
            raise ValueError(f"{path} is not a 64-bit ELF file")
        endian = "<" if header[5] == 1 else ">"
        phoff, = struct.unpack_from(endian + "Q", header, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    pt_interp = 3
    return all(struct.unpack_from(endian + "I", table, i * phentsize)[0] != pt_interp for i in range(phnum))


# ---- building ----

def docker_build(image: str, context: Path, digest: str, build_args: dict[str, str],
                  dockerfile: Path | None = None) -> None:
    """`docker build` with the legacy builder; its step lines are the progress, the rest goes to a log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{image.replace('/', '_').replace(':', '_')}.log"
    argv = [docker.DOCKER, "build", "--force-rm", "--network", "host", "--label", f"{LABEL}={digest}", "-t", image]
    for key, value in build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    if dockerfile is not None:
        argv += ["-f", str(dockerfile)]
    argv.append(str(context))
    with open(log_path, "w") as log:
        # --network host: RUN steps (apt-get, pip) reach the package registries without a bridge.
        proc = subprocess.Popen(argv, env=docker.docker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if line.startswith("Step "):
                say(f"  {image}: {line.strip()[:110]}")
        code = proc.wait()
    if code != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-40:])
        raise RuntimeError(f"docker build of {image} failed ({code}); full log: {log_path}\n{tail}")


def build_if_stale(image: str, digest: str, build: Callable[[], None]) -> None:
    if image_label(image) == digest:
        say(f"{image} is current ({image_size_mb(image):.0f} MB)")
        return
    say(f"building {image} ...")
    started = time.monotonic()
    build()
    say(f"{image} built in {time.monotonic() - started:.0f}s ({image_size_mb(image):.0f} MB)")


def build_context(name: str) -> Path:
    """A fresh temporary build context on the same disk as `.local` (hard links, no /tmp quota)."""
    parent = paths.LOCAL / "k8s" / "contexts"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_base() -> str:
    """local/debian-python:bookworm from the kept rootfs; reused whenever the image exists."""
    existing = image_id(BASE)
    if existing:
        say(f"{BASE} exists ({image_size_mb(BASE):.0f} MB)")
        return existing
    rootfs = debian.ensure_rootfs()
    say(f"importing {rootfs} as {BASE} ...")
    started = time.monotonic()
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    # An imported tarball has no config: give it the PATH and locale the python images have.
    docker.docker("import",
                  "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  "--change", "ENV LANG=C.UTF-8",
                  "--change", 'CMD ["/bin/bash"]',
                  "-", BASE, capture=True, stdin=tar.stdout)
    if tar.wait() != 0:
        raise RuntimeError(f"tar of {rootfs} failed")
    say(f"{BASE} imported in {time.monotonic() - started:.0f}s ({image_size_mb(BASE):.0f} MB)")
    return image_id(BASE) or ""


def build_service(base_id: str) -> None:
    digest = inputs_digest(tree_files(paths.ROOT, SERVICE_INPUTS), [base_id])
    build_if_stale(SERVICE, digest, lambda: docker_build(
        SERVICE, paths.ROOT, digest, {"BASE": BASE}, dockerfile=paths.ROOT / "Dockerfile"))


def kafka_jars() -> list[Path]:
    libs = paths.kafka_libs()
    if not (libs.parent / ".complete").exists():
        raise RuntimeError(f"the Kafka jars are not installed in {libs}; run `make install` first")
    return sorted(libs.glob("*.jar"))


def build_kafka(base_id: str) -> None:
    jars = kafka_jars()
    files = [("Dockerfile", HERE / "kafka" / "Dockerfile"), ("entrypoint.py", HERE / "kafka" / "entrypoint.py"),
             *((f"libs/{jar.name}", jar) for jar in jars)]
    digest = inputs_digest(files, [base_id, kafka.LOG4J2])

    def build() -> None:
        context = build_context("kafka")
        try:
            for name, source in files:
                link_or_copy(source, context / name)
            (context / "log4j2.properties.template").write_text(kafka.LOG4J2)
            docker_build(KAFKA, context, digest, {"BASE": BASE})
        finally:
            shutil.rmtree(context, ignore_errors=True)

    build_if_stale(KAFKA, digest, build)


def binary_image(ref: str, dockerfile: str, binary: Path, name: str, base_id: str, on_base: bool,
                 context_name: str, note: str | None = None) -> None:
    """An image of one binary (copied in as `name`) and its Dockerfile, FROM scratch or, `on_base`,
    the Debian base (`base_id` then keys the build); rebuilt only when an input changed. `note`:
    said when it is built."""
    base = BASE if on_base else "scratch"
    digest = inputs_digest([(name, binary)], [dockerfile, base_id if on_base else "scratch"])

    def build() -> None:
        if note:
            say(note)
        context = build_context(context_name)
        try:
            (context / "Dockerfile").write_text(dockerfile)
            link_or_copy(binary, context / name)
            docker_build(ref, context, digest, {"BASE": base})
        finally:
            shutil.rmtree(context, ignore_errors=True)

    build_if_stale(ref, digest, build)


def _binary_image(image: str, recipe: str, binary: Path, name: str, base_id: str) -> None:
    """An image of one binary: FROM scratch when it is static, else on the Debian base."""
    static = is_static_elf(binary)
    binary_image(image, (HERE / recipe / "Dockerfile").read_text(), binary, name, base_id, on_base=not static,
                 context_name=recipe,
                 note=None if static else f"  {binary} is dynamically linked: building {image} on {BASE}, not scratch")


def build_minio(base_id: str) -> None:
    binary = paths.minio_binary()
    if not binary.exists():
        raise RuntimeError(f"{binary} missing; run `make install` first")
    _binary_image(MINIO, "minio", binary, "minio", base_id)


def build_prometheus(base_id: str) -> None:
    """The pinned static build (built here the first time: a few minutes)."""
    from devstack.install import install_prometheus  # noqa: PLC0415 - only the cluster needs it
    install_prometheus()
    _binary_image(PROMETHEUS, "prometheus", paths.prometheus_binary(), "prometheus", base_id)


def pause_binary() -> Path:
    """Compile images/pause into `.local/k8s/pause-<version>`: every time, since Go's build cache
    makes an unchanged one take a second, and -trimpath makes the same sources the same bytes."""
    out = paths.LOCAL / "k8s" / f"pause-{PAUSE_VERSION}"
    subprocess.run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), "."], cwd=HERE / "pause",
                   check=True, env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"})
    return out


def build_pause(base_id: str) -> None:
    _binary_image(PAUSE, "pause", pause_binary(), "pause", base_id)


def build_cluster_images(checks: bool = False) -> None:
    """Every image the cluster runs (and the Debian base), each skipped when current; `checks`:
    also what k8s-test runs beside the release (Prometheus)."""
    started = time.monotonic()
    docker.start()
    base_id = build_base()
    for build in (build_pause, build_minio, build_kafka, build_service, *([build_prometheus] if checks else [])):
        build(base_id)
    say(f"images ready ({time.monotonic() - started:.0f}s):")
    for ref in (*CLUSTER_IMAGES, *(CHECK_IMAGES if checks else ())):
        say(f"  {ref:<36} {image_size_mb(ref):6.0f} MB")


# ---- into the cluster ----

def _containerd_config_digests(ctr: list[str]) -> dict[str, str]:
    """name -> config digest (what Docker calls the image id) of every image in containerd's k8s.io namespace."""
    listed = subprocess.run([*ctr, "images", "ls"], capture_output=True, text=True, check=True).stdout
    digests = {}
    for line in listed.splitlines()[1:]:  # REF TYPE DIGEST SIZE PLATFORMS LABELS
        fields = line.split()
        if len(fields) >= 3:
            manifest = subprocess.run([*ctr, "content", "get", fields[2]], capture_output=True, check=True).stdout
            digests[fields[0]] = str(json.loads(manifest).get("config", {}).get("digest"))
    return digests


def load_into_containerd(address: str, images: Iterable[str] = CLUSTER_IMAGES) -> None:
    """`docker save IMG | ctr -a ADDRESS -n k8s.io images import -` for each image containerd lacks
    or has in another build (compared by image id, so a rebuilt tag is loaded again)."""
    docker.start()
    ctr = ["/usr/bin/ctr", "-a", address, "-n", "k8s.io"]
    present = _containerd_config_digests(ctr)
    for image in images:
        wanted = image_id(image)
        if wanted is None:
            raise RuntimeError(f"{image} is not built; run `python -m devstack.k8s.images` first")
        if present.get(containerd_name(image)) == wanted:
            say(f"{image} already in containerd")
            continue
        started = time.monotonic()
        save = subprocess.Popen([docker.DOCKER, "save", image], env=docker.docker_env(), stdout=subprocess.PIPE)
        assert save.stdout is not None
        imported = subprocess.run([*ctr, "images", "import", "-"], stdin=save.stdout, capture_output=True, text=True)
        save.stdout.close()
        if save.wait() != 0 or imported.returncode != 0:
            raise RuntimeError(f"loading {image} into containerd at {address} failed:\n{imported.stderr}")
        say(f"{image} loaded into containerd as {containerd_name(image)} ({time.monotonic() - started:.0f}s)")


def build_and_load(address: str) -> None:
    """k8s-test's images: the release's and its checks'."""
    build_cluster_images(checks=True)
    load_into_containerd(address, (*CLUSTER_IMAGES, *CHECK_IMAGES))


def main(argv: list[str]) -> int:
    if not argv:
        build_cluster_images()
        if box.CONTAINERD_SOCKET.is_socket():  # `make k8s-up` runs: the images go in too
            load_into_containerd(str(box.CONTAINERD_SOCKET))
    elif argv[0] == "load" and len(argv) == 2:
        build_and_load(argv[1])
    else:
        print("usage: python -m devstack.k8s.images [load CONTAINERD_ADDRESS]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
