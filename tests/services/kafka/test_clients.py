"""Every Kafka client the services make states the settings the pipeline relies on."""
from __future__ import annotations

from services.kafka import clients
from services.settings import Env, KafkaSettings


async def test_every_client_gives_up_a_dead_connection_within_15_seconds() -> None:
    """A request on a connection to a deleted broker pod gets no reset: aiokafka's 40 s default
    (and faust's 90 s, before the stage runtime) held workers that long after a Kafka pod
    deletion in `make k8s-test`. The gateway's readers used to build their own consumer and
    missed it."""
    settings = KafkaSettings.from_env(Env({}))
    made = [clients.consumer(settings, "t", "g", "topic"),
            clients.consumer(settings, "follower", None, fetch_max_wait_ms=100, fetch_min_bytes=65536)]
    producer = clients.producer(settings, "t")
    try:
        for consumer in made:
            assert consumer._client._request_timeout_ms == 15_000  # noqa: SLF001
            assert consumer._enable_auto_commit is False  # noqa: SLF001
        assert producer.client._request_timeout_ms == 15_000
        follower = made[1]
        assert follower._group_id is None and follower._fetch_max_wait_ms == 100  # noqa: SLF001
        assert follower._fetch_min_bytes == 65536  # noqa: SLF001
    finally:
        for consumer in made:
            await consumer.stop()
        await producer.stop()
