"""Where photo files live: one small interface, and the embedded default (files on disk).

Files are content-addressed: the key is the SHA-256 of the bytes served, so a file never
changes once written and two uploads of the same picture share one file. Rows in
`photo_files` / `incident_photos` reference keys; the store knows nothing of incidents.

`PhotoWrites` ties files to one database transaction: a file is written before the transaction
commits, and removed if the transaction does not commit (api/routers/photo_deps.py), so a
refused or failed request leaves no file behind and a committed row never points at nothing.
docs/photos.md says how several app nodes share the store and how an S3 backend would fit.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

KEY = re.compile(r"^[0-9a-f]{64}$")
VARIANTS = ("photo", "thumb")


class BlobStore(Protocol):
    """What GridGov needs from a photo store."""

    def put(self, key: str, variant: str, data: bytes) -> None:
        """Store `data` under (key, variant); writing the same key again is harmless."""

    def get(self, key: str, variant: str) -> bytes | None:
        """The bytes under (key, variant), or None when missing."""

    def exists(self, key: str, variant: str) -> bool:
        """Whether (key, variant) is stored."""

    def delete(self, key: str, variant: str) -> None:
        """Remove (key, variant); a missing one is not an error."""


class FileStore:
    """Files under one directory: <root>/<key[:2]>/<key>.<variant>.jpg, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str, variant: str) -> Path:
        """The file of (key, variant); refuses anything that is not a hex SHA-256."""
        if not KEY.match(key) or variant not in VARIANTS:
            raise ValueError(f"not a photo key: {key!r} / {variant!r}")
        return self.root / key[:2] / f"{key}.{variant}.jpg"

    def put(self, key: str, variant: str, data: bytes) -> None:
        """Write to a temporary file in the same directory, fsync, then rename into place."""
        target = self.path(key, variant)
        target.parent.mkdir(parents=True, exist_ok=True)
        # rename within one directory is atomic (also on NFS): readers never see half a file
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get(self, key: str, variant: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return self.path(key, variant).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str, variant: str) -> bool:
        """Whether the file is there."""
        return self.path(key, variant).is_file()

    def delete(self, key: str, variant: str) -> None:
        """Remove the file if present."""
        with contextlib.suppress(FileNotFoundError):
            self.path(key, variant).unlink()

    def keys(self) -> list[str]:
        """Every key with a file (for the orphan check of `gridgov photos check`)."""
        found = {p.name.split(".", 1)[0] for p in self.root.glob("??/*.jpg")}
        return sorted(k for k in found if KEY.match(k))


def file_store(root: Path) -> FileStore:
    """The embedded default store."""
    return FileStore(root)


@dataclass
class PhotoWrites:
    """Files this request created, to remove again if its transaction does not commit."""

    store: BlobStore
    created: list[tuple[str, str]] = field(default_factory=list)

    def put(self, key: str, variant: str, data: bytes) -> None:
        """Write a file and remember it as this request's."""
        self.created.append((key, variant))
        self.store.put(key, variant, data)

    def discard(self) -> None:
        """Remove every file this request created (called before the rollback)."""
        for key, variant in reversed(self.created):
            self.store.delete(key, variant)
        self.created.clear()
