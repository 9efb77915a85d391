"""The image files this replica served lately, in memory: a label workload asks for the same few
thousand barcodes over and over, and a repeat then costs neither a store round trip nor the
store's CPU. Keyed by the object key (a content hash: an entry never goes stale), bounded in
bytes (GATEWAY_IMAGE_CACHE_BYTES), least recently used out first."""
from __future__ import annotations

from collections import OrderedDict


class RecentFiles:
    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self._files: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._files)

    def get(self, key: str) -> bytes | None:
        body = self._files.get(key)
        if body is not None:
            self._files.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        """Kept unless it alone is over a tenth of the capacity (one large PDF must not push out
        hundreds of labels)."""
        if len(body) > self.capacity // 10 or key in self._files:
            return
        self._files[key] = body
        self.size += len(body)
        while self.size > self.capacity:
            _, dropped = self._files.popitem(last=False)
            self.size -= len(dropped)
