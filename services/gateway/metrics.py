"""The gateway's /metrics (served by services/metrics.py): what each replica counts, read at each scrape."""
from __future__ import annotations

from services.gateway.context import Gateway
from services.metrics import Histogram, Labelled, Value

HELP = {
    "jobs_published_total": "Job requests (REST and WebSocket) this replica published, acknowledged by the broker.",
    "producer_renewals_total": "Producers replaced after the broker refused their sequence (a broker restart).",
    "jobs_known": "Jobs this replica holds for status and resume (every replica holds every job).",
    "websockets": "WebSocket connections open on this replica.",
    "jobs_evicted_total": "Jobs forgotten before BARCODE_STATE_TTL_SECONDS because GATEWAY_MAX_JOBS were held.",
    "duplicate_results_dropped_total": "Final results of jobs already final (a repeat), dropped.",
    "results_read_total": "Notification and progress records read (this replica's partition and those it holds).",
    "result_partitions_held": "Other replicas' result partitions this replica reads for its clients now.",
    "server_errors_total": "5xx answers: each one a bug in the gateway, logged with its traceback.",
    "rejections_total": "Requests and WebSocket messages answered with an error, by error code.",
    "image_hits_total": "GET /v1/barcode answered from a job already made (no new job, no renderer).",
    "image_misses_total": "GET /v1/barcode that made a new job.",
    "image_not_modified_total": "GET /v1/barcode answered 304 (If-None-Match had the image's ETag).",
    "image_from_memory_total": "GET /v1/barcode answered from the files kept in memory (no store round trip).",
    "image_memory_bytes": "Bytes of image files kept in memory (GATEWAY_IMAGE_CACHE_BYTES at most).",
    "job_seconds": "Seconds from a job's request reaching a gateway to its result pushed to the client's WebSocket.",
}


def reading(gw: Gateway) -> dict[str, Value]:
    publisher, feed = gw.publisher, gw.feed
    return {
        "jobs_published_total": publisher.published if publisher else 0,
        "producer_renewals_total": publisher.renewals if publisher else 0,
        "jobs_known": len(gw.index.jobs),
        "websockets": len(gw.registry),
        "jobs_evicted_total": gw.index.evicted,
        "duplicate_results_dropped_total": gw.index.duplicates_dropped,
        "results_read_total": feed.results_read if feed else 0,
        "result_partitions_held": feed.partitions_held if feed else 0,
        "server_errors_total": gw.server_errors,
        "rejections_total": Labelled("code", gw.errors),
        "image_hits_total": gw.images["hits"],
        "image_misses_total": gw.images["misses"],
        "image_not_modified_total": gw.images["not_modified"],
        "image_from_memory_total": gw.images["from_memory"],
        "image_memory_bytes": gw.recent_files.size,
        "job_seconds": feed.job_seconds if feed else Histogram(),
    }
