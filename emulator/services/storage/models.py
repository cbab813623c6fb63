"""The storage accounts' data: containers, blobs, blocks, metadata, ETags — one model for every endpoint.

Rows live in the emulator's SQLite store (tables ``storage_*``, created here); bodies live as files
(bodies.py) named by generated ids. Each change is one SQLite transaction that checks the
conditions (ETag, existence) and swaps rows; bodies that a change made unreachable are deleted
after it commits. So a blob is either the old one or the new one, never a mix, and a refused or
interrupted write leaves nothing behind.

The blob endpoint and (later) the Data Lake Gen2 endpoint see the same rows: a file written
through DFS is a blob (its path is the blob name).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.core.context import EmulatorContext
from emulator.core.posix_acl import READ, WRITE

from . import errors, namespace
from .bodies import BodyStore
from .namespace import UNCHECKED, Actor
from .rows import (
    BLOB_COLUMNS,
    Account,
    Blob,
    Conditions,
    Container,
    blob_from_row,
    decode_marker,
    encode_marker,
    new_etag,
    read_blob,
    stage_block,
    write_blob,
)

STORAGE_ACCOUNTS = "Microsoft.Storage/storageAccounts"
MAX_METADATA_BYTES = 8 * 1024
MAX_BLOB_NAME = 1024
MAX_BLOCKS_IN_LIST = 50_000
MAX_UNCOMMITTED_BLOCKS = 100_000
MAX_LIST_RESULTS = 5000
_CONTAINER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_METADATA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a C# identifier, as Azure requires
# Properties a blob keeps from x-ms-blob-content-* headers (and shows as Content-* on reads).
BLOB_PROPERTIES = ("content_type", "content_encoding", "content_language", "content_disposition", "cache_control",
                   "content_md5")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS storage_containers (
    account TEXT NOT NULL, name TEXT NOT NULL, etag TEXT NOT NULL, last_modified REAL NOT NULL,
    metadata TEXT NOT NULL, PRIMARY KEY (account, name));
CREATE TABLE IF NOT EXISTS storage_blobs (
    account TEXT NOT NULL, container TEXT NOT NULL, name TEXT NOT NULL,
    segments TEXT NOT NULL,          -- JSON [[body id, size], …]: the bytes, in order
    committed TEXT NOT NULL,         -- JSON [[block id, body id, size], …] (Put Block List), [] for Put Blob
    size INTEGER NOT NULL, etag TEXT NOT NULL, created REAL NOT NULL, last_modified REAL NOT NULL,
    properties TEXT NOT NULL, metadata TEXT NOT NULL,
    PRIMARY KEY (account, container, name));
CREATE TABLE IF NOT EXISTS storage_blocks (
    account TEXT NOT NULL, container TEXT NOT NULL, blob TEXT NOT NULL, block_id TEXT NOT NULL,
    body TEXT NOT NULL, size INTEGER NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (account, container, blob, block_id));
"""


# -- names and metadata ------------------------------------------------------------------------------
def check_container_name(name: str) -> None:
    if not 3 <= len(name) <= 63:
        raise errors.resource_name_length("container names have 3 to 63 characters")
    if not _CONTAINER_NAME.match(name):
        raise errors.invalid_resource_name()


