"""File contents of the emulated Data Lake Gen1 account: one private file per body, never half-written.

A body is named by an id the emulator generates (hex), never by the learner's path: names live in
SQLite only, so no request can make a file appear outside this folder. An upload streams into a
temporary file (0600), is fsynced, and only then becomes a body (a rename) or is appended to one;
the metadata that points at it is committed afterwards. A crash leaves at worst an orphan file,
which the next start removes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from emulator.core.files import PRIVATE_FILE_MODE, ensure_private_dir

UPLOAD_SUFFIX = ".upload"
_BODY_ID = re.compile(r"[0-9a-f]{32}")
COPY_CHUNK = 1024 * 1024


class Upload:
    """A request body on its way to disk."""

    def __init__(self, path: Path, durable: bool = True) -> None:
        self.path = path
        self.durable = durable
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                             PRIVATE_FILE_MODE)
        self.handle: BinaryIO = os.fdopen(descriptor, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        """Flush and fsync: after this the bytes survive a crash (no fsync for an in-memory emulator)."""
        self.handle.flush()
        if self.durable:
            os.fsync(self.handle.fileno())
        self.handle.close()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


class BodyStore:
    """Bodies under ``<data dir>/datalake`` (or a temporary folder for an in-memory emulator)."""

    def __init__(self, directory: Path | None) -> None:
        self._scratch = None
        self.durable = directory is not None  # in memory nothing outlives the process: fsync buys nothing
        if directory is None:  # --in-memory: nothing may survive the process
            self._scratch = tempfile.TemporaryDirectory(prefix="mi-workbook-adls-", ignore_cleanup_errors=True)
            directory = Path(self._scratch.name)
        self.directory = ensure_private_dir(directory)

    def path_of(self, body_id: str) -> Path:
        if not _BODY_ID.fullmatch(body_id):  # ids come from SQLite, which only we write; checked anyway
            raise ValueError(f"not a body id: {body_id!r}")
        return self.directory / body_id

    def new_upload(self) -> Upload:
        return Upload(self.directory / f"{uuid.uuid4().hex}{UPLOAD_SUFFIX}", self.durable)

    def keep(self, upload: Upload) -> str:
        """A finished upload becomes a body; returns its id."""
        body_id = uuid.uuid4().hex
        os.replace(upload.path, self.path_of(body_id))
        return body_id

    def append(self, body_id: str, length: int, upload: Upload) -> None:
        """Add a finished upload at ``length`` (bytes past it are leftovers of a failed append)."""
        with self.path_of(body_id).open("r+b") as body, upload.path.open("rb") as source:
            body.truncate(length)
            body.seek(length)
            shutil.copyfileobj(source, body, COPY_CHUNK)
            body.flush()
            if self.durable:
                os.fsync(body.fileno())
        upload.abort()  # the upload's bytes are in the body now

    def write_whole(self, content: bytes) -> str:
        upload = self.new_upload()
        try:
            upload.write(content)
            upload.finish()
            return self.keep(upload)
        except BaseException:
            upload.abort()
            raise

    def read(self, body_id: str, offset: int, length: int, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """``length`` bytes from ``offset``, a chunk at a time (memory flat whatever the size)."""
        with self.path_of(body_id).open("rb") as body:
            body.seek(offset)
            left = length
            while left > 0:
                chunk = body.read(min(chunk_size, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk

    def discard(self, body_ids: Iterable[str | None]) -> None:
        for body_id in body_ids:
            if body_id:
                # A reader may hold the file open (Windows refuses then): the next start sweeps it.
                with contextlib.suppress(OSError):
                    self.path_of(body_id).unlink()

    def clear(self) -> None:
        for path in self.directory.iterdir():
            if path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()

    def sweep(self, referenced: set[str]) -> int:
        """Remove uploads a crash left behind and bodies nothing points at; returns how many."""
        removed = 0
        for path in self.directory.iterdir():
            if path.is_file() and (path.name.endswith(UPLOAD_SUFFIX) or path.name not in referenced):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
