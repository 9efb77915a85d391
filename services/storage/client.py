"""The one place a boto3 S3 client is built: path-style addressing (MinIO), SigV4, and the
endpoint and credentials from S3Settings. Only for the cold paths (bucket setup, multipart
uploads of batch outputs); the hot paths sign with `sigv4` instead."""
from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from services.settings import S3Settings


def boto3_client(settings: S3Settings, *, attempts: int = 3, connections: int = 10, **config: Any) -> Any:
    """A boto3 S3 client for `settings`; `config` adds botocore Config fields (timeouts)."""
    return boto3.client(
        "s3", endpoint_url=settings.endpoint, aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key, region_name=settings.region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": attempts, "mode": "standard"},
                      max_pool_connections=connections, **config),
    )
