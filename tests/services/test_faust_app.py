"""faust's hard-coded 1.5 s fetch wait and its non-idempotent producer are overridden."""
from __future__ import annotations

import asyncio

from services import kafka
from services.faust_app import make_app
from services.settings import Env, KafkaSettings


async def test_worker_consumer_uses_our_fetch_wait_and_producer_is_idempotent() -> None:
    kafka = KafkaSettings.from_env(Env({"BARCODE_KAFKA_BOOTSTRAP": "127.0.0.1:1", "BARCODE_FETCH_MAX_WAIT_MS": "7",
                                         "BARCODE_FETCH_MIN_BYTES": "4096"}))
    app = make_app("test-faust-settings", kafka)
    thread = app.consumer._thread
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 7  # faust itself passes 1500
        assert consumer._fetch_min_bytes == 4096
    finally:
        await consumer.stop()  # never started: releases nothing but marks it closed
        thread.thread_loop.close()  # the consumer thread's own loop; the thread never ran
    settings = app.producer._settings_extra()
    assert settings["acks"] == "all" and settings["enable_idempotence"] is True



async def test_every_client_gives_up_a_dead_connection_within_15_seconds() -> None:
    """After a broker pod is deleted no reset arrives: the request timeout is how long a worker
    stalls (aiokafka's 40 s and faust's 90 s defaults did, in `make k8s-test`)."""
    settings = KafkaSettings.from_env(Env({"BARCODE_KAFKA_BOOTSTRAP": "127.0.0.1:1"}))
    app = make_app("timeouts", settings)
    assert app.conf.broker_session_timeout <= app.conf.broker_request_timeout <= 15.0
    consumer = kafka.consumer(settings, "c", "g", "t")
    try:
        assert consumer._client._request_timeout_ms <= 15_000
    finally:
        await consumer.stop()


class _StandInProducer:
    started = stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


async def test_a_broken_sequence_gets_one_new_producer_however_many_sends_failed() -> None:
    """A restarted broker refusing the notifier's sequence left results unsent for good; the
    faust producer now swaps its aiokafka producer once, and later sends use the new one."""
    app = make_app("renew", KafkaSettings.from_env(Env({"BARCODE_KAFKA_BOOTSTRAP": "127.0.0.1:1"})))
    producer = app.producer
    broken = _StandInProducer()
    producer._producer = broken
    made: list[_StandInProducer] = []
    producer._new_producer = lambda: made.append(_StandInProducer()) or made[-1]  # type: ignore[method-assign]
    await asyncio.gather(*(producer.renew(broken) for _ in range(10)))
    assert len(made) == 1 and producer._producer is made[0] and made[0].started
    assert producer.renewals == 1
    await asyncio.sleep(0)
    assert broken.stopped
    await producer.renew(broken)  # a late failure of the old one changes nothing
    assert len(made) == 1
