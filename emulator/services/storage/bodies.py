"""Blob bodies: written whole or not at all, named by generated ids, read in chunks.

A large body is streamed into ``<root>/tmp/<id>.part`` (created 0600), fsynced, then renamed to
``<root>/<id[:2]>/<id>``: a reader never finds half of one. ``root`` is ``<data dir>/blob`` (private,
0700), or a temporary folder removed at stop when the emulator runs ``--in-memory``; there nothing is
fsynced, since nothing outlives the process anyway.

A small body (``SMALL_BODY_LIMIT``, 64 KiB at most) is kept in the emulator's SQLite store instead (table
``storage_bodies``, ids ``small-<hex>``). For sizes like these SQLite reads and writes faster than the file
system (SQLite's "Internal Versus External BLOBs" measurements), and the six file operations of a file
body were most of what a 1 KiB Put Blob cost. Once the whole body has arrived it is held in memory until
the model's transaction that refers to it writes its row (``save_within``), and a small body nothing refers
to any more loses its row in the transaction that dropped the last reference (``release_within``): a small
Put Blob is one commit (one fsync), and a crash never leaves a row without its blob or the reverse.
Memory stays bounded: at most 64 KiB of a request is held before it is written.

Either way only the storage model's SQLite rows know which blob a body belongs to, so a blob's name —
whatever it holds (``../``, ``\\``, NUL-free Unicode) — never becomes part of a path.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from emulator.core.files import PRIVATE_FILE_MODE, ensure_private_dir
from emulator.core.http import ErrorCatalogue, declared_length, read_stream
from emulator.core.store import Store

from . import errors

READ_CHUNK = 1024 * 1024  # what one write to the socket carries when a body is sent
SMALL_BODY_LIMIT = 64 * 1024  # bodies up to this size are rows in the store, larger ones files
_BODY_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: a body's file name, never anything a client chose
_SMALL_PREFIX = "small-"  # the id of a body kept in the store: small-<uuid4().hex>
_SMALL_SCHEMA = "CREATE TABLE IF NOT EXISTS storage_bodies (id TEXT PRIMARY KEY, data BLOB NOT NULL);"
_DELETE_BATCH = 500  # ids per DELETE (SQLite limits the parameters of one statement)


class _Counted:
    """What every body writer tells: the size and MD5 of what it was given. ``write`` each chunk, then
    ``finish`` (durable; returns the body's id) or ``abort``."""

    def __init__(self) -> None:
        self.size = 0
        self._md5 = hashlib.md5()  # noqa: S324 - Content-MD5 is what Azure computes, not a security measure

    def write(self, chunk: bytes) -> None:
        self._keep(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    def _keep(self, chunk: bytes) -> None:
        raise NotImplementedError

    @property
    def md5(self) -> bytes:
        return self._md5.digest()


class BodyWriter(_Counted):
    """A body streamed to a temporary file, renamed under its id once whole."""

    def __init__(self, store: BodyStore) -> None:
        super().__init__()
        self._store = store
        self.body_id = uuid.uuid4().hex
        self._temporary = store.temporary_dir / f"{self.body_id}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        self._handle = os.fdopen(os.open(self._temporary, flags, PRIVATE_FILE_MODE), "wb", buffering=0)
        self._done = False

    def _keep(self, chunk: bytes) -> None:
        self._handle.write(chunk)

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


class SmallBodyWriter(_Counted):
    """A body of at most SMALL_BODY_LIMIT bytes: gathered in memory, one row in the store at ``finish``."""

    def __init__(self, store: BodyStore) -> None:
        super().__init__()
        self._store = store
        self._chunks: list[bytes] = []

    def _keep(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    async def finish(self) -> str:
        return self.finish_sync()

    def finish_sync(self) -> str:
        """The body's id; its row is written by the transaction that refers to it (``BodyStore.save_within``)."""
        return self._store.hold_small(b"".join(self._chunks))

    def abort(self) -> None:
        self._chunks = []  # nothing was written anywhere


async def receive(request: web.Request, store: BodyStore, limit: int, catalogue: ErrorCatalogue,
                  expected_md5: bytes | None = None, md5_header: str = "Content-MD5") -> tuple[str, int, bytes]:
    """Stream a request's body to a new body (a file; a row when it declares 64 KiB or less); return (body id,
    size, MD5). Nothing is left if this fails.

    Every storage endpoint's uploads come through here (Put Blob, Put Block, Data Lake Gen2 append): the
    declared length is required and checked against ``limit`` before a byte is read, a body that ends early
    is a dropped client (nothing written), and a Content-MD5 that does not match refuses the body.
    """
    declared = declared_length(request)
    if declared is None:
        raise errors.missing_content_length()
    if declared > limit:
        raise errors.request_body_too_large(limit)
    writer = store.writer(declared)
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
    def __init__(self, data_dir: Path, in_memory: bool, store: Store) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="mi-workbook-blob-", ignore_cleanup_errors=True) \
            if in_memory else None
        self.root = ensure_private_dir(Path(self._scratch.name) if self._scratch else data_dir / "blob")
        self.temporary_dir = ensure_private_dir(self.root / "tmp")
        self.durable = not in_memory
        self._store = store
        self._unsaved: dict[str, bytes] = {}  # small bodies received whole, their rows not yet written
        store.ensure_table(_SMALL_SCHEMA)

    def writer(self, size: int | None = None) -> BodyWriter | SmallBodyWriter:
        """A writer for a body of ``size`` bytes (None: not known in advance, so a file)."""
        if size is not None and size <= SMALL_BODY_LIMIT:
            return SmallBodyWriter(self)
        return BodyWriter(self)

    def hold_small(self, data: bytes) -> str:
        body_id = f"{_SMALL_PREFIX}{uuid.uuid4().hex}"
        self._unsaved[body_id] = data
        return body_id

    def save_within(self, db: sqlite3.Connection, body_ids: Iterable[str]) -> None:
        """Write the rows of the small bodies among ``body_ids`` inside the caller's transaction, the one that
        makes a blob (or a block) refer to them: both are committed together or not at all. File bodies are
        already durable."""
        for body_id in body_ids:
            data = self._unsaved.pop(body_id, None)
            if data is not None:
                db.execute("INSERT INTO storage_bodies(id, data) VALUES (?, ?)", (body_id, data))

    def release_within(self, db: sqlite3.Connection, body_ids: Iterable[str]) -> list[str]:
        """Forget bodies nothing refers to any more, inside the transaction that dropped the last reference:
        the rows of small ones are deleted in it. Returns the file bodies, to ``delete`` once that transaction
        has committed (unlinked earlier, a rollback would leave a row pointing at nothing)."""
        files: list[str] = []
        small: list[str] = []
        for body_id in body_ids:
            if not body_id.startswith(_SMALL_PREFIX):
                files.append(body_id)
            elif self._unsaved.pop(body_id, None) is None:
                small.append(body_id)
        self._delete_rows(db, small)
        return files

    def held_ids(self) -> list[str]:
        """Small bodies received whole whose row no transaction has written yet (none between requests)."""
        return sorted(self._unsaved)

    def small_ids(self) -> list[str]:
        """The ids of the bodies kept in the store."""
        return [row[0] for row in self._store.execute("SELECT id FROM storage_bodies ORDER BY id")]

    def path(self, body_id: str) -> Path:
        if _BODY_ID.fullmatch(body_id) is None:
            raise ValueError(f"not a body id: {body_id!r}")  # ids come from our own rows only
        return self.root / body_id[:2] / body_id

    def delete(self, body_ids: Iterable[str]) -> None:
        """Delete bodies now, outside any transaction (a refused upload, what a committed change released)."""
        small: list[str] = []
        for body_id in body_ids:
            if body_id.startswith(_SMALL_PREFIX):
                if self._unsaved.pop(body_id, None) is None:  # one still held never had a row
                    small.append(body_id)
                continue
            with contextlib.suppress(FileNotFoundError):
                self.path(body_id).unlink()
        if small:
            with self._store.transaction() as db:
                self._delete_rows(db, small)

    def _delete_rows(self, db: sqlite3.Connection, small: list[str]) -> None:
        for first in range(0, len(small), _DELETE_BATCH):
            batch = small[first:first + _DELETE_BATCH]
            db.execute(f"DELETE FROM storage_bodies WHERE id IN ({', '.join('?' * len(batch))})", batch)  # noqa: S608

    def _open(self, body_id: str) -> Any:
        if not body_id.startswith(_SMALL_PREFIX):
            return open(self.path(body_id), "rb")  # noqa: SIM115 - closed by RangeReader
        rows = self._store.execute("SELECT data FROM storage_bodies WHERE id = ?", (body_id,))
        if not rows:
            raise FileNotFoundError(f"a blob body is missing: {body_id}")
        return io.BytesIO(rows[0][0])

    def open_range(self, segments: list[tuple[str, int]], start: int, end: int) -> RangeReader:
        """Bytes ``start``..``end`` (exclusive) of the concatenated segments.

        The files are opened (small bodies read) now, so a blob replaced or deleted while it is being sent
        still sends the bytes it had when the read began (POSIX keeps an unlinked file's data while it is
        open).
        """
        parts: list[tuple[Any, int, int]] = []
        offset = 0
        try:
            for body_id, size in segments:
                if offset + size > start and offset < end:
                    parts.append((self._open(body_id), max(start - offset, 0), min(end - offset, size)))
                offset += size
        except BaseException:
            for handle, _, _ in parts:
                handle.close()
            raise
        return RangeReader(parts)

    def sweep(self, referenced: set[str]) -> int:
        """Remove bodies no row refers to and unfinished uploads (a crash mid-write); return how many."""
        orphans = [body_id for body_id in self.small_ids() if body_id not in referenced]
        self.delete(orphans)
        removed = len(orphans)
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
        self._unsaved.clear()
        self._store.execute("DELETE FROM storage_bodies")
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
