"""The object store: bucket setup with its expiry rule, existence checks, uploads.

boto3 is synchronous; every call here runs in the generator's thread pool.
"""
from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.generator.errors import TransientError
from services.settings import S3Settings

log = logging.getLogger(__name__)


class ObjectStore:
    def __init__(self, settings: S3Settings, pool_size: int) -> None:
        self.bucket = settings.bucket
        self._client: Any = boto3.client(
            "s3", endpoint_url=settings.endpoint, aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key, region_name=settings.region,
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"},
                max_pool_connections=pool_size,
                # Our own retry loop owns backoff and the attempt budget.
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=2, read_timeout=10,
            ),
        )

    def ensure_bucket(self, ttl_days: int) -> None:
        """Create the bucket if missing and (re)apply the expiry rule, so the TTL setting wins."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._client.create_bucket(Bucket=self.bucket)
            log.info("created bucket %s", self.bucket)
        self._client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket,
            LifecycleConfiguration={"Rules": [{
                "ID": "expire-rendered-barcodes", "Status": "Enabled", "Filter": {"Prefix": ""},
                "Expiration": {"Days": ttl_days},
            }]},
        )

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise TransientError(f"head {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"head {key}: {exc}") from exc

    def put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"put {key}: {exc}") from exc
