"""The Debian base image, made here: no registry can be pulled from, so `debootstrap` builds it.

The rootfs is kept in `.local/k8s/rootfs-<suite>` (making it again takes over a minute) and
imported with `docker import` as `local/debian-python:<suite>`; the cluster's images build on it.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devstack import paths
from devstack.k8s import say
from devstack.k8s.mounts import unmount_under

SUITE = "bookworm"
BASE_IMAGE = f"local/debian-python:{SUITE}"
FALLBACK_MIRROR = "http://deb.debian.org/debian"
# python3-venv: the service image makes its venv with `python3 -m venv` (Debian splits it out);
# ca-certificates: pip inside `docker build` verifies PyPI against the system bundle.
PACKAGES = ("python3", "python3-venv", "ca-certificates")
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
HOST_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


@dataclass(frozen=True)
class Source:
    uri: str
    suite: str
    components: tuple[str, ...]


def parse_deb822(text: str) -> list[Source]:
    """`.sources` files: blank-line separated stanzas of `Field: value` (continuation lines indented)."""
    sources: list[Source] = []
    for stanza in _stanzas(text):
        if "deb" not in stanza.get("types", "").split() or stanza.get("enabled", "yes").lower() == "no":
            continue
        components = tuple(stanza.get("components", "").split())
        for uri in stanza.get("uris", "").split():
            for suite in stanza.get("suites", "").split():
                sources.append(Source(uri.rstrip("/"), suite, components))
    return sources


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, None
        elif line[0] in " \t" and key is not None:
            current[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def parse_one_line(text: str) -> list[Source]:
    """`sources.list`: `deb [opt=val ...] URI SUITE COMPONENT...`."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        rest = line[4:].strip()
        if rest.startswith("["):
            rest = rest.split("]", 1)[1].strip()
        fields = rest.split()
        if len(fields) >= 2:
            sources.append(Source(fields[0].rstrip("/"), fields[1], tuple(fields[2:])))
    return sources


def host_sources(files: tuple[Path, ...] = HOST_SOURCES) -> list[Source]:
    found: list[Source] = []
    for path in files:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        found += parse_deb822(text) if path.suffix == ".sources" else parse_one_line(text)
    return found


def mirror(sources: list[Source], suite: str = SUITE) -> str:
    """The URI that serves `suite` itself (not -updates or -security): debootstrap's mirror."""
    for source in sources:
        if source.suite == suite:
            return source.uri
    return FALLBACK_MIRROR


def image_sources_list(sources: list[Source], suite: str = SUITE) -> str:
    """The rootfs's sources.list: the host's lines for `suite` and its -updates/-security, main only.

    debootstrap writes only the base suite; the host's view includes the fixes, and apt-get
    in the image builds should install what the host would.
    """
    lines = []
    for source in sources:
        if source.suite == suite or source.suite.startswith(f"{suite}-"):
            line = f"deb {source.uri} {source.suite} main"
            if line not in lines:
                lines.append(line)
    if not any(line.split()[2] == suite for line in lines):
        lines.insert(0, f"deb {mirror(sources, suite)} {suite} main")
    return "\n".join(lines) + "\n"


def rootfs_dir(suite: str = SUITE) -> Path:
    return paths.LOCAL / "k8s" / f"rootfs-{suite}"


def ensure_rootfs(suite: str = SUITE) -> Path:
    """Debootstrap once; a `.complete` marker beside the folder says it finished."""
    target = rootfs_dir(suite)
    marker = target.with_name(target.name + ".complete")
    if marker.exists() and target.is_dir():
        return target
    sources = host_sources()
    url = mirror(sources, suite)
    say(f"debootstrap {suite} (minbase + {', '.join(PACKAGES)}) from {url} into {target} (about 70 s) ...")
    started = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    _remove_tree(partial)
    _remove_tree(target)
    partial.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(partial), url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"debootstrap failed ({result.returncode}):\n" + "\n".join(result.stdout.splitlines()[-30:]))
    configure_rootfs(partial, sources, suite)
    partial.rename(target)
    marker.write_text(suite)
    say(f"rootfs ready ({time.monotonic() - started:.0f}s)")
    return target


def configure_rootfs(root: Path, sources: list[Source], suite: str = SUITE) -> None:
    """What debootstrap leaves out: the full sources list, this machine's own CAs; minus the caches."""
    (root / "etc/apt/sources.list").write_text(image_sources_list(sources, suite))
    # CAs this machine added (e.g. an egress proxy's) must be trusted by pip inside `docker build`
    # (Debian's pip reads the system bundle), or PyPI fails TLS verification. Added the Debian way,
    # so a later `update-ca-certificates` (ca-certificates-java, upgrades) keeps them.
    local_cas = sorted(LOCAL_CAS.glob("*.crt")) if LOCAL_CAS.is_dir() else []
    if local_cas:
        target = root / str(LOCAL_CAS).lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        for ca in local_cas:
            shutil.copyfile(ca, target / ca.name)
        # (Its "rehash: warning: skipping ca-certificates.crt" on stderr is normal; shown only on failure.)
        done = subprocess.run(["chroot", str(root), "update-ca-certificates"], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"update-ca-certificates in {root} failed:\n{done.stdout}{done.stderr}")
    # Package caches and lists are stale the moment the image is imported: every build that
    # installs something runs `apt-get update` first. Dropping them keeps the base small.
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (root / cache).glob("*"):
            if entry.is_file():
                entry.unlink()


def _remove_tree(path: Path) -> None:
    # A debootstrap interrupted mid-way can leave /proc or /sys mounted inside its target.
    if path.exists():
        unmount_under(path)
        shutil.rmtree(path)
