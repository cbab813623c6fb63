"""The storage account's values and how a blob is one SQLite row: shared by the model and the namespace.

Kept apart from models.py so that the hierarchical namespace (namespace.py), which writes directory
rows inside the model's transactions, and the model itself both use one definition of a blob row
without importing each other.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import lru_cache
from typing import Any

from . import errors

_TICKS_AT_EPOCH = 621_355_968_000_000_000  # .NET ticks (100 ns since 0001-01-01) at 1970-01-01: Azure's ETags


# -- values -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    name: str
    hierarchical_namespace: bool
    keys: tuple[str, ...]  # base64 text, as listKeys shows them
    resource_id: str
    resource_group: str

    def key_bytes(self, index: int = 0) -> bytes:
        return base64.b64decode(self.keys[index])

    def container_scope(self, container: str) -> str:
        return f"{self.resource_id}/blobServices/default/containers/{container}"


@dataclass
class Container:
    name: str
    etag: str
    last_modified: float
    metadata: dict[str, str]


@dataclass
class Blob:
    container: str
    name: str
    segments: list[tuple[str, int]]
    committed: list[tuple[str, str, int]]
    size: int
    etag: str
    created: float
    last_modified: float
    properties: dict[str, str]
    metadata: dict[str, str]
    # On an HNS account: x-ms-resource-type, x-ms-owner, x-ms-group, x-ms-permissions, x-ms-acl (reads only)
    namespace_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Conditions:
    """HTTP conditional headers, plus what the caller may do to an existing blob.

    ``create_only``: the caller may write a *new* blob but not replace one (a SAS with ``c`` and no
    ``w``; a role with ``blobs/add/action`` and no ``blobs/write``).
    """

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: float | None = None
    if_unmodified_since: float | None = None
    create_only: bool = False

    def check_write(self, etag: str | None, last_modified: float | None, *, exists: bool) -> None:
        if self.if_none_match is not None and exists and (
                self.if_none_match == "*" or _etag_in(etag, self.if_none_match)):
            # Put Blob with If-None-Match: * over an existing blob: Azure says 409, not 412
            raise errors.blob_already_exists() if self.if_none_match == "*" else errors.condition_not_met()
        if self.if_match is not None and (not exists or not (self.if_match == "*" or _etag_in(etag, self.if_match))):
            raise errors.condition_not_met()
        if exists and last_modified is not None:
            if self.if_modified_since is not None and int(last_modified) <= int(self.if_modified_since):
                raise errors.condition_not_met()
            if self.if_unmodified_since is not None and int(last_modified) > int(self.if_unmodified_since):
                raise errors.condition_not_met()
        if self.create_only and exists:
            raise errors.authorization_permission_mismatch()

    def check_read(self, etag: str, last_modified: float) -> bool:
        """True when the client's copy is current (answer 304); raise 412 when a precondition fails."""
        if self.if_match is not None and not (self.if_match == "*" or _etag_in(etag, self.if_match)):
            raise errors.condition_not_met()
        if self.if_unmodified_since is not None and int(last_modified) > int(self.if_unmodified_since):
            raise errors.condition_not_met()
        if self.if_none_match is not None:
            return self.if_none_match == "*" or _etag_in(etag, self.if_none_match)
        return self.if_modified_since is not None and int(last_modified) <= int(self.if_modified_since)


def _etag_in(etag: str | None, header: str) -> bool:
    wanted = {part.strip().removeprefix("W/").strip('"') for part in header.split(",")}
    return etag is not None and etag in wanted


# -- times and ETags --------------------------------------------------------------------------------
def http_date(moment: float) -> str:
    return _http_date(int(moment))


@lru_cache(maxsize=1024)
def _http_date(seconds: int) -> str:  # every read of a blob formats its Last-Modified (and the request's Date)
    return formatdate(seconds, usegmt=True)


def iso_time(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


_etag_lock = threading.Lock()
_last_ticks = 0


def new_etag() -> str:
    """``0x8DE…``: Azure's ETags are .NET ticks in hex; each new one is larger than the last."""
    global _last_ticks
    with _etag_lock:
        _last_ticks = max(time.time_ns() // 100 + _TICKS_AT_EPOCH, _last_ticks + 1)
        return f"0x{_last_ticks:X}"


def encode_marker(name: str) -> str:
    return "2!" + base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii")


def decode_marker(marker: str) -> str:
    try:
        if not marker.startswith("2!"):
            raise ValueError(marker)
        return base64.urlsafe_b64decode(marker[2:].encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        raise errors.invalid_query_parameter("marker", marker, "not a marker this service returned") from None

# -- a blob as a row of storage_blobs ----------------------------------------------------------------
BLOB_COLUMNS = "name, segments, committed, size, etag, created, last_modified, properties, metadata"


def blob_from_row(container: str, row: Any) -> Blob:
    return Blob(container, row[0], [tuple(s) for s in json.loads(row[1])],  # type: ignore[misc]
                [tuple(c) for c in json.loads(row[2])], row[3], row[4], row[5], row[6],  # type: ignore[misc]
                json.loads(row[7]), json.loads(row[8]))


def write_blob(db: Any, account: str, blob: Blob) -> None:
    db.execute("INSERT OR REPLACE INTO storage_blobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (account, blob.container, blob.name, json.dumps(blob.segments), json.dumps(blob.committed),
                blob.size, blob.etag, blob.created, blob.last_modified, json.dumps(blob.properties),
                json.dumps(blob.metadata)))


def stage_block(db: Any, account: str, container: str, blob: str, block_id: str, body_id: str, size: int,
                most: int | None = None) -> str | None:
    """Keep ``body_id`` as the blob's uncommitted block ``block_id`` (Put Block, a Data Lake append); return the
    body of the block it replaces, for the caller to delete once the transaction is committed. A new block
    beyond ``most`` uncommitted ones is refused."""
    replaced = db.execute("SELECT body FROM storage_blocks WHERE account = ? AND container = ? AND blob = ? "
                          "AND block_id = ?", (account, container, blob, block_id)).fetchone()
    if replaced is None and most is not None:
        count = db.execute("SELECT COUNT(*) FROM storage_blocks WHERE account = ? AND container = ? AND blob = ?",
                           (account, container, blob)).fetchone()[0]
        if count >= most:
            raise errors.block_count_exceeds_limit()
    db.execute("INSERT OR REPLACE INTO storage_blocks VALUES (?, ?, ?, ?, ?, ?, ?)",
               (account, container, blob, block_id, body_id, size, time.time()))
    return replaced[0] if replaced is not None else None


def read_blob(db: Any, account: str, container: str, name: str) -> Blob | None:
    row = db.execute(f"SELECT {BLOB_COLUMNS} FROM storage_blobs WHERE account = ? AND container = ? "  # noqa: S608
                     "AND name = ?", (account, container, name)).fetchone()
    return blob_from_row(container, row) if row else None
