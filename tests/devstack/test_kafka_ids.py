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


def test_three_nodes_share_one_cluster_id_kept_across_runs_and_fixed_ports_stay_fixed(tmp_path) -> None:
    first = kafka.KafkaCluster.create(tmp_path, 3, port=19092)
    again = kafka.KafkaCluster.create(tmp_path, 3, port=19092)
    assert [(b.node_id, b.port, b.controller_port) for b in first.brokers] == [
        (1, 19092, 19093), (2, 19094, 19095), (3, 19096, 19097)]
    assert {b.cluster_id for b in first.brokers + again.brokers} == {first.brokers[0].cluster_id}
    assert first.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert first.topic_env() == {"BARCODE_REPLICATION_FACTOR": "3", "BARCODE_MIN_INSYNC_REPLICAS": "2"}
    config = first.brokers[1]._write_config().read_text()
    assert "node.id=2\n" in config
    assert "controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097\n" in config
    assert "offsets.topic.replication.factor=3\n" in config and "min.insync.replicas=2\n" in config


def test_one_node_is_the_laptop_broker_it_always_was(tmp_path) -> None:
    single = kafka.KafkaCluster.create(tmp_path, 1, port=19092)
    (broker,) = single.brokers
    assert (broker.data_dir, broker.port, broker.controller_port) == (tmp_path / "kafka", 19092, 19093)
    assert single.topic_env() == {} and single.bootstrap == "127.0.0.1:19092"
    config = broker._write_config().read_text()
    assert "controller.quorum.voters=1@127.0.0.1:19093\n" in config and "offsets.topic.replication.factor=1\n" in config


def test_two_nodes_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="1 \\(a laptop\\) or 3"):
        kafka.KafkaCluster.create(kafka.Path("/nonexistent"), 2)
