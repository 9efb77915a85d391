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
