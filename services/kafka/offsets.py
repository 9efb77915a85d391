"""Which offsets may be committed when records finish out of order.

A stage works on many records at once and they finish in any order (a QR code renders faster
than a PDF; a slow partner's enrichment later than its neighbours'). A partition's offset may only move past records whose results the broker
has acknowledged: the commit position is the first record of the partition still in work.
"""
from __future__ import annotations

from collections import deque
from typing import Hashable


class OffsetTracker:
    def __init__(self) -> None:
        # Per partition: offsets handed out, in order, with their done flag.
        self._inflight: dict[Hashable, deque[list[int | bool]]] = {}
        self._done: dict[Hashable, int] = {}  # next offset to commit, not yet committed

    def __len__(self) -> int:
        return sum(len(q) for q in self._inflight.values())

    def started(self, tp: Hashable, offset: int) -> None:
        self._inflight.setdefault(tp, deque()).append([offset, False])

    def finished(self, tp: Hashable, offset: int) -> None:
        queue = self._inflight.get(tp)
        if queue is None:
            return  # the partition was taken away meanwhile
        for entry in queue:
            if entry[0] == offset:
                entry[1] = True
                break
        while queue and queue[0][1]:
            self._done[tp] = int(queue.popleft()[0]) + 1

    def committable(self) -> dict[Hashable, int]:
        """New commit positions since the last call (next offset to read, per partition)."""
        out, self._done = self._done, {}
        return out

    def partitions(self) -> set[Hashable]:
        return set(self._inflight) | set(self._done)

    def forget(self, tps: set[Hashable]) -> None:
        """Partitions taken away by a rebalance: their new owner redoes what was not committed."""
        for tp in tps:
            self._inflight.pop(tp, None)
            self._done.pop(tp, None)
