"""Builds the notifier's faust app: one agent, barcode.results -> barcode.notifications.

Every gateway replica reads all notifications and pushes the ones for the sockets it holds,
so the notifier does not need to know where a client is connected; the notifications topic
(kept BARCODE_STATE_TTL_SECONDS) is also where a reconnecting client's missed results wait.
"""
from __future__ import annotations

import logging

import faust

from services import contract
from services.faust_app import Outbox, decoded, make_app, raw_topic
from services.notifier.notify import RecentJobs, UrlSigner, to_notification
from services.notifier.settings import NotifierSettings
from services.settings import health_endpoint
from services.sigv4 import Signer

log = logging.getLogger(__name__)


def url_signer(settings: NotifierSettings) -> UrlSigner:
    s3 = settings.s3
    # A local computation (no request), against the endpoint clients can reach. boto3's
    # generate_presigned_url gives the same URL (tests/services/test_sigv4.py) for 10x the CPU
    # (330 µs against 32 µs, docs/benchmarks.md).
    signer = Signer(s3.public_endpoint, s3.access_key, s3.secret_key, s3.region)

    def sign(bucket: str, key: str) -> str:
        return signer.presign_get(bucket, key, settings.url_ttl_s)

    return sign


def build_app(settings: NotifierSettings) -> faust.App:
    kafka = settings.kafka
    sign = url_signer(settings)
    recent = RecentJobs(settings.dedupe_window)
    app = make_app("barcode-notifier", kafka, health=health_endpoint("notifier"))
    results = raw_topic(app, contract.RESULTS, kafka)
    notifications = raw_topic(app, contract.NOTIFICATIONS, kafka)
    dead_letters = raw_topic(app, contract.DEADLETTER, kafka)

    @app.agent(results, concurrency=1)
    async def notify(stream: faust.StreamT[bytes]) -> None:
        outbox = Outbox(stream)
        async for event, result in decoded(contract.Result, stream, outbox, dead_letters, "notifier"):
            if not recent.first_time(result.job_id):
                log.info("duplicate result for job %s dropped", result.job_id)
                await outbox.ack(event)
                continue
            # Keyed by client so one client's notifications stay in order on one partition.
            await outbox.publish(event, notifications, result.client_id or result.job_id,
                                 to_notification(result, sign))

    return app
