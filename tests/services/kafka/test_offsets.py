"""Commit positions when jobs finish out of order: never past a record still in work."""
from services.kafka.offsets import OffsetTracker

TP = ("barcode.render", 0)
OTHER = ("barcode.render", 1)


def test_commit_waits_for_the_oldest_record_of_the_partition() -> None:
    offsets = OffsetTracker()
    for offset in (10, 11, 12):
        offsets.started(TP, offset)
    offsets.finished(TP, 12)
    offsets.finished(TP, 11)
    assert offsets.committable() == {}  # 10 is still rendering
    offsets.finished(TP, 10)
    assert offsets.committable() == {TP: 13}
    assert offsets.committable() == {}  # reported once
    assert len(offsets) == 0


def test_partitions_move_independently() -> None:
    offsets = OffsetTracker()
    offsets.started(TP, 5)
    offsets.started(OTHER, 7)
    offsets.started(OTHER, 8)
    offsets.finished(OTHER, 7)
    assert offsets.committable() == {OTHER: 8}
    assert len(offsets) == 2


def test_a_revoked_partition_is_forgotten_and_late_finishes_are_ignored() -> None:
    offsets = OffsetTracker()
    offsets.started(TP, 1)
    offsets.started(OTHER, 1)
    offsets.finished(OTHER, 1)
    offsets.forget({TP, OTHER})
    offsets.finished(TP, 1)  # its job ended after the rebalance: the new owner redoes it
    assert offsets.committable() == {}
    assert offsets.partitions() == set()
