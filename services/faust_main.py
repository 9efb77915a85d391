"""Start a faust app as a worker process, after creating the pipeline's topics.

The broker may be away when a worker starts, or go away while it starts. faust does not wait
for it: a producer or consumer that cannot bootstrap crashes the worker, and the process exits
(a notifier started a few seconds before a Kafka restart died this way and left 1,041 jobs
waiting under `make run`). So the worker waits for the broker first, serving /healthz (alive)
and /readyz (503) meanwhile, and when faust still crashes because the broker went away, the
process starts itself again in place (same pid, fresh faust state) and waits again. Once
running, faust rides out a broker restart by itself (its clients reconnect; the Outbox retries
unacknowledged sends), and its /readyz answers 503 while the broker is away.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import faust
from aiohttp import web

from services import eventloop
from services.kafka import broker_unreachable, ensure_topics
from services.settings import KafkaSettings, drain_seconds, exit_after, log_level, read_config

log = logging.getLogger(__name__)
# Restarts in place so far, carried across exec: each waits longer first, up to the cap.
RESTARTS_ENV = "BARCODE_WORKER_KAFKA_RESTARTS"
MAX_RESTART_DELAY_S = 30.0
STABLE_S = 60.0  # a worker up this long before it lost the broker was working: no back-off


def run_worker(build: Callable[[], faust.App], kafka: KafkaSettings) -> None:
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def prepare() -> tuple[faust.App, float]:
        eventloop.install()
        # Read now, not at SIGTERM: a bad value must stop the start, not the drain.
        drain_s = drain_seconds()
        return build(), drain_s

    app, drain_s = read_config(prepare)
    restarts = int(os.environ.get(RESTARTS_ENV, "0"))
    asyncio.run(wait_for_kafka(app, kafka, restart_delay(restarts)))
    # faust's Worker installs SIGTERM/SIGINT handlers that stop the app cleanly: agents finish
    # the current event, offsets are committed, the producer is flushed. A deadline bounds it.
    worker = DrainingWorker(app, drain_s, loglevel=log_level(), redirect_stdouts=False, quiet=True)
    started = time.monotonic()
    try:
        worker.execute_from_commandline()
    except SystemExit:
        reason = worker.failure or worker.crash_reason or app.crash_reason
        if worker.signalled or reason is None or not broker_unreachable(reason):
            raise
        if time.monotonic() - started > STABLE_S:
            restarts = 0  # it had been working: the back-off starts over
        log.warning("%s stopped: Kafka went away (%s: %s); starting again in place (restart %d)",
                    app.conf.id, type(reason).__name__, reason, restarts + 1)
    restart_in_place(restarts + 1)


def restart_delay(restarts: int) -> float:
    """Pause before waiting for the broker again: none at first start, then 1, 2, 4 ... 30 s."""
    return 0.0 if restarts == 0 else min(2.0 ** (restarts - 1), MAX_RESTART_DELAY_S)


def restart_in_place(restarts: int) -> None:
    """exec this same command: the pid (what a supervisor or the kubelet watches) stays, faust's
    services, loop and threads start from scratch (a crashed faust app cannot be started again)."""
    logging.shutdown()
    env = {**os.environ, RESTARTS_ENV: str(restarts)}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


async def wait_for_kafka(app: faust.App, kafka: KafkaSettings, delay_s: float) -> None:
    """Create the topics once the broker answers, serving the probes on faust's web port
    meanwhile (faust binds it next, once this returns)."""
    runner = await _serve_probes(app) if app.conf.web_enabled else None
    try:
        if delay_s:
            log.info("waiting %.0f s before trying Kafka again", delay_s)
            await asyncio.sleep(delay_s)
        await ensure_topics(kafka)
    finally:
        if runner is not None:
            await runner.cleanup()


async def _serve_probes(app: faust.App) -> web.AppRunner:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "app": app.conf.id})

    async def readyz(request: web.Request) -> web.Response:
        return web.json_response({"status": "not_ready", "kafka": "waiting for the broker"}, status=503)

    probes = web.Application()
    probes.router.add_get("/healthz", healthz)
    probes.router.add_get("/readyz", readyz)
    runner = web.AppRunner(probes, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, app.conf.web_bind, app.conf.web_port).start()
    return runner


class DrainingWorker(faust.Worker):
    def __init__(self, app: faust.App, drain_s: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.drain_s = drain_s
        self.signalled = False  # a stop asked for: never restarted in place
        self.failure: BaseException | None = None  # what ended start(), if it raised

    async def start(self) -> None:
        # mode logs a start failure and exits; keep it, to tell "broker away" from a bug.
        try:
            await super().start()
        except Exception as exc:
            self.failure = exc
            raise

    def _on_sigterm(self) -> None:
        self.signalled = True
        exit_after(self.drain_s, self.app.conf.id)
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self.signalled = True
        super()._on_sigint()
