"""`make bench-index`: memory per job in the gateway's job index (how to size GATEWAY_MAX_JOBS).

Fills a JobIndex in this process with `--jobs` completed jobs shaped like real ones (a request,
a notification with a signed URL, an object key and a full trace, a delivery receipt), then
50,000 more so the count bound is exercised, and reports the resident memory (VmRSS) it added
per job held. Every gateway replica holds every job, so this is per replica.
"""
from __future__ import annotations

import argparse
import os
import uuid

from devstack.bench.memory import rss_kib
from services.contract import GenerateRequest, Notification, now_ms
from services.gateway import app as _gateway_app  # noqa: F401 - the gateway's imports in the baseline
from services.gateway.jobs.state import JobIndex

TRACE = ("gateway_in", "routed", "generator_in", "checked", "rendered", "generated", "notified", "gateway_out")


def completed_job(index: JobIndex, n: int) -> None:
    job_id, client_id, digest = uuid.uuid4().hex, uuid.uuid4().hex[:22], uuid.uuid4().hex * 2
    index.add_request(GenerateRequest(job_id=job_id, data=f"D-{n:08d}", client_id=client_id, company="Default",
                                      request_id=f"r{n}", trace={"gateway_in": now_ms()}))
    key = f"code128/{digest}.png"
    url = (f"http://127.0.0.1:9000/barcodes/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
           f"{'x' * 60}&X-Amz-Date=20261127T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
           f"&X-Amz-Signature={uuid.uuid4().hex * 2}")
    index.add_notification(Notification(
        job_id=job_id, created_ms=now_ms(), status="completed", client_id=client_id, request_id=f"r{n}",
        company="Default", url=url, bucket="barcodes", key=key, content_type="image/png", cached=False,
        size_bytes=450, verified=True, trace={stamp: now_ms() for stamp in TRACE}))
    index.add_delivery(client_id, job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000, help="GATEWAY_MAX_JOBS to fill")
    args = parser.parse_args()
    index = JobIndex(ttl_s=3600, max_jobs=args.jobs)
    before = rss_kib(os.getpid())
    for n in range(args.jobs + 50_000):
        completed_job(index, n)
    after = rss_kib(os.getpid())
    print(f"{len(index.jobs)} jobs held ({index.evicted} evicted by the bound): RSS {before / 1024:.0f} -> "
          f"{after / 1024:.0f} MiB, {(after - before) * 1024 / len(index.jobs):.0f} bytes per job")


if __name__ == "__main__":
    main()
