"""Blob bodies on disk: written whole or not at all, named by generated ids, read in chunks.

A body is streamed into ``<root>/tmp/<id>.part`` (created 0600), fsynced, then renamed to
``<root>/<id[:2]>/<id>``: a reader never finds half of one. Only the storage model's SQLite rows know
which blob a body belongs to, so a blob's name — whatever it holds (``../``, ``\\``, NUL-free Unicode) —
never becomes part of a path. ``root`` is ``<data dir>/blob`` (private, 0700), or a temporary folder
removed at stop when the emulator runs ``--in-memory``; there nothing is fsynced, since nothing
outlives the process anyway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from emulator.core.files import PRIVATE_FILE_MODE, ensure_private_dir
from emulator.core.http import ErrorCatalogue, declared_length, read_stream

from . import errors

READ_CHUNK = 1024 * 1024  # what one write to the socket carries when a body is sent
_BODY_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: a body's file name, never anything a client chose


class BodyWriter:
    """One body being received. ``write`` each chunk, then ``finish`` (durable) or ``abort``."""

    def __init__(self, store: BodyStore) -> None:
        self._store = store
        self.body_id = uuid.uuid4().hex
        self.size = 0
        self._md5 = hashlib.md5()  # noqa: S324 - Content-MD5 is what Azure computes, not a security measure
        self._temporary = store.temporary_dir / f"{self.body_id}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        self._handle = os.fdopen(os.open(self._temporary, flags, PRIVATE_FILE_MODE), "wb", buffering=0)
        self._done = False

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    @property
    def md5(self) -> bytes:
        return self._md5.digest()

    async def finish(self) -> str:
        """Make the body durable (fsync off the event loop) and visible under its id; return the id."""
        if self._store.durable:
            await asyncio.to_thread(os.fsync, self._handle.fileno())
        return self._publish()

    def finish_sync(self) -> str:
        """``finish`` for callers outside the event loop's request path (seeding the world)."""
        if self._store.durable:
            os.fsync(self._handle.fileno())
        return self._publish()

    def _publish(self) -> str:
        self._handle.close()
        final = self._store.path(self.body_id)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self._temporary, final)
        self._done = True
        return self.body_id

    def abort(self) -> None:
        """Forget a body that was not received whole (client gone, refused, too large)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self._temporary.unlink()


async def receive(request: web.Request, store: BodyStore, limit: int, catalogue: ErrorCatalogue,
                  expected_md5: bytes | None = None, md5_header: str = "Content-MD5") -> tuple[str, int, bytes]:
    """Stream a request's body to a new body file; return (body id, size, MD5). Nothing is left if this fails.

    Every storage endpoint's uploads come through here (Put Blob, Put Block, Data Lake Gen2 append): the
    declared length is required and checked against ``limit`` before a byte is read, a body that ends early
    is a dropped client (nothing written), and a Content-MD5 that does not match refuses the body.
    """
    declared = declared_length(request)
    if declared is None:
        raise errors.missing_content_length()
    if declared > limit:
        raise errors.request_body_too_large(limit)
    writer = store.writer()
    try:
        try:
            received = await read_stream(request, limit, writer.write, catalogue)
        except (HttpProcessingError, ConnectionError, EOFError) as exc:
            raise ConnectionResetError(f"the client stopped sending the body ({exc})") from None
        if received != declared:
            raise ConnectionResetError(f"the body ended after {received} of {declared} bytes")
        if expected_md5 is not None and expected_md5 != writer.md5:
            raise errors.md5_mismatch(request.headers.get(md5_header, ""), base64.b64encode(writer.md5).decode())
        body_id = await writer.finish()
    except BaseException:
        writer.abort()
        raise
    return body_id, writer.size, writer.md5


class BodyStore:
    def __init__(self, data_dir: Path, in_memory: bool) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="mi-workbook-blob-", ignore_cleanup_errors=True) \
            if in_memory else None
        self.root = ensure_private_dir(Path(self._scratch.name) if self._scratch else data_dir / "blob")
        self.temporary_dir = ensure_private_dir(self.root / "tmp")
        self.durable = not in_memory

    def writer(self) -> BodyWriter:
        return BodyWriter(self)

    def path(self, body_id: str) -> Path:
        if _BODY_ID.fullmatch(body_id) is None:
            raise ValueError(f"not a body id: {body_id!r}")  # ids come from our own rows only
        return self.root / body_id[:2] / body_id

    def delete(self, body_ids: Iterable[str]) -> None:
        for body_id in body_ids:
            with contextlib.suppress(FileNotFoundError):
                self.path(body_id).unlink()

    def open_range(self, segments: list[tuple[str, int]], start: int, end: int) -> RangeReader:
        """Bytes ``start``..``end`` (exclusive) of the concatenated segments.

        The files are opened now, so a blob replaced or deleted while it is being sent still sends
        the bytes it had when the read began (POSIX keeps an unlinked file's data while it is open).
        """
        parts: list[tuple[Any, int, int]] = []
        offset = 0
        try:
            for body_id, size in segments:
                if offset + size > start and offset < end:
                    parts.append((open(self.path(body_id), "rb"),  # noqa: SIM115 - closed by RangeReader
                                  max(start - offset, 0), min(end - offset, size)))
                offset += size
        except BaseException:
            for handle, _, _ in parts:
                handle.close()
            raise
        return RangeReader(parts)

    def sweep(self, referenced: set[str]) -> int:
        """Remove bodies no row refers to and unfinished uploads (a crash mid-write); return how many."""
        removed = 0
        for leftover in self.temporary_dir.iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()
                removed += 1
        for folder in self.root.iterdir():
            if folder == self.temporary_dir or not folder.is_dir():
                continue
            for body in folder.iterdir():
                if body.name not in referenced:
                    with contextlib.suppress(OSError):
                        body.unlink()
                        removed += 1
        return removed

    def clear(self) -> None:
        """Every body gone (reset); the folders stay."""
        for entry in self.root.iterdir():
            if entry == self.temporary_dir:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()


class RangeReader:
    """Chunks of at most READ_CHUNK bytes from already opened files; ``close`` when done (or abandoned)."""

    def __init__(self, parts: list[tuple[Any, int, int]]) -> None:
        self._parts = parts

    def __iter__(self) -> Iterator[bytes]:
        for handle, position, stop in self._parts:
            handle.seek(position)
            while position < stop:
                chunk = handle.read(min(READ_CHUNK, stop - position))
                if not chunk:
                    raise OSError("a blob body is shorter than its row says")
                position += len(chunk)
                yield chunk

    def close(self) -> None:
        for handle, _, _ in self._parts:
            handle.close()
        self._parts = []
