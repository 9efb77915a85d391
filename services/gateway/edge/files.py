"""GET /v1/jobs/{id}/file: stream the stored object through the gateway, so one
port-forward to the gateway is enough to fetch results. HEAD: the same headers, no body."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import hdrs, web

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError
from services.settings import S3Settings
from services.storage.sigv4 import Signer


# A stalled store must not hold an image request past what its caller waits for.
READ_TIMEOUT = aiohttp.ClientTimeout(total=10)
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


class FileFetcher:
    def __init__(self, s3: S3Settings, session: aiohttp.ClientSession) -> None:
        self.session = session
        # Signs URLs for the internal endpoint (a local computation, no request); the download
        # itself is an async aiohttp stream.
        self._signer = Signer(s3.endpoint, s3.access_key, s3.secret_key, s3.region)

    @contextlib.asynccontextmanager
    async def _get(self, bucket: str, key: str,
                   timeout: aiohttp.ClientTimeout | None = None) -> AsyncIterator[aiohttp.ClientResponse]:
        """The store's answer for the object, once it said 200: expired is 410, anything else
        (an error status, no answer) storage_unavailable."""
        kwargs = {} if timeout is None else {"timeout": timeout}
        try:
            async with self.session.get(self._signer.presign_get(bucket, key, 300), **kwargs) as upstream:
                if upstream.status == 404:
                    raise ApiError(ErrorCode.NOT_FOUND, "the file has expired from storage", status=410)
                if upstream.status != 200:
                    raise ApiError(ErrorCode.STORAGE_UNAVAILABLE, f"storage answered {upstream.status}")
                yield upstream
        except aiohttp.ClientError as exc:
            raise ApiError(ErrorCode.STORAGE_UNAVAILABLE, f"storage unreachable: {exc}") from exc

    async def read(self, bucket: str, key: str) -> bytes:
        """The whole object (a small one: an image URL's file, kept in memory after)."""
        async with self._get(bucket, key, READ_TIMEOUT) as upstream:
            return await upstream.read()

    async def stream(self, request: web.Request, bucket: str, key: str, content_type: str, job_id: str,
                     headers: dict[str, str] | None = None) -> web.StreamResponse:
        """`headers`: set over the defaults (an image URL's ETag and Cache-Control)."""
        async with self._get(bucket, key) as upstream:
            ext = key.rsplit(".", 1)[-1]
            response = web.StreamResponse(headers={
                "Content-Type": content_type,
                "Content-Disposition": f'inline; filename="{job_id}.{ext}"',
                "Cache-Control": "private, max-age=3600",
                # An SVG opened from this origin could run script as us: no script, no
                # requests, a sandboxed document (its own inline styles only).
                "Content-Security-Policy": FILE_CSP,
                **(headers or {}),
            })
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            # aiohttp answers HEAD with this GET handler, and a StreamResponse sends whatever
            # is written, HEAD or not: the body would follow the headers and the client, which
            # expects none, would read it as the start of its next response on the connection.
            # The headers, Content-Length included, are the GET's; the store's body is left
            # unread (aiohttp closes that connection rather than reuse it with bytes pending).
            if request.method != hdrs.METH_HEAD:
                async for chunk in upstream.content.iter_chunked(64 * 1024):
                    await response.write(chunk)
            await response.write_eof()
            return response
