"""What a process keeps of a period's settled days (`times_kept`, `sums_kept`): within bounds,
the least recently used out first, and only what was read at the current State."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class Keeper(Generic[V]):
    """Values by key, the key's last part the State they were read at: keeping one forgets those
    of another State (never current again), then the least recently used beyond `max_size`
    (the sum of `size` over the values) or `max_entries`. Safe across a server's threads."""

    def __init__(self, size: Callable[[V], int], max_size: int, max_entries: int) -> None:
        self.size, self.max_size, self.max_entries = size, max_size, max_entries
        self._kept: OrderedDict[tuple[Any, ...], V] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: tuple[Any, ...], value: V) -> None:
        with self._lock:
            for old in [k for k in self._kept if k[-1] != key[-1]]:
                del self._kept[old]
            self._kept[key] = value
            self._kept.move_to_end(key)
            total = sum(self.size(v) for v in self._kept.values())
            while len(self._kept) > 1 and (
                total > self.max_size or len(self._kept) > self.max_entries
            ):
                total -= self.size(self._kept.popitem(last=False)[1])

    def recall(self, key: tuple[Any, ...]) -> V | None:
        with self._lock:
            value = self._kept.get(key)
            if value is not None:
                self._kept.move_to_end(key)
            return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def forget(self) -> None:
        """Forget everything (tests; what is kept is bounded anyway)."""
        with self._lock:
            self._kept.clear()
