"""Mapnik render processes for the base map, kept running and shared by the request threads.

Debian's python3-mapnik is built for the system Python; the app may run in a venv of another
Python build, where importing it crashes (Boost.Python). So Mapnik runs in child processes of
the system Python (`gis/basemap_worker.py`), each holding the loaded style and its own database
connections; a request thread borrows an idle one, sends "z x y n", reads the PNGs back. A
process that dies is started again on the next request; one that cannot start at all (no
Mapnik installed) makes tile requests answer 503, and the pages show plain ground.
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import subprocess
import threading
from pathlib import Path
from typing import IO

from psycopg.conninfo import conninfo_to_dict

import gis
from api.errors import BasemapUnavailable
from api.settings import BasemapSettings
from gis.basemap_style import mapnik_xml

log = logging.getLogger("gridgov.basemap")
WORKER = Path(gis.__file__).resolve().parent / "basemap_worker.py"
START_TIMEOUT_S = 30.0

# What a person reads when the renderer is missing (Chinese first; for the gettext catalogue).
TEXT = {
    "missing": "底图渲染器不可用 The base map renderer is not available ({why}); install "
    "python3-mapnik (make system-packages) or set GRIDGOV_BASEMAP_URL.",
    "failed": "底图渲染失败 The base map tile could not be rendered: {why}",
}


class _Worker:
    """One render process and its pipes."""

    def __init__(self, python: str, xml: bytes) -> None:
        self.proc = subprocess.Popen(
            [python, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # Mapnik's warnings go to our log; an unread pipe would fill and block
            env={**os.environ, "PYTHONPATH": ""},  # the system Python must not see the venv
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.stdin.write(b"%d\n" % len(xml) + xml)
        self.stdin.flush()
        if self.stdout.readline() != b"ready\n":  # its traceback is on our stderr
            self.proc.kill()
            raise OSError(f"{python} {WORKER.name} did not start")

    def render(self, z: int, x: int, y: int, n: int) -> list[bytes]:
        self.stdin.write(b"%d %d %d %d\n" % (z, x, y, n))
        self.stdin.flush()
        head = self.stdout.readline()
        if head.startswith(b"err "):
            # Mapnik's message may name the database server: it goes to the log, not the client
            log.error("base map render failed: %s", head[4:].decode(errors="replace").strip())
            raise BasemapUnavailable(TEXT["failed"].format(why="Mapnik"))
        if not head.startswith(b"ok "):
            raise OSError("render process stopped")
        tiles = []
        for _ in range(int(head[3:])):
            (size,) = struct.unpack(">I", self.stdout.read(4))
            tiles.append(self.stdout.read(size))
        return tiles

    def close(self) -> None:
        try:
            self.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class BasemapRenderer:
    """A pool of render processes, started on first use."""

    def __init__(self, settings: BasemapSettings, database_url: str) -> None:
        self.settings = settings
        params = {k: str(v) for k, v in conninfo_to_dict(database_url).items()}
        self._xml = mapnik_xml(params).encode()
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._started = 0
        self._lock = threading.Lock()
        self._closed = False

    def _borrow(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            start = self._started < self.settings.workers
            if start:
                self._started += 1
        if not start:
            return self._idle.get(timeout=START_TIMEOUT_S)
        try:
            return _Worker(self.settings.python, self._xml)
        except OSError as exc:
            with self._lock:
                self._started -= 1
            log.error("base map render process did not start: %s", exc)
            raise BasemapUnavailable(TEXT["missing"].format(why="no Mapnik")) from exc

    def render(self, z: int, x: int, y: int, n: int = 1) -> list[bytes]:
        """PNG tiles of the n×n block whose top-left tile is (z, x, y), row by row."""
        try:
            worker = self._borrow()
        except queue.Empty as exc:
            raise BasemapUnavailable(TEXT["failed"].format(why="busy")) from exc
        try:
            tiles = worker.render(z, x, y, n)
        except (OSError, ValueError, struct.error) as exc:  # the process died: start anew later
            worker.close()
            with self._lock:
                self._started -= 1
            log.error("base map render process failed: %s", exc)
            raise BasemapUnavailable(TEXT["failed"].format(why="render process stopped")) from exc
        except BasemapUnavailable:
            self._idle.put(worker)
            raise
        if self._closed:
            worker.close()
        else:
            self._idle.put(worker)
        return tiles

    def close(self) -> None:
        """Stop every idle render process (busy ones stop when they come back)."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
