"""A thread-safe least-recently-used map, bounded by entry count and optionally by size.

Shared by every session of the process (results, chart specs): Streamlit runs sessions as
threads, so every access takes the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LRU:
    def __init__(self, max_entries: int, max_bytes: int | None = None, size: Callable[[Any], int] | None = None):
        self.max_entries, self.max_bytes, self.size = max_entries, max_bytes, size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries or (
                self.max_bytes is not None
                and len(self._items) > 1
                and sum(self.size(v) for v in self._items.values()) > self.max_bytes
            ):
                self._items.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value for ``key``, built (outside the lock: building may be slow) when missing."""
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
