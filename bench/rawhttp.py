"""A lean HTTP/1.1 client for load generators: one keep-alive connection, requests sent as
pre-serialised bytes, answers read by their status line and Content-Length (or chunks).

A load generator on the machine it measures takes its CPU from the server: httpx cost the patrol
benchmark ≈ 3 ms of CPU per request, more than the server's own share (docs/performance.md,
2026-12-05, issue 22). Here a request is one `write` of bytes built before the timed window and
an answer is one `readuntil` of the head plus one `readexactly` of the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass


def request_bytes(
    method: str, host: str, path: str, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request, ready to write (keep-alive; Content-Length when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Answer:
    """An answer's status, head (lower-cased header lines) and body."""

    status: int
    head: bytes
    body: bytes


def _length(head: bytes) -> int | None:
    """Content-Length of a lower-cased head, None when the body is chunked."""
    i = head.find(b"\r\ncontent-length:")
    if i < 0:
        return None
    j = head.find(b"\r\n", i + 2)
    return int(head[i + 17 : j if j > 0 else None])


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readline()).split(b";", 1)[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from our servers
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


class Connection:
    """One keep-alive connection to host:port; `send` writes a request and reads its answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def send(self, request: bytes) -> Answer:
        """Write `request` (from `request_bytes`) and read the whole answer."""
        if self.reader is None or self.writer is None:
            reader, writer = await self._open()
        else:
            reader, writer = self.reader, self.writer
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        n = _length(head)
        body = await reader.readexactly(n) if n is not None else await _read_chunked(reader)
        if b"\r\nconnection: close" in head:
            await self.close()
        return Answer(int(head[9:12]), head, body)

    async def close(self) -> None:
        """Close the connection (the next `send` opens a new one)."""
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def stream_lines(host: str, port: int, request: bytes) -> AsyncIterator[bytes]:
    """The lines of a streamed answer (server-sent events), chunked or not; RuntimeError when
    its status is not 200."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        if head[9:12] != b"200":
            n = _length(head)
            body = await reader.readexactly(n) if n is not None else await _read_chunked(reader)
            raise RuntimeError(f"HTTP {head[9:12].decode()}: {body[:300]!r}")
        chunked = b"\r\ntransfer-encoding: chunked" in head
        rest = b""
        while True:
            if chunked:
                size = int((await reader.readline()).split(b";", 1)[0], 16)
                if size == 0:
                    return
                data = (await reader.readexactly(size + 2))[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    return
            *lines, rest = (rest + data).split(b"\n")
            for line in lines:
                yield line.rstrip(b"\r")
    finally:
        writer.close()