def check_blob_name(name: str) -> None:
    """1 to 1,024 characters; no control characters or lone surrogates (what percent-decoding can smuggle)."""
    if not name:
        raise errors.invalid_resource_name()
    if len(name) > MAX_BLOB_NAME:
        raise errors.resource_name_length("blob names have 1 to 1,024 characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF or c == "\ufffd" for c in name):
        raise errors.invalid_resource_name()


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    total = 0
    for name, value in metadata.items():
        if not _METADATA_NAME.match(name) or any(ord(c) > 0x7E or ord(c) < 0x20 for c in value):
            raise errors.invalid_metadata()
        total += len(name) + len(value)
    if total > MAX_METADATA_BYTES:
        raise errors.metadata_too_large()
    return dict(metadata)


# -- the model ---------------------------------------------------------------------------------------
class StorageModel:
    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.store = context.store
        world = context.world
        spec = world.extra.get("storage", {})
        self.accounts: dict[str, Account] = {}
        for declared in spec.get("accounts", []):
            group = declared.get("resourceGroup", world.vm["resourceGroup"])
            resource_id = f"{world.resource_group_id(group)}/providers/{STORAGE_ACCOUNTS}/{declared['name']}"
            self.accounts[declared["name"]] = Account(
                name=declared["name"], hierarchical_namespace=bool(declared.get("hierarchicalNamespace")),
                keys=tuple(declared["keys"]), resource_id=resource_id, resource_group=group)
        self.spec = spec
        self.store.ensure_table(_SCHEMA)
        self.store.ensure_table(namespace.SCHEMA)
        self._backfill_namespaces()
        self.bodies = BodyStore(context.settings.data_dir, context.settings.in_memory, context.store)
        self.endpoints: dict[str, str] = {}  # "blob" → https://127.0.0.1:<port>, set when a listener starts
        self.closed = False
        if self.bodies.durable:
            self.bodies.sweep(self._referenced_bodies())

    def _backfill_namespaces(self) -> None:
        for account in self.accounts.values():
            if account.hierarchical_namespace:
                with self.store.transaction() as db:
                    containers = [r[0] for r in db.execute("SELECT name FROM storage_containers WHERE account = ?",
                                                           (account.name,))]
                    for container in containers:
                        namespace.backfill(db, account.name, container)

    # -- accounts -------------------------------------------------------------------------------------
    def account(self, name: str) -> Account:
        found = self.accounts.get(name)
        if found is None:
            raise errors.account_not_found(name)
        return found

    def account_by_resource_group(self, resource_group: str, name: str) -> Account | None:
        found = self.accounts.get(name)
        if found is None or found.resource_group.lower() != resource_group.lower():
            return None
        return found

    def scope_exists(self, scope: str) -> bool:
        """For role assignments: does this container scope name a container that exists?"""
        lowered = scope.lower().rstrip("/")
        for account in self.accounts.values():
            prefix = account.resource_id.lower() + "/blobservices/default/containers/"
            if lowered.startswith(prefix) and "/" not in lowered[len(prefix):]:
                return self.find_container(account.name, scope.rstrip("/")[len(prefix):]) is not None
        return False

    # -- containers -----------------------------------------------------------------------------------
    def find_container(self, account: str, name: str) -> Container | None:
        with self.store.reading() as db:
            row = db.execute("SELECT name, etag, last_modified, metadata FROM storage_containers "
                             "WHERE account = ? AND name = ?", (account, name)).fetchone()
        return Container(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def container(self, account: str, name: str) -> Container:
        found = self.find_container(account, name)
        if found is None:
            raise errors.container_not_found()
        return found

    def hierarchical(self, account: str) -> bool:
        found = self.accounts.get(account)
        return found is not None and found.hierarchical_namespace

    def create_container(self, account: str, name: str, metadata: Mapping[str, str],
                         owner: str = namespace.SUPERUSER) -> Container:
        """``owner``: on an HNS account, who owns the root directory (an OAuth creator, else $superuser)."""
        check_container_name(name)
        created = Container(name, new_etag(), time.time(), check_metadata(metadata))
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM storage_containers WHERE account = ? AND name = ?",
                          (account, name)).fetchone():
                raise errors.container_already_exists()
            db.execute("INSERT INTO storage_containers VALUES (?, ?, ?, ?, ?)",
                       (account, name, created.etag, created.last_modified, json.dumps(created.metadata)))
            if self.hierarchical(account):
                namespace.create_root(db, account, name, owner)
        return created

    def set_container_metadata(self, account: str, name: str, metadata: Mapping[str, str],
                               conditions: Conditions) -> Container:
        checked = check_metadata(metadata)
        with self.store.transaction() as db:
            current = self.container_row(db, account, name)
            conditions.check_write(None, current.last_modified, exists=True)
            current.etag, current.last_modified, current.metadata = new_etag(), time.time(), checked
            db.execute("UPDATE storage_containers SET etag = ?, last_modified = ?, metadata = ? "
                       "WHERE account = ? AND name = ?",
                       (current.etag, current.last_modified, json.dumps(checked), account, name))
        return current

    def delete_container(self, account: str, name: str, conditions: Conditions) -> None:
        with self.store.transaction() as db:
            current = self.container_row(db, account, name)
            conditions.check_write(None, current.last_modified, exists=True)
            garbage = self._bodies_under(db, account, name, None)
            for table in ("storage_blobs", "storage_blocks"):
                db.execute(f"DELETE FROM {table} WHERE account = ? AND container = ?", (account, name))  # noqa: S608
            db.execute("DELETE FROM storage_containers WHERE account = ? AND name = ?", (account, name))
            namespace.delete_container(db, account, name)
            garbage = self.bodies.release_within(db, garbage)  # small bodies' rows go in this commit
        self.bodies.delete(garbage)

    def list_containers(self, account: str, prefix: str, marker: str | None,
                        limit: int) -> tuple[list[Container], str | None]:
        start = decode_marker(marker) if marker else ""
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT name, etag, last_modified, metadata FROM storage_containers WHERE account = ? "
                "AND name >= ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
                (account, start, len(prefix), prefix, limit + 1)).fetchall()
        items = [Container(r[0], r[1], r[2], json.loads(r[3])) for r in rows[:limit]]
        return items, encode_marker(rows[limit][0]) if len(rows) > limit else None

    @staticmethod
    def container_row(db: Any, account: str, name: str) -> Container:
        row = db.execute("SELECT name, etag, last_modified, metadata FROM storage_containers "
                         "WHERE account = ? AND name = ?", (account, name)).fetchone()
        if row is None:
            raise errors.container_not_found()
        return Container(row[0], row[1], row[2], json.loads(row[3]))

    # -- blobs: reads ---------------------------------------------------------------------------------
    # Reads hold the store's lock without a write transaction: no other writer can come in between their
    # statements (there is one connection, and every writer takes the same lock), so they read one state.
    def find_blob(self, account: str, container: str, name: str) -> Blob | None:
        with self.store.reading() as db:
            return self._blob_row(db, account, container, name)

    def _blob_row(self, db: Any, account: str, container: str, name: str) -> Blob | None:
        """The blob's row, None when there is none; ContainerNotFound when its container is missing. The
        container is looked up only without a row: a blob row never outlives its container (one transaction
        deletes both)."""
        found = read_blob(db, account, container, name)
        if found is None:
            self.container_row(db, account, container)
        return found

    def blob(self, account: str, container: str, name: str, actor: Actor = UNCHECKED, wanted: int = READ) -> Blob:
        """The blob; on an HNS account after the POSIX checks (``wanted`` bits on it: 0 for its properties)."""
        with self.store.reading() as db:
            entry, found = self._entry_and_blob(db, account, container, name, actor, wanted)
        if found is None:
            raise errors.blob_not_found()
        if entry is not None:
            found.namespace_headers = entry.read_headers()
        return found

    def _entry_and_blob(self, db: Any, account: str, container: str, name: str, actor: Actor,
                        wanted: int) -> tuple[namespace.PathEntry | None, Blob | None]:
        """In an existing container: on an HNS account the path after the POSIX checks (``wanted`` bits on it),
        None on a flat one; and the blob's row, None when there is none."""
        if not self.hierarchical(account):
            return None, self._blob_row(db, account, container, name)
        self.container_row(db, account, container)
        return namespace.existing(db, actor, account, container, name, wanted), read_blob(db, account, container, name)

    def check_write_access(self, account: str, container: str, name: str, actor: Actor) -> None:
        """On an HNS account, refuse a write the ACLs do not allow before its body is read (checked again after)."""
        if actor.checked and self.hierarchical(account):
            with self.store.transaction() as db:
                self.container_row(db, account, container)
                namespace.check_file_write(db, actor, account, container, name)

    def list_blobs(self, account: str, container: str, prefix: str, delimiter: str, marker: str | None,
                   limit: int, actor: Actor = UNCHECKED) -> tuple[list[Blob | str], str | None]:
        """Blobs (and, with a delimiter, ``BlobPrefix`` names) in name order from ``marker``.

        On an HNS account whose ACLs decide, ``r-x`` on every directory whose children the page shows.
        """
        with self.store.transaction() as db:
            found, next_marker = self._list_blobs(db, account, container, prefix, delimiter, marker, limit)
            if actor.checked and self.hierarchical(account):
                listed = [item[:len(item) - len(delimiter)] if isinstance(item, str) else item.name for item in found]
                namespace.require_listing(db, actor, account, container,
                                          [namespace.parent_of(name) for name in listed])
        return found, next_marker

    def _list_blobs(self, db: Any, account: str, container: str, prefix: str, delimiter: str, marker: str | None,
                    limit: int) -> tuple[list[Blob | str], str | None]:
        cursor = decode_marker(marker) if marker else ""
        found: list[Blob | str] = []
        self.container_row(db, account, container)
        while True:
            rows = db.execute(
                f"SELECT {BLOB_COLUMNS} FROM storage_blobs WHERE account = ? AND container = ? "  # noqa: S608
                "AND name >= ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
                (account, container, cursor, len(prefix), prefix, limit + 1)).fetchall()
            if not rows:
                return found, None
            for row in rows:
                name = row[0]
                if len(found) == limit:
                    return found, encode_marker(name)
                cut = name.find(delimiter, len(prefix)) if delimiter else -1
                if cut >= 0:
                    group = name[:cut + len(delimiter)]
                    found.append(group)
                    cursor = group + "\U0010ffff"  # past every name in this group
                    break
                found.append(blob_from_row(container, row))
                cursor = name + "\x00"
            else:
                if len(rows) <= limit:
                    return found, None

    def block_lists(self, account: str, container: str, name: str, actor: Actor = UNCHECKED
                    ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """(committed, uncommitted) blocks as (block id, size)."""
        with self.store.transaction() as db:
            self.container_row(db, account, container)
            if actor.checked and self.hierarchical(account):
                namespace.existing(db, actor, account, container, name, READ)
            blob = read_blob(db, account, container, name)
            pending = db.execute("SELECT block_id, size FROM storage_blocks WHERE account = ? AND container = ? "
                                 "AND blob = ? ORDER BY created, block_id", (account, container, name)).fetchall()
        if blob is None and not pending:
            raise errors.blob_not_found()
        committed = [(block_id, size) for block_id, _, size in (blob.committed if blob else [])]
        return committed, [(r[0], r[1]) for r in pending]

    # -- blobs: writes --------------------------------------------------------------------------------
    def put_blob(self, account: str, container: str, name: str, body_id: str, size: int,
                 properties: Mapping[str, str], metadata: Mapping[str, str], conditions: Conditions,
                 actor: Actor = UNCHECKED) -> Blob:
        """Make ``body_id`` (a file already durable, or a small body whose row this commit writes) the blob's
        content. On refusal the body is deleted."""
        return self._replace(account, container, name, [(body_id, size)], [], properties, metadata, conditions,
                             fresh={body_id}, actor=actor)

    def put_block(self, account: str, container: str, blob: str, block_id: str, body_id: str, size: int,
                  actor: Actor = UNCHECKED) -> None:
        garbage: list[str] = []
        try:
            with self.store.transaction() as db:
                self.container_row(db, account, container)
                if actor.checked and self.hierarchical(account):
                    namespace.check_file_write(db, actor, account, container, blob)
                lengths = db.execute("SELECT DISTINCT length(block_id) FROM storage_blocks WHERE account = ? "
                                     "AND container = ? AND blob = ?", (account, container, blob)).fetchall()
                current = read_blob(db, account, container, blob)
                known = {len(b[0]) for b in current.committed} if current else set()
                if any(n != len(block_id) for (n,) in lengths) or any(n != len(block_id) for n in known):
                    raise errors.StorageError(400, "InvalidBlobOrBlock",
                                              "The specified blob or block content is invalid. (Every block id "
                                              "of a blob must have the same length.)")
                self.bodies.save_within(db, [body_id])
                replaced = stage_block(db, account, container, blob, block_id, body_id, size,
                                       most=MAX_UNCOMMITTED_BLOCKS)
                if replaced is not None:
                    garbage = self.bodies.release_within(db, [replaced])
        except BaseException:
            self.bodies.delete([body_id])
            raise
        self.bodies.delete(garbage)

    def put_block_list(self, account: str, container: str, name: str, wanted: list[tuple[str, str]],
                       properties: Mapping[str, str], metadata: Mapping[str, str], conditions: Conditions,
                       actor: Actor = UNCHECKED) -> Blob:
        """Commit blocks: each of ``wanted`` is (``Latest``/``Committed``/``Uncommitted``, block id)."""
        if len(wanted) > MAX_BLOCKS_IN_LIST:
            raise errors.StorageError(400, "BlockListTooLong", "The block list may not contain more than 50,000 "
                                                               "blocks.")
        return self._replace(account, container, name, None, wanted, properties, metadata, conditions, fresh=set(),
                             actor=actor)

    def set_blob_metadata(self, account: str, container: str, name: str, metadata: Mapping[str, str],
                          conditions: Conditions, actor: Actor = UNCHECKED) -> Blob:
        checked = check_metadata(metadata)
        return self._update(account, container, name, conditions, lambda blob: setattr(blob, "metadata", checked),
                            actor)

    def set_blob_properties(self, account: str, container: str, name: str, properties: Mapping[str, str],
                            conditions: Conditions, actor: Actor = UNCHECKED) -> Blob:
        # Set Blob Properties replaces every content property; one left out is cleared (as Azure does)
        return self._update(account, container, name, conditions,
                            lambda blob: setattr(blob, "properties", {k: v for k, v in properties.items() if v}),
                            actor)

    def delete_blob(self, account: str, container: str, name: str, conditions: Conditions,
                    actor: Actor = UNCHECKED) -> None:
        with self.store.transaction() as db:
            self.container_row(db, account, container)
            current = read_blob(db, account, container, name)
            if current is None:
                raise errors.blob_not_found()
            if self.hierarchical(account):  # a directory must be empty; -wx on its folder when the ACLs decide
                namespace.before_delete(db, actor, account, container, name, recursive=False)
                namespace.delete_subtree(db, account, container, name)
            conditions.check_write(current.etag, current.last_modified, exists=True)
            garbage = self._bodies_under(db, account, container, name)
            db.execute("DELETE FROM storage_blobs WHERE account = ? AND container = ? AND name = ?",
                       (account, container, name))
            db.execute("DELETE FROM storage_blocks WHERE account = ? AND container = ? AND blob = ?",
                       (account, container, name))
            garbage = self.bodies.release_within(db, garbage)  # small bodies' rows go in this commit
        self.bodies.delete(garbage)

    def _update(self, account: str, container: str, name: str, conditions: Conditions, change: Any,
                actor: Actor = UNCHECKED) -> Blob:
        with self.store.transaction() as db:
            entry, blob = self._entry_and_blob(db, account, container, name, actor, WRITE)
            if blob is None:
                raise errors.blob_not_found()
            conditions.check_write(blob.etag, blob.last_modified, exists=True)
            change(blob)
            if entry is not None and entry.is_directory:  # a directory stays one, whatever metadata it is given
                blob.metadata.update(namespace.FOLDER_METADATA)
            blob.etag, blob.last_modified = new_etag(), time.time()
            write_blob(db, account, blob)
        return blob

    def _replace(self, account: str, container: str, name: str, segments: list[tuple[str, int]] | None,
                 wanted: list[tuple[str, str]], properties: Mapping[str, str], metadata: Mapping[str, str],
                 conditions: Conditions, fresh: set[str], actor: Actor = UNCHECKED) -> Blob:
        """Swap the blob's row in one transaction; delete bodies nothing refers to any more."""
        try:
            checked = check_metadata(metadata)
            with self.store.transaction() as db:
                self.bodies.save_within(db, fresh)
                if self.hierarchical(account):  # parents made, a directory not overwritten, the ACLs checked
                    self.container_row(db, account, container)
                    namespace.before_file_write(db, actor, account, container, name)
                current = self._blob_row(db, account, container, name)
                conditions.check_write(current.etag if current else None,
                                       current.last_modified if current else None, exists=current is not None)
                pending = {r[0]: (r[1], r[2]) for r in db.execute(
                    "SELECT block_id, body, size FROM storage_blocks WHERE account = ? AND container = ? "
                    "AND blob = ?", (account, container, name))}
                committed: list[tuple[str, str, int]] = []
                if segments is None:  # Put Block List
                    earlier = {block_id: (body, size) for block_id, body, size in (current.committed if current
                                                                                   else [])}
                    committed = [(block_id, *_pick_block(kind, block_id, pending, earlier))
                                 for kind, block_id in wanted]
                    segments = [(body, size) for _, body, size in committed]
                now = time.time()
                blob = Blob(container, name, segments, committed, sum(size for _, size in segments), new_etag(),
                            current.created if current else now, now,
                            {k: v for k, v in properties.items() if v}, checked)
                write_blob(db, account, blob)
                db.execute("DELETE FROM storage_blocks WHERE account = ? AND container = ? AND blob = ?",
                           (account, container, name))
                kept = {body for body, _ in segments}
                old = {body for body, _ in current.segments} if current else set()
                garbage = self.bodies.release_within(db, (old | {body for body, _ in pending.values()}) - kept)
        except BaseException:
            self.bodies.delete(fresh)
            raise
        self.bodies.delete(garbage)
        return blob

    @staticmethod
    def _bodies_under(db: Any, account: str, container: str, blob: str | None) -> list[str]:
        where, args = ("account = ? AND container = ?", [account, container])
        if blob is not None:
            where += " AND name = ?"
            args.append(blob)
        found = [body for (segments,) in db.execute(f"SELECT segments FROM storage_blobs WHERE {where}", args)
                 for body, _ in json.loads(segments)]
        blocks_where = where.replace("name = ?", "blob = ?")
        found += [body for (body,) in db.execute(f"SELECT body FROM storage_blocks WHERE {blocks_where}", args)]
        return found

    def _referenced_bodies(self) -> set[str]:
        with self.store.transaction() as db:
            referenced = {body for (segments,) in db.execute("SELECT segments FROM storage_blobs")
                          for body, _ in json.loads(segments)}
            referenced |= {body for (body,) in db.execute("SELECT body FROM storage_blocks")}
        return referenced

    # -- the declared world ---------------------------------------------------------------------------
    def seed(self) -> None:
        """Write the declared accounts (ARM documents), containers and blobs (after ``store.clear()``)."""
        self.bodies.clear()
        for declared in self.spec.get("accounts", []):
            account = self.accounts[declared["name"]]
            self.store.put(account.resource_id, STORAGE_ACCOUNTS, self._arm_document(account, declared))
            for container in declared.get("containers", []):
                self.create_container(account.name, container["name"], container.get("metadata", {}))
                for blob in container.get("blobs", []):
                    self._seed_blob(account.name, container["name"], blob)

    def _seed_blob(self, account: str, container: str, declared: dict[str, Any]) -> None:
        content = declared.get("content", "").encode("utf-8")
        writer = self.bodies.writer(len(content))
        writer.write(content)
        body_id = writer.finish_sync()  # seeding may run inside the listeners' loop (reset): no await here
        properties = {"content_type": declared.get("contentType", "application/octet-stream"),
                      "content_md5": base64.b64encode(writer.md5).decode()}
        self.put_blob(account, container, declared["name"], body_id, writer.size, properties,
                      declared.get("metadata", {}), Conditions())

    def _arm_document(self, account: Account, declared: dict[str, Any]) -> dict[str, Any]:
        world = self.context.world
        created = declared.get("created", "2024-05-17T09:00:00.0000000Z")
        return {
            "id": account.resource_id, "name": account.name, "type": STORAGE_ACCOUNTS,
            "location": declared.get("location", world.location), "kind": "StorageV2",
            "sku": {"name": "Standard_LRS", "tier": "Standard"}, "tags": declared.get("tags", {}),
            "properties": {
                "provisioningState": "Succeeded", "creationTime": created, "primaryLocation": world.location,
                "statusOfPrimary": "available", "accessTier": "Hot",
                "isHnsEnabled": account.hierarchical_namespace, "allowBlobPublicAccess": False,
                "allowSharedKeyAccess": True, "supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2",
                "keyCreationTime": {"key1": created, "key2": created},
                "encryption": {"keySource": "Microsoft.Storage", "services": {
                    "blob": {"enabled": True, "keyType": "Account", "lastEnabledTime": created}}},
                "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "virtualNetworkRules": [],
                                "ipRules": []},
            },
        }

    def close(self) -> None:
        self.closed = True
        self.bodies.close()


