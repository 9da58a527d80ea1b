"""Hotspot answers kept in memory and served again only while their data is provably the same.

Clustering a week of a city (≈ 17,000 incidents at 1,000,000 a year) costs ≈ 150 ms of database
CPU; reading the fingerprint of what it would cluster (the window's incidents by the
`reported_at` index, the grids and the category names: the first step of
`gis.hotspots.HOTSPOTS_SQL`) ≈ 15 ms. An answer is stored with the fingerprint of the rows it was
clustered from (read in the same statement, so they belong together) and served again to a call
with the same scope and parameters whose fingerprint is equal — the statement stops after the
fingerprint then: the same incidents with the same points, categories, report times and
closed-or-not, and the same grids and category names, so the clustering would give the same
features. Nothing is ever served stale: a new report, a close or reopen, a rejection, a move, an
incident leaving the window as time passes, or a boundary edit changes the fingerprint, and the
call clusters again. Status changes between open states (register, dispatch, accept…) leave it
alone, since the answer only counts open vs closed. Each process keeps its own cache (no
invalidation messages needed), bounded by `MAX_ENTRIES` answers (LRU).

A call whose fingerprint differs clusters again, but hands the stored answer to the statement:
the features of clusters whose incidents are all the same (by each cluster's print) are taken
from it instead of being built again (`gis.hotspots`), and the new answer replaces it.

The body is `{"type":"FeatureCollection","features":[…]` (cached) followed by
`,"parameters":{…}}` (this call's window). For clients that accept gzip the cached part is also
kept compressed: a gzip member whose deflate blocks end in a full flush, to which each call
appends its compressed parameters and the trailer (CRC-32 and length of the whole body) —
gzipping the ≈ 1.2 MB body costs ≈ 20 ms of CPU per call otherwise.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Hashable

from gis.hotspots import Hotspots

MAX_ENTRIES = 32  # answers per process (≈ 1.4 MB each for a week of a 1,000,000-a-year city)
HEAD = b'{"type":"FeatureCollection","features":'
# gzip member header: deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952)
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflate(data: bytes, level: int, mode: int) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate: the gzip framing is ours
    return z.compress(data) + z.flush(mode)


class CachedHotspots:
    """One answer (`gis.hotspots.Hotspots`: the features, the fingerprint, each cluster's place
    in the text) and its gzip form; the head of the body is `HEAD` and the features."""

    def __init__(self, hotspots: Hotspots) -> None:
        self.hotspots = hotspots
        self.fingerprint = hotspots.fingerprint
        self.size = len(HEAD) + len(hotspots.text)  # of the head
        self._crc = zlib.crc32(hotspots.text, zlib.crc32(HEAD))
        self._gz: dict[int, bytes] = {}  # level → header + deflate blocks of head (full flush)
        self._lock = threading.Lock()

    def body(self, tail: bytes) -> bytes:
        """The whole JSON body: the cached head, then `tail` (parameters and closing brace)."""
        return b"".join((HEAD, self.hotspots.text, tail))

    def gzipped(self, tail: bytes, level: int) -> bytes:
        """`body(tail)` as one gzip member; the head is compressed once per level."""
        with self._lock:
            head = self._gz.get(level)
            if head is None:
                z = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw: the gzip framing is ours
                deflated = (z.compress(HEAD), z.compress(self.hotspots.text))
                head = b"".join((GZIP_HEADER, *deflated, z.flush(zlib.Z_FULL_FLUSH)))
                self._gz[level] = head
        size = (self.size + len(tail)) & 0xFFFFFFFF
        trailer = struct.pack("<II", zlib.crc32(tail, self._crc), size)
        return head + _deflate(tail, level, zlib.Z_FINISH) + trailer


class HotspotCache:
    """LRU of answers by (scope, parameters); `get` returns one to check against a fingerprint."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, CachedHotspots] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> CachedHotspots | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: CachedHotspots) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
