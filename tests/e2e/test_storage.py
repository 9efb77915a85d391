"""The generator sets up the bucket itself, with the expiry rule."""
from __future__ import annotations

import boto3
import pytest

from devstack.minio import ACCESS_KEY, SECRET_KEY
from devstack.stack import Stack
from tests.support.metrics import scrape


def test_bucket_exists_with_a_one_day_expiry_rule(stack: Stack) -> None:
    s3 = boto3.client("s3", endpoint_url=stack.minio.endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    rules = s3.get_bucket_lifecycle_configuration(Bucket="barcodes")["Rules"]
    assert [(r["Status"], r["Expiration"]["Days"]) for r in rules] == [("Enabled", 1)]


async def test_generator_metrics_count_renders_and_verification(stack: Stack, gateway_a: str) -> None:
    import uuid

    import aiohttp

    from tests.support.client import generate, next_message

    port = stack.services["generator"].env["GENERATOR_HEALTH_PORT"]
    async with aiohttp.ClientSession() as session:
        before = await scrape(session, f"http://127.0.0.1:{port}")
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            _, final = await generate(ws, symbology="qrcode", data=f"METRICS-{uuid.uuid4().hex}")
            assert final["type"] == "completed"
        after = await scrape(session, f"http://127.0.0.1:{port}")
    assert after["barcode_generator_rendered_total"] == before["barcode_generator_rendered_total"] + 1
    # Other tests (the fuzzers) run beside this one; this job itself verified fine.
    assert after["barcode_generator_verification_failed_total"] == before["barcode_generator_verification_failed_total"]


async def test_conditional_put_stores_once_and_reports_what_was_there(stack: Stack) -> None:
    """The generator's upload is a signed conditional PUT against the real MinIO: the first stores,
    a repeat is told the object exists (412) and leaves the first bytes in place."""
    import uuid

    from services.generator.errors import TransientError
    from services.generator.storage import ObjectStore
    from services.settings import Env, S3Settings

    settings = S3Settings.from_env(Env(stack.env()))
    store = ObjectStore(settings, connections=2)
    key = f"tests/conditional/{uuid.uuid4().hex}.png"
    try:
        assert await store.put_new(key, b"first", "image/png") is True
        assert await store.put_new(key, b"second", "image/png") is False
        wrong = ObjectStore(S3Settings(**{**settings.__dict__, "secret_key": "not-the-key"}), connections=1)
        try:
            with pytest.raises(TransientError, match="HTTP 403"):  # a bad signature is refused, not hung
                await wrong.put_new(f"{key}.other", b"x", "image/png")
        finally:
            await wrong.close()
    finally:
        await store.close()
    s3 = boto3.client("s3", endpoint_url=stack.minio.endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    stored = s3.get_object(Bucket=settings.bucket, Key=key)
    assert stored["Body"].read() == b"first" and stored["ContentType"] == "image/png"
