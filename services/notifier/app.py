"""Builds the notifier's faust app: one agent, barcode.results -> barcode.notifications.

Every gateway replica reads all notifications and pushes the ones for the sockets it holds,
so the notifier does not need to know where a client is connected; the notifications topic
(kept BARCODE_STATE_TTL_SECONDS) is also where a reconnecting client's missed results wait.
"""
from __future__ import annotations

import logging

import boto3
import faust
from botocore.config import Config

from services import contract
from services.faust_app import decoded, make_app, raw_topic, send_acked
from services.notifier.notify import RecentJobs, UrlSigner, to_notification
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)


def url_signer(settings: NotifierSettings) -> UrlSigner:
    s3 = settings.s3
    # Signing is a local computation: this client never makes a request.
    client = boto3.client(
        "s3", endpoint_url=s3.public_endpoint, aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key, region_name=s3.region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )

    def sign(bucket: str, key: str) -> str:
        return str(client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=settings.url_ttl_s))

    return sign


def build_app(settings: NotifierSettings) -> faust.App:
    kafka = settings.kafka
    sign = url_signer(settings)
    recent = RecentJobs(settings.dedupe_window)
    app = make_app("barcode-notifier", kafka)
    results = raw_topic(app, contract.RESULTS, kafka)
    notifications = raw_topic(app, contract.NOTIFICATIONS, kafka)
    dead_letters = raw_topic(app, contract.DEADLETTER, kafka)

    @app.agent(results, concurrency=1)
    async def notify(stream: faust.StreamT[bytes]) -> None:
        async for result in decoded(contract.Result, stream, dead_letters, "notifier"):
            if not recent.first_time(result.job_id):
                log.info("duplicate result for job %s dropped", result.job_id)
                continue
            # Keyed by client so one client's notifications stay in order on one partition.
            await send_acked(notifications, result.client_id or result.job_id, to_notification(result, sign))

    return app
