"""Where a client's results are: the partitions of barcode.notifications and barcode.progress.

The notifier keys a result by its client id (a REST job without one: its job id), and Kafka's
default partitioner puts a key on partition murmur2(key) mod the topic's partition count. Client
ids are only ever issued by a gateway, so a replica issues ids that land on its own "home"
partition: it then reads that partition only, instead of every replica reading every result.
A client that moves (resume on another replica, REST status asked elsewhere) is found by the
same function: the replica that needs it reads that partition too, for as long as it needs it
(feed.py `Feed.hold`). A client's partition never changes, so its results keep their order and
`seq` (the record offset) stays exact across replicas.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka.partitioner import murmur2

from services.gateway.results.tokens import new_client_id


def partition_for(key: str, count: int) -> int:
    """The partition aiokafka's (and the Java client's) default partitioner gives `key`."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % count


@dataclass(frozen=True)
class Route:
    """A client's partitions: (notifications partition, progress partition)."""
    notifications: int
    progress: int


class ReplyRoutes:
    def __init__(self, notification_partitions: int, progress_partitions: int, replica: str) -> None:
        self.counts = (notification_partitions, progress_partitions)
        # Home: by the replica's name, so a restarted replica with the same name (a StatefulSet
        # pod, `make run`) comes back to the same partition. Two replicas whose names land on the
        # same partition share it: each reads the other's results too, nothing more.
        spot = zlib.crc32(replica.encode())
        self.home = Route(spot % notification_partitions, spot % progress_partitions)

    def route(self, key: str) -> Route:
        return Route(partition_for(key, self.counts[0]), partition_for(key, self.counts[1]))

    def new_id(self) -> str:
        """A fresh id (tokens.new_client_id) whose results land on the home route. Tries random
        ids until one fits: about as many tries as partitions."""
        while True:
            candidate = new_client_id()
            if self.route(candidate) == self.home:
                return candidate


class Hold:
    """This replica reads a client's partitions until `release()` (and the linger after)."""

    def __init__(self, release: Callable[[], None] | None = None) -> None:
        self._release = release

    def release(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None
