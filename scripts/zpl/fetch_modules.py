"""Install the ZPL renderer's npm packages from package-lock.json without npm: each package's
tarball from the npm registry, checked against the lock file's sha512 integrity, unpacked into
`<target>/node_modules`. Standard library only: the service image's build stage runs it too
(Debian's npm would bring some 200 packages for one tarball).

Usage: python3 fetch_modules.py TARGET_DIR   (idempotent: a finished install is kept while the
lock file is unchanged; progress on stderr)."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "package-lock.json"
REGISTRY = "https://registry.npmjs.org"


def _packages(lock: dict) -> list[tuple[str, str, str]]:
    """(name, version, integrity) of every package the lock file installs."""
    out = []
    for where, entry in lock["packages"].items():
        if not where:
            continue  # the root project itself
        name = where.split("node_modules/")[-1]
        out.append((name, entry["version"], entry["integrity"]))
    return out


def _tarball(name: str, version: str, integrity: str) -> bytes:
    url = f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
    print(f"[zpl] fetching {url}", file=sys.stderr, flush=True)
    with urllib.request.urlopen(url, timeout=120) as resp:
        body = resp.read()
    algorithm, _, expected = integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, body).digest()).decode() != expected:
        raise RuntimeError(f"{name}@{version}: the tarball does not match the lock file's {algorithm} integrity")
    return body


def _unpack(body: bytes, target: Path) -> None:
    """npm tarballs hold one folder, `package/`: its contents become the package's folder."""
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        for member in tar.getmembers():
            relative = Path(*Path(member.name).parts[1:])
            if not (member.isfile() or member.isdir()) or ".." in relative.parts or not relative.parts:
                continue  # no links, devices or paths out of the folder
            path = target / relative
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            path.write_bytes(source.read())


def install(target: Path) -> Path:
    """`target/node_modules` as the lock file says; reused while the lock file is unchanged."""
    lock_text = LOCK.read_text()
    modules = target / "node_modules"
    marker = target / ".complete"
    if marker.exists() and marker.read_text() == lock_text:
        return modules
    shutil.rmtree(modules, ignore_errors=True)
    for name, version, integrity in _packages(json.loads(lock_text)):
        _unpack(_tarball(name, version, integrity), modules / name)
    marker.write_text(lock_text)
    return modules


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(install(Path(sys.argv[1])))
