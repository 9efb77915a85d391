"""Start a faust app as a worker process, after creating the pipeline's topics."""
from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

import faust

from services import eventloop
from services.kafka import ensure_topics
from services.settings import ConfigError, KafkaSettings, drain_seconds, exit_after, log_level


def run_worker(build: Callable[[], faust.App], kafka: KafkaSettings) -> None:
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        eventloop.install()
        app = build()
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    asyncio.run(ensure_topics(kafka))
    # faust's Worker installs SIGTERM/SIGINT handlers that stop the app cleanly: agents finish
    # the current event, offsets are committed, the producer is flushed. A deadline bounds it.
    worker = DrainingWorker(app, loglevel=log_level(), redirect_stdouts=False, quiet=True)
    worker.execute_from_commandline()


class DrainingWorker(faust.Worker):
    def _on_sigterm(self) -> None:
        exit_after(drain_seconds(), self.app.conf.id)
        super()._on_sigterm()
