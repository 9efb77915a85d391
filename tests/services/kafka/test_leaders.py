"""Which broker a fault run kills: the leader of the busiest partition."""
from __future__ import annotations

import pytest

from services.kafka.leaders import PartitionState, busiest_leader


def _state(leader: int, end: int, isr: tuple[int, ...] = (1, 2, 3)) -> PartitionState:
    return PartitionState("barcode.requests", 0, leader, (1, 2, 3), isr, end)


def test_the_busiest_partition_with_a_leader_names_the_broker() -> None:
    # describe() sorts busiest first; a partition without a leader cannot name one.
    assert busiest_leader([_state(-1, 900), _state(2, 500), _state(3, 100)]) == 2
    with pytest.raises(RuntimeError, match="no partition has a leader"):
        busiest_leader([_state(-1, 900)])


def test_a_partition_missing_a_replica_in_sync_is_under_replicated() -> None:
    assert _state(1, 0, isr=(1, 3)).under_replicated and not _state(1, 0).under_replicated
