"""The notifier as a stage: barcode.results -> barcode.notifications.

A notification is keyed by its client id (else its job id): the gateway replica holding that
client reads that partition (services/gateway/results/replies.py), so the notifier does not need to know
where a client is connected; the notifications topic (kept BARCODE_STATE_TTL_SECONDS) is also
where a reconnecting client's missed results wait.
The handler is pure: the runtime calls it inline, in input order, so one client's
notifications keep their order.
"""
from __future__ import annotations

import logging

from services import contract, tracing
from services.notifier.notify import RecentJobs, to_notification
from services.notifier.settings import NotifierSettings
from services.kafka.handler import Handler, Output, Outputs, Record
from services.kafka.stage import Stage
from services.metrics import Labelled

log = logging.getLogger(__name__)

HELP = {  # /metrics: the notifier's own
    "remembered_jobs": "Job ids remembered as notified, to drop a repeated result (at most NOTIFIER_DEDUPE_WINDOW).",
    "results_total": "Final results of jobs (batch rows included), by status and error code (code \"\" when completed).",
}
Outcomes = dict[tuple[str, str], float]  # (status, error code) -> results


def notify_handler(notifications_topic: str, recent: RecentJobs,
                   batch_rows_topic: str = contract.BATCH_ROWS, outcomes: Outcomes | None = None) -> Handler:
    """`outcomes`: counted here, every job's final result once (a repeat is not counted)."""
    counted: Outcomes = {} if outcomes is None else outcomes

    def handle(record: Record) -> Outputs:
        result = contract.decode(contract.Result, record.value)  # SchemaError: a dead letter
        code = result.error.code if result.error else ""
        tracing.annotate(job_id=result.job_id, company=result.company, status=result.status, error=code or None)
        if not recent.first_time(result.job_id):
            log.info("duplicate result for job %s dropped", result.job_id)
            return ()
        counted[(result.status, code)] = counted.get((result.status, code), 0.0) + 1
        if result.batch_id:
            # A batch row tells nobody by itself: the batcher counts it (by the batch's key, so
            # the batch's partition) and reports the batch's progress as a whole.
            return (Output(batch_rows_topic, result.batch_id.encode(), record.value),)
        # Keyed by client so one client's notifications stay in order on one partition; without
        # one, where the asking gateway said it reads (reply_key), else by the job id.
        key = (result.client_id or result.reply_key or result.job_id).encode()
        return (Output(notifications_topic, key, contract.encode(to_notification(result))),)

    return handle


def build_stage(settings: NotifierSettings) -> Stage:
    kafka = settings.kafka
    recent = RecentJobs(settings.dedupe_window)
    outcomes: Outcomes = {}
    return Stage(
        name="notifier", kafka=kafka, group="barcode-notifier", source=contract.RESULTS, span="notify",
        outputs=(contract.NOTIFICATIONS, contract.BATCH_ROWS),
        handler=notify_handler(kafka.topic(contract.NOTIFICATIONS), recent,
                               kafka.topic(contract.BATCH_ROWS), outcomes),
        max_in_flight=settings.max_in_flight, health=settings.health,
        counters=lambda: {"remembered_jobs": len(recent), "results_total": Labelled(("status", "code"), outcomes)},
        helps=HELP,
    )
