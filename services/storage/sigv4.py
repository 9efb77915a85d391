"""AWS Signature Version 4 for the two S3 calls on the hot path: PUT an object, presign a GET.

boto3 spends about 2 ms of CPU per request building, signing and parsing through its generic
model machinery; these two operations need only the signature itself (a few HMACs, tens of
microseconds). boto3 stays for everything else (bucket setup, lifecycle, listing), and the
tests check these signatures against botocore's for the same inputs.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _uri(path: str) -> str:
    # S3 encodes each path segment once, keeping "/" and the unreserved characters.
    return quote(path, safe="/-_.~")


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))


@dataclass
class Signer:
    """Signs path-style requests against one endpoint with one key pair."""

    endpoint: str  # scheme://host[:port]
    access_key: str
    secret_key: str
    region: str
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint).netloc

    def _signing_key(self, day: str) -> bytes:
        # The derived key changes once a day: computing it once saves four HMACs per request.
        key = self._keys.get(day)
        if key is None:
            key = _hmac(_hmac(_hmac(_hmac(f"AWS4{self.secret_key}".encode(), day), self.region), "s3"),
                        "aws4_request")
            self._keys = {day: key}
        return key

    def _signature(self, method: str, path: str, query: str, headers: dict[str, str], payload_hash: str,
                   stamp: str) -> str:
        names = sorted(headers)
        canonical = "\n".join([method, _uri(path), query,
                               "".join(f"{n}:{headers[n].strip()}\n" for n in names),
                               ";".join(names), payload_hash])
        scope = f"{stamp[:8]}/{self.region}/s3/aws4_request"
        to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        return hmac.new(self._signing_key(stamp[:8]), to_sign.encode(), hashlib.sha256).hexdigest()

    def put_headers(self, bucket: str, key: str, body: bytes, now: dt.datetime | None = None,
                    extra: dict[str, str] | None = None) -> dict[str, str]:
        """Headers for `PUT /bucket/key` with `body`; `extra` headers (lower-case names) are signed too."""
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        payload_hash = hashlib.sha256(body).hexdigest()
        signed = {"host": self.host, "x-amz-content-sha256": payload_hash, "x-amz-date": stamp, **(extra or {})}
        signature = self._signature("PUT", f"/{bucket}/{key}", "", signed, payload_hash, stamp)
        scope = f"{stamp[:8]}/{self.region}/s3/aws4_request"
        names = ";".join(sorted(signed))
        return {**signed, "authorization":
                f"{ALGORITHM} Credential={self.access_key}/{scope}, SignedHeaders={names}, Signature={signature}"}

    def presign_get(self, bucket: str, key: str, expires_s: int, now: dt.datetime | None = None) -> str:
        """A URL anyone can GET until it expires (query-string authentication)."""
        stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        params = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{self.access_key}/{stamp[:8]}/{self.region}/s3/aws4_request",
            "X-Amz-Date": stamp,
            "X-Amz-Expires": str(expires_s),
            "X-Amz-SignedHeaders": "host",
        }
        query = _query(params)
        signature = self._signature("GET", f"/{bucket}/{key}", query, {"host": self.host}, "UNSIGNED-PAYLOAD", stamp)
        return f"{self.endpoint.rstrip('/')}{_uri(f'/{bucket}/{key}')}?{query}&X-Amz-Signature={signature}"
