"""The object store: bucket setup with its expiry rule (boto3, once at start) and the per-job
upload (aiohttp + our SigV4 signer, on the event loop).

The upload is a conditional PUT (`If-None-Match: *`): one request both stores a new object and
tells us it was already there (412), so no HEAD is needed before rendering. Keys are derived
from the normalised request, so an existing object is exactly the one we would write.
boto3 costs about 2 ms of CPU per request; this path costs a signature and a pooled
keep-alive request (see docs/benchmarks.md).
"""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import aiohttp
from botocore.exceptions import ClientError

from services.generator.errors import TransientError
from services.settings import S3Settings
from services.storage.client import boto3_client
from services.storage.sigv4 import Signer

log = logging.getLogger(__name__)


def ensure_bucket(settings: S3Settings, ttl_days: int) -> None:
    """Create the bucket if missing and (re)apply the expiry rule, so the TTL setting wins.
    Blocking; runs once before the worker starts."""
    client = boto3_client(settings, connect_timeout=2, read_timeout=10)
    try:
        client.head_bucket(Bucket=settings.bucket)
    except ClientError:
        client.create_bucket(Bucket=settings.bucket)
        log.info("created bucket %s", settings.bucket)
    client.put_bucket_lifecycle_configuration(
        Bucket=settings.bucket,
        LifecycleConfiguration={"Rules": [{
            "ID": "expire-rendered-barcodes", "Status": "Enabled", "Filter": {"Prefix": ""},
            "Expiration": {"Days": ttl_days},
        }]},
    )


class ObjectStore:
    def __init__(self, settings: S3Settings, connections: int, timeout_s: float = 10.0) -> None:
        self.bucket = settings.bucket
        self.signer = Signer(settings.endpoint, settings.access_key, settings.secret_key, settings.region)
        self._base = settings.endpoint.rstrip("/")
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=2)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop; keep-alive connections are reused.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                  skip_auto_headers=("User-Agent", "Content-Type"))
        return self._session

    async def put_new(self, key: str, body: bytes, content_type: str) -> bool:
        """Store `body` under `key` unless an object is there already. True when this call
        created it, False when it existed. Raises TransientError when the store cannot answer."""
        headers = self.signer.put_headers(self.bucket, key, body, extra={"if-none-match": "*"})
        headers["content-type"] = content_type
        url = f"{self._base}/{quote(self.bucket)}/{quote(key, safe='/-_.~')}"
        try:
            async with self._http().put(url, data=body, headers=headers) as response:
                if response.status == 200:
                    return True
                if response.status == 412:
                    return False
                detail = (await response.text())[:300]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TransientError(f"put {key}: {type(exc).__name__}: {exc}") from exc
        # 5xx (SlowDown, server busy) and auth or bucket errors alike are retried, then the job
        # fails storage_unavailable and is dead-lettered for a redrive once the store is fixed.
        raise TransientError(f"put {key}: HTTP {response.status}: {detail}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