def _pick_block(kind: str, block_id: str, pending: dict[str, tuple[str, int]],
                earlier: dict[str, tuple[str, int]]) -> tuple[str, int]:
    lowered = kind.lower()
    if lowered in ("latest", "uncommitted") and block_id in pending:
        return pending[block_id]
    if lowered in ("latest", "committed") and block_id in earlier:
        return earlier[block_id]
    raise errors.invalid_block_list(f"block '{block_id}' is not among the {lowered} blocks of this blob")


@dataclass
class _Registry:
    models: dict[int, tuple[EmulatorContext, StorageModel]] = field(default_factory=dict)
    holders: dict[int, set[str]] = field(default_factory=dict)  # the listeners serving each model
    lock: threading.Lock = field(default_factory=threading.Lock)


_REGISTRY = _Registry()


def model_for(context: EmulatorContext, holder: str | None = None) -> StorageModel:
    """The one StorageModel of an emulator (shared by the blob and DFS listeners, ARM and the seeder).

    A listener passes its name as ``holder``: the model stays open until the last holder lets go.
    """
    with _REGISTRY.lock:
        found = _REGISTRY.models.get(id(context))
        if found is None or found[0] is not context or found[1].closed:
            found = (context, StorageModel(context))
            _REGISTRY.models[id(context)] = found
            _REGISTRY.holders.pop(id(context), None)
        if holder is not None:
            _REGISTRY.holders.setdefault(id(context), set()).add(holder)
        return found[1]


def forget(context: EmulatorContext, holder: str | None = None) -> None:
    """Let go of the model (``holder``: one listener's hold); it is closed — in memory, its bodies' temporary
    folder removed — when no listener holds it any more, or at once when ``holder`` is None."""
    with _REGISTRY.lock:
        held = _REGISTRY.holders.get(id(context), set())
        if holder is not None:
            held.discard(holder)
            if held:
                return
        found = _REGISTRY.models.pop(id(context), None)
        _REGISTRY.holders.pop(id(context), None)
    if found is not None:
        found[1].close()
