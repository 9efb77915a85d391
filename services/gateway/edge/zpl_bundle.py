"""The ZPL renderer's browser bundle, for the page's label previews: GET /static/zpl/zpl-renderer.js.

zebrash compiled to WebAssembly and inlined in one ES module (npm zpl-renderer-js's
dist/index.esm.js, ~9.4 MB), read from ZPL_RENDERER_MODULES: the package the generator verifies
labels with, installed from scripts/zpl/package-lock.json. So the page previews a label with the
renderer that checked it, and no copy of it lives in this repository. The page imports it only
once it shows a ZPL result.

Sent gzipped to browsers that take it (~3 MB instead of 9.4), from a copy compressed once per
version of the file, with a strong ETag of its content: a browser revalidates with a 304.
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError
from services.render.zpl_render import MODULES_ENV

PATH = "/static/zpl/zpl-renderer.js"
BUNDLE = Path("zpl-renderer-js", "dist", "index.esm.js")
# A day, then a revalidation (a 304 while the lock file is unchanged). Not `immutable`: the path
# is stable, and a new lock file changes what it serves.
CACHE_CONTROL = "public, max-age=86400"
CONTENT_TYPE = "text/javascript"  # a module script must have a JavaScript type (and nosniff is on)


@dataclass(frozen=True)
class Bundle:
    digest: str  # of the file as it is: its ETag (the gzipped copy's is this plus "-gzip")
    gzipped: bytes


def _load(path: Path) -> Bundle:
    body = path.read_bytes()
    # mtime=0: the same file compresses to the same bytes on every replica and every start.
    return Bundle(hashlib.sha256(body).hexdigest()[:32], gzip.compress(body, compresslevel=6, mtime=0))


class RendererBundle:
    """The bundle as last read: read again when the file changes (a reinstall), never copied
    while it is absent."""

    def __init__(self, modules: Path | None) -> None:
        self.path = modules / BUNDLE if modules else None
        self._version: tuple[int, int] | None = None
        self._loading: asyncio.Future[Bundle] | None = None

    async def get(self) -> Bundle | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        if self._loading is None or self._version != version:
            # Read and compressed once (~0.3 s, off the event loop), however many ask meanwhile.
            self._version = version
            self._loading = asyncio.ensure_future(asyncio.to_thread(_load, self.path))
        try:
            # Shielded: a browser that goes away must not cancel the read the others wait for.
            return await asyncio.shield(self._loading)
        except OSError:
            self._loading = None  # gone between stat and read: looked for again next time
            return None


def accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() != "gzip":
            continue
        quality = params.strip().lower()
        try:
            return not quality.startswith("q=") or float(quality[2:]) > 0
        except ValueError:
            return False
    return False


def _not_modified(request: web.Request, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")}
    return etag in tags or "*" in tags


def handler(modules: Path | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    bundle = RendererBundle(modules)

    async def serve(request: web.Request) -> web.Response:
        found = await bundle.get()
        if found is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"the ZPL renderer is not installed here ({MODULES_ENV}); "
                                                "ZPL results are shown as text", status=404)
        gzipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        # Two encodings, two representations: each its own strong ETag.
        etag = f'"{found.digest}-gzip"' if gzipped else f'"{found.digest}"'
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if _not_modified(request, etag):
            return web.Response(status=304, headers=headers)
        if gzipped:
            return web.Response(body=found.gzipped, content_type=CONTENT_TYPE, charset="utf-8",
                                headers={**headers, "Content-Encoding": "gzip"})
        # Rare (every browser takes gzip): unpacked from the copy, so the body is the ETag's version.
        body = await asyncio.to_thread(gzip.decompress, found.gzipped)
        return web.Response(body=body, content_type=CONTENT_TYPE, charset="utf-8", headers=headers)

    return serve
