"""The generator sets up the bucket itself, with the expiry rule."""
from __future__ import annotations

import boto3

from devstack.minio import ACCESS_KEY, SECRET_KEY
from devstack.stack import Stack


def test_bucket_exists_with_a_one_day_expiry_rule(stack: Stack) -> None:
    s3 = boto3.client("s3", endpoint_url=stack.minio.endpoint, aws_access_key_id=ACCESS_KEY,
                      aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    rules = s3.get_bucket_lifecycle_configuration(Bucket="barcodes")["Rules"]
    assert [(r["Status"], r["Expiration"]["Days"]) for r in rules] == [("Enabled", 1)]


async def test_generator_metrics_count_renders_and_verification(stack: Stack, gateway_a: str) -> None:
    import aiohttp

    from tests.support.client import generate, next_message

    port = stack.services["generator"].env["GENERATOR_METRICS_PORT"]
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{gateway_a}/v1/ws") as ws:
            await next_message(ws)
            _, final = await generate(ws, symbology="qrcode", data="METRICS-" + stack.minio.endpoint[-5:])
            assert final["type"] == "completed"
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    counts = dict(line.split() for line in text.splitlines() if not line.startswith("#"))
    assert int(counts["barcode_generator_rendered_total"]) + int(counts["barcode_generator_cached_total"]) >= 1
    assert counts["barcode_generator_verification_failed_total"] == "0"
