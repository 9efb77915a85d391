"""Our SigV4 signatures must equal botocore's for the same request, key pair and instant."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote
from unittest import mock

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from services.storage.sigv4 import Signer

NOW = dt.datetime(2026, 11, 26, 15, 4, 5, tzinfo=dt.timezone.utc)
ENDPOINT = "http://127.0.0.1:9000"
KEYS = ("v1/ab/abcdef.png", "odd key/with spaces+plus&amp~tilde.svg", "ünïcode/ключ.pdf")


def signer() -> Signer:
    return Signer(ENDPOINT, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1")


@pytest.mark.parametrize("key", KEYS)
def test_presigned_get_matches_botocore(key: str) -> None:
    client = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region_name="us-east-1",
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        expected = client.generate_presigned_url("get_object", Params={"Bucket": "barcodes", "Key": key},
                                                 ExpiresIn=900)
    assert signer().presign_get("barcodes", key, 900, now=NOW) == expected


@pytest.mark.parametrize("key", KEYS)
def test_put_authorization_matches_botocore(key: str) -> None:
    body = b"\x89PNG not really"
    ours = signer().put_headers("barcodes", key, body, now=NOW, extra={"if-none-match": "*"})
    # botocore's serializer percent-encodes the key into the URL before signing.
    request = AWSRequest(method="PUT", url=f"{ENDPOINT}/barcodes/{quote(key, safe='/~')}", data=body,
                         headers={"If-None-Match": "*"})
    request.headers["X-Amz-Content-SHA256"] = ours["x-amz-content-sha256"]
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "s3",
                    "us-east-1").add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == "20261126T150405Z"


def test_signing_key_is_rederived_when_the_day_changes() -> None:
    s = signer()
    first = s.presign_get("b", "k", 60, now=NOW)
    next_day = s.presign_get("b", "k", 60, now=NOW + dt.timedelta(days=1))
    assert s.presign_get("b", "k", 60, now=NOW) == first
    assert first.split("X-Amz-Signature=")[1] != next_day.split("X-Amz-Signature=")[1]
