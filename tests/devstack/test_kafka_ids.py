"""Cluster ids handed to Kafka's StorageTool on its command line."""
from unittest import mock

from devstack import kafka


def test_a_cluster_id_never_starts_with_a_dash() -> None:
    # The first uuid encodes to "-hLq37sc...": a leading dash once failed a format; the next is used.
    dashed = mock.Mock(bytes=bytes.fromhex("fa12eadfbb1cb442e4b7437fc0f1ca71"))
    plain = mock.Mock(bytes=bytes(range(16)))
    with mock.patch.object(kafka.uuid, "uuid4", side_effect=[dashed, plain]):
        cluster_id = kafka._kafka_uuid()
    assert not cluster_id.startswith("-") and len(cluster_id) == 22
