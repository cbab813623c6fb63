"""Data Lake Gen2 operations on the storage account's one model: files, directories, appends, renames, ACLs.

The rows are the storage model's (a file is a blob, a directory a blob marked ``hdi_isfolder`` and a row of
the hierarchical namespace, storage/namespace.py), so whatever happens here the blob endpoint sees at
once, and the other way round. Each operation is one SQLite transaction; bodies a change made
unreachable are deleted after it commits.

- **Append and flush.** Appended data is uncommitted until flushed, as on Azure: each append is kept as an
  uncommitted block of the blob (``storage_blocks``) whose id encodes its position. A flush at ``position``
  commits the appends that run contiguously from the file's current length to exactly ``position`` and
  drops the rest (unless ``retainUncommittedData``); anything else is ``InvalidFlushPosition`` (REST
  reference, "position": "the previously uploaded data must be contiguous, the position parameter must be
  specified and equal to the length of the file after all data has been written").
- **Rename** moves a directory and everything below it in one transaction (an UPDATE of the names in each
  table), so no reader ever sees half a move. ``mode=legacy`` (what the SDKs send) replaces an existing
  file or empty directory of the same type; ``posix`` moves the source *into* an existing directory.
- **Recursive ACL changes** walk the directory and everything below it in name order, at most
  ``maxRecords`` (≤ 2,000) per call, with a continuation token: a failure (the caller is not the owner)
  stops the walk unless ``forceFlag``, and is reported in ``failedEntries``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.core import posix_acl as acls
from emulator.core.posix_acl import EXECUTE, WRITE, AclEntry, AclError
from emulator.services.storage import errors, namespace
from emulator.services.storage.models import StorageModel, check_metadata
from emulator.services.storage.namespace import Actor, PathEntry
from emulator.services.storage.rows import (
    Blob,
    Conditions,
    blob_from_row,
    new_etag,
    read_blob,
    stage_block,
    write_blob,
)

_APPEND = "dfs-append:"  # an uncommitted append's block id: base64 of this and its zero-padded position


def append_block_id(position: int) -> str:
    return base64.b64encode(f"{_APPEND}{position:020d}".encode()).decode()


def append_position(block_id: str) -> int | None:
    try:
        text = base64.b64decode(block_id).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text[len(_APPEND):]) if text.startswith(_APPEND) and text[len(_APPEND):].isdigit() else None


def encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii")


def decode_token(token: str, parameter: str = "continuation") -> str:
    try:
        name = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
        if not name:
            raise ValueError(token)
        return name
    except (ValueError, UnicodeError):
        raise errors.invalid_query_parameter(parameter, token, "not a continuation token this service returned") \
            from None


@dataclass
class AccessChange:
    """What Set Access Control asks for; every field optional, ACL and permissions not both."""

    acl: list[AclEntry] | None = None
    mode: int | None = None
    sticky: bool | None = None
    owner: str | None = None
    group: str | None = None
    may_change_owner: bool = False  # the caller is a super-user for ownership (RBAC manageOwnership, Shared Key)


@dataclass
class NewPath:
    """What Create File / Create Directory asks for."""

    directory: bool
    mode: int | None = None
    sticky: bool = False
    umask: int | None = None
    acl: list[AclEntry] | None = None
    owner: str | None = None
    group: str | None = None
    may_change_owner: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class RecursiveResult:
    directories: int = 0
    files: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    continuation: str | None = None

    def body(self) -> dict[str, Any]:
        return {"directoriesSuccessful": self.directories, "failedEntries": self.failures,
                "failureCount": len(self.failures), "filesSuccessful": self.files}


class DataLake:
    """The DFS operations of every HNS account of one storage model."""

    def __init__(self, storage: StorageModel) -> None:
        self.storage = storage
        self.store = storage.store
        self.bodies = storage.bodies

    # -- helpers --------------------------------------------------------------------------------------
    def _db_container(self, db: Any, account: str, filesystem: str) -> None:
        self.storage.container_row(db, account, filesystem)  # FilesystemNotFound (404) when missing

    @staticmethod
    def _blob(db: Any, account: str, filesystem: str, name: str, entry: PathEntry) -> Blob:
        blob = read_blob(db, account, filesystem, name)
        if blob is None:  # the root directory is a namespace row only: it shows the filesystem's own ETag
            row = db.execute("SELECT etag, last_modified FROM storage_containers WHERE account = ? AND name = ?",
                             (account, filesystem)).fetchone()
            blob = Blob(filesystem, name, [], [], 0, row[0], row[1], row[1], {}, dict(namespace.FOLDER_METADATA))
        blob.namespace_headers = entry.read_headers()
        return blob

    def entry(self, account: str, filesystem: str, name: str, actor: Actor, wanted: int = 0) -> tuple[Blob,
                                                                                                      PathEntry]:
        """A path's blob row and namespace entry, after the traverse checks (and ``wanted`` bits on it)."""
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            found = namespace.existing(db, actor, account, filesystem, name, wanted)
            return self._blob(db, account, filesystem, name, found), found

    # -- create ---------------------------------------------------------------------------------------
    def create(self, account: str, filesystem: str, name: str, actor: Actor, request: NewPath,
               conditions: Conditions) -> Blob:
        if (request.owner or request.group) and not request.may_change_owner:
            raise errors.authorization_permission_mismatch()  # only a super-user sets another owner or group
        garbage: list[str] = []
        now = time.time()
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            walk = namespace.walk(db, actor, account, filesystem, name)
            if walk.through_file is not None:
                raise errors.path_conflict()
            current = walk.target
            if name == "" and current is None:
                current = namespace.create_root(db, account, filesystem, namespace.SUPERUSER)
            if current is not None:
                blob = self._blob(db, account, filesystem, name, current)
                conditions.check_write(blob.etag, blob.last_modified, exists=True)
                if current.is_directory != request.directory:
                    raise errors.path_conflict()
                if request.directory:  # an existing directory stays as it is (its children too)
                    return blob
                parent = walk.parent
                assert parent is not None
                namespace.require(actor, parent, WRITE | EXECUTE)  # replacing a file: delete, then create
                namespace.require_sticky(actor, parent, current)
                garbage = self._bodies_of(db, account, filesystem, name)
                db.execute("DELETE FROM storage_blocks WHERE account = ? AND container = ? AND blob = ?",
                           (account, filesystem, name))
            else:
                conditions.check_write(None, None, exists=False)
                parent = namespace.make_parents(db, actor, account, filesystem, walk, now)
            entry = namespace.child_entry(parent, name, directory=request.directory, owner=request.owner or actor.owner,
                                          mode=request.mode, umask=request.umask, sticky=request.sticky)
            if request.group:
                entry.group = request.group
            if request.acl is not None:
                entry.acl = _apply(entry, request.acl, acls.set_acl)
            namespace.write(db, account, filesystem, entry)
            metadata = check_metadata(request.metadata)
            if request.directory:
                metadata.update(namespace.FOLDER_METADATA)
            blob = Blob(filesystem, name, [], [], 0, new_etag(), now, now,
                        {k: v for k, v in request.properties.items() if v}, metadata)
            write_blob(db, account, blob)
            garbage = self.bodies.release_within(db, garbage)  # small bodies' rows go in this commit
        self.bodies.delete(garbage)
        blob.namespace_headers = entry.read_headers()
        return blob

    # -- append and flush -----------------------------------------------------------------------------------
    def check_append(self, account: str, filesystem: str, name: str, actor: Actor) -> None:
        """Everything an append could be refused for, before its body is read.

        The position is not checked against the file's length here: Azure takes an append at any position
        and refuses at the flush (an SDK upload without overwrite onto an existing file fails at its flush's
        If-None-Match, azure-sdk-for-python#16166).
        """
        with self.store.transaction() as db:
            self._file(db, account, filesystem, name, actor)

    def _file(self, db: Any, account: str, filesystem: str, name: str, actor: Actor) -> Blob:
        self._db_container(db, account, filesystem)
        entry = namespace.existing(db, actor, account, filesystem, name, WRITE)
        if entry.is_directory:
            raise errors.path_conflict()
        return self._blob(db, account, filesystem, name, entry)

    def append(self, account: str, filesystem: str, name: str, actor: Actor, position: int, body_id: str,
               size: int) -> None:
        """Keep ``size`` bytes at ``position``, uncommitted. On refusal the body is deleted."""
        garbage: list[str] = []
        try:
            with self.store.transaction() as db:
                self._file(db, account, filesystem, name, actor)
                self.bodies.save_within(db, [body_id])
                replaced = stage_block(db, account, filesystem, name, append_block_id(position), body_id, size)
                if replaced is not None:
                    garbage = self.bodies.release_within(db, [replaced])
        except BaseException:
            self.bodies.delete([body_id])
            raise
        self.bodies.delete(garbage)

    def flush(self, account: str, filesystem: str, name: str, actor: Actor, position: int, *, retain: bool,
              properties: Mapping[str, str] | None, conditions: Conditions) -> Blob:
        """Commit the appends from the file's length up to exactly ``position``; the file gets a new ETag."""
        garbage: list[str] = []
        with self.store.transaction() as db:
            blob = self._file(db, account, filesystem, name, actor)
            if conditions.if_none_match == "*":  # a flush onto a file that exists: 412, not Create's 409 (#16166)
                raise errors.condition_not_met()
            conditions.check_write(blob.etag, blob.last_modified, exists=True)
            if position < blob.size:
                raise errors.invalid_flush_position()
            pending = []
            for block_id, body, size in db.execute("SELECT block_id, body, size FROM storage_blocks WHERE "
                                                   "account = ? AND container = ? AND blob = ?",
                                                   (account, filesystem, name)):
                at = append_position(block_id)
                if at is not None:
                    pending.append((at, block_id, body, size))
            pending.sort()
            taken, cursor = [], blob.size
            for at, block_id, body, size in pending:
                if cursor == position or at < cursor:
                    continue
                if at != cursor or cursor + size > position:
                    raise errors.invalid_flush_position()  # a gap, or data across the flush position
                taken.append((block_id, body, size))
                cursor += size
            if cursor != position:
                raise errors.invalid_flush_position()
            used = {block_id for block_id, _, _ in taken}
            for at, block_id, body, _ in pending:
                if block_id in used or (retain and at >= position):
                    continue
                garbage.append(body)
                db.execute("DELETE FROM storage_blocks WHERE account = ? AND container = ? AND blob = ? AND "
                           "block_id = ?", (account, filesystem, name, block_id))
            for block_id, _, _ in taken:
                db.execute("DELETE FROM storage_blocks WHERE account = ? AND container = ? AND blob = ? AND "
                           "block_id = ?", (account, filesystem, name, block_id))
            blob.segments = [*blob.segments, *((body, size) for _, body, size in taken)]
            blob.committed = [*blob.committed, *taken]
            blob.size = position
            if properties is not None:  # Flush Data's x-ms-content-* headers replace the file's properties
                blob.properties = {k: v for k, v in properties.items() if v}
            elif taken:
                blob.properties.pop("content_md5", None)  # the content changed: an old MD5 would be wrong
            blob.etag, blob.last_modified = new_etag(), time.time()
            write_blob(db, account, blob)
            garbage = self.bodies.release_within(db, garbage)  # small bodies' rows go in this commit
        self.bodies.delete(garbage)
        return blob

    # -- properties and access control -----------------------------------------------------------------------
    def set_properties(self, account: str, filesystem: str, name: str, actor: Actor, metadata: dict[str, str] | None,
                       properties: Mapping[str, str] | None, conditions: Conditions) -> Blob:
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            entry = namespace.existing(db, actor, account, filesystem, name, WRITE)
            blob = self._blob(db, account, filesystem, name, entry)
            conditions.check_write(blob.etag, blob.last_modified, exists=True)
            if metadata is not None:
                blob.metadata = check_metadata(metadata)
                if entry.is_directory:
                    blob.metadata.update(namespace.FOLDER_METADATA)
            if properties is not None:
                blob.properties = {k: v for k, v in properties.items() if v}
            blob.etag, blob.last_modified = new_etag(), time.time()
            if name != "":
                write_blob(db, account, blob)
        return blob

    def set_access_control(self, account: str, filesystem: str, name: str, actor: Actor, change: AccessChange,
                           conditions: Conditions) -> Blob:
        """Owner, group, permissions or ACL of one path. The ETag does not change (as recorded from Azure)."""
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            entry = namespace.existing(db, actor, account, filesystem, name)
            blob = self._blob(db, account, filesystem, name, entry)
            conditions.check_write(blob.etag, blob.last_modified, exists=True)
            self._may_change(actor, entry, change)
            if change.acl is not None:
                entry.acl = _apply(entry, change.acl, acls.set_acl)
            if change.mode is not None:
                entry.acl = acls.with_mode(entry.acl, change.mode)
                entry.sticky = bool(change.sticky)
            entry.owner = change.owner or entry.owner
            entry.group = change.group or entry.group
            namespace.write(db, account, filesystem, entry)
            blob.namespace_headers = entry.read_headers()
        return blob

    @staticmethod
    def _may_change(actor: Actor, entry: PathEntry, change: AccessChange) -> None:
        """The owner changes permissions and ACLs; only a super-user changes the owner (Microsoft's ACL page)."""
        owner_changes = change.owner is not None and change.owner != entry.owner
        group_changes = change.group is not None and change.group != entry.group
        if (owner_changes or group_changes) and not change.may_change_owner:
            # the owning user may pass the group to a group it is a member of: the emulator knows no memberships
            raise errors.authorization_permission_mismatch()
        if actor.checked and (actor.object_id or "").lower() != entry.owner.lower():
            raise errors.authorization_permission_mismatch()

    def set_access_control_recursive(self, account: str, filesystem: str, name: str, actor: Actor, mode: str,
                                     spec: list[AclEntry], continuation: str | None, max_records: int,
                                     force: bool) -> RecursiveResult:
        operation = {"set": acls.set_acl, "modify": acls.modify_acl, "remove": acls.remove_acl_entries}[mode]
        result = RecursiveResult()
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            target = namespace.existing(db, actor, account, filesystem, name)
            low, high = namespace.subtree_bounds(name)
            after = decode_token(continuation) if continuation else None
            rows = []
            if after is None:
                rows.append(target)
            start = low if after is None else max(low, after + "\x00")
            rows += [namespace.read(db, account, filesystem, r[0]) for r in db.execute(
                "SELECT name FROM storage_paths WHERE account = ? AND container = ? AND name >= ? AND name < ? "
                "ORDER BY name LIMIT ?", (account, filesystem, start, high, max_records + 1))]
            items = [r for r in rows if r is not None]
            for index, item in enumerate(items):
                if index == max_records:
                    result.continuation = encode_token(items[index - 1].name)
                    break
                try:
                    if actor.checked and (actor.object_id or "").lower() != item.owner.lower():
                        raise errors.authorization_permission_mismatch()
                    wanted = spec if item.is_directory else [e for e in spec if not e.default]
                    if wanted:
                        item.acl = _apply(item, wanted, operation)
                        namespace.write(db, account, filesystem, item)
                except errors.StorageError as exc:
                    result.failures.append({"errorMessage": exc.message, "name": item.name,
                                            "type": "DIRECTORY" if item.is_directory else "FILE"})
                    if not force:
                        result.continuation = None  # the service stops at the first failure without forceFlag
                        break
                    continue
                if item.is_directory:
                    result.directories += 1
                else:
                    result.files += 1
        return result

    # -- delete and rename -----------------------------------------------------------------------------------
    def delete(self, account: str, filesystem: str, name: str, actor: Actor, *, recursive: bool,
               conditions: Conditions) -> None:
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            entry = namespace.before_delete(db, actor, account, filesystem, name, recursive=recursive)
            blob = self._blob(db, account, filesystem, name, entry)
            conditions.check_write(blob.etag, blob.last_modified, exists=True)
            garbage = self.bodies.release_within(db, self._remove(db, account, filesystem, name))
        self.bodies.delete(garbage)

    def _bodies_of(self, db: Any, account: str, filesystem: str, name: str) -> list[str]:
        """The bodies of ``name`` and everything below it (blobs and uncommitted blocks)."""
        low, high = namespace.subtree_bounds(name)
        found = []
        for table, column in (("storage_blobs", "name"), ("storage_blocks", "blob")):
            where = f"account = ? AND container = ? AND ({column} = ? OR ({column} >= ? AND {column} < ?))"
            if table == "storage_blobs":
                found += [body for (segments,) in db.execute(f"SELECT segments FROM {table} WHERE {where}",  # noqa: S608
                                                             (account, filesystem, name, low, high))
                          for body, _ in _segments(segments)]
            else:
                found += [body for (body,) in db.execute(f"SELECT body FROM {table} WHERE {where}",  # noqa: S608
                                                         (account, filesystem, name, low, high))]
        return found

    def _remove(self, db: Any, account: str, filesystem: str, name: str) -> list[str]:
        garbage = self._bodies_of(db, account, filesystem, name)
        low, high = namespace.subtree_bounds(name)
        for table, column in (("storage_blobs", "name"), ("storage_blocks", "blob")):
            db.execute(f"DELETE FROM {table} WHERE account = ? AND container = ? AND "  # noqa: S608
                       f"({column} = ? OR ({column} >= ? AND {column} < ?))", (account, filesystem, name, low, high))
        namespace.delete_subtree(db, account, filesystem, name)
        return garbage

    def rename(self, account: str, source_fs: str, source: str, filesystem: str, name: str, actor: Actor, *,
               posix: bool, conditions: Conditions, source_conditions: Conditions) -> Blob:
        """Move ``source`` (and, for a directory, everything below it) to ``name`` in one transaction."""
        garbage: list[str] = []
        with self.store.transaction() as db:
            self._db_container(db, account, source_fs)
            self._db_container(db, account, filesystem)
            if source == "":
                raise errors.invalid_rename_source_path()
            found = namespace.walk(db, actor, account, source_fs, source)
            if found.target is None:
                raise errors.source_path_not_found()
            moved = found.target
            source_blob = self._blob(db, account, source_fs, source, moved)
            source_conditions.check_write(source_blob.etag, source_blob.last_modified, exists=True)
            parent = found.parent
            assert parent is not None
            namespace.require(actor, parent, WRITE | EXECUTE)
            namespace.require_sticky(actor, parent, moved)
            destination = self._destination(db, actor, account, source_fs, source, filesystem, name, moved, posix)
            if destination.target is not None:
                garbage = self._replace_destination(db, actor, account, filesystem, destination, moved, conditions)
            else:
                conditions.check_write(None, None, exists=False)
            self._move(db, account, source_fs, source, filesystem, destination.name)
            blob = self._blob(db, account, filesystem, destination.name, moved)
            garbage = self.bodies.release_within(db, garbage)  # small bodies' rows go in this commit
        self.bodies.delete(garbage)
        return blob

    def _destination(self, db: Any, actor: Actor, account: str, source_fs: str, source: str, filesystem: str,
                     name: str, moved: PathEntry, posix: bool) -> namespace.Walk:
        for _ in range(2):  # posix mode: once more, inside an existing destination directory
            if name == "" or (source_fs == filesystem and (name == source or name.startswith(source + "/"))):
                raise errors.invalid_rename_source_path()
            walk = namespace.walk(db, actor, account, filesystem, name)
            if walk.through_file is not None:
                raise errors.path_conflict()
            if walk.parent is None:
                raise errors.rename_destination_parent_not_found()
            namespace.require(actor, walk.parent, WRITE | EXECUTE)
            if posix and walk.target is not None and walk.target.is_directory:
                name = f"{name}/{source.rsplit('/', 1)[-1]}"
                continue
            return walk
        return walk

    def _replace_destination(self, db: Any, actor: Actor, account: str, filesystem: str, walk: namespace.Walk,
                             moved: PathEntry, conditions: Conditions) -> list[str]:
        """Legacy rename onto an existing path: a file replaces a file, a directory an empty directory."""
        assert walk.target is not None and walk.parent is not None
        existing = self._blob(db, account, filesystem, walk.name, walk.target)
        conditions.check_write(existing.etag, existing.last_modified, exists=True)
        if walk.target.is_directory != moved.is_directory:
            raise errors.invalid_source_or_destination_resource_type()
        if walk.target.is_directory and namespace.has_children(db, account, filesystem, walk.name):
            raise errors.directory_not_empty()
        namespace.require_sticky(actor, walk.parent, walk.target)
        return self._remove(db, account, filesystem, walk.name)

    @staticmethod
    def _move(db: Any, account: str, source_fs: str, source: str, filesystem: str, name: str) -> None:
        low, high = namespace.subtree_bounds(source)
        for table, column in (("storage_blobs", "name"), ("storage_blocks", "blob"), ("storage_paths", "name")):
            db.execute(f"UPDATE {table} SET container = ?, {column} = ? || substr({column}, ?) WHERE account = ? "  # noqa: S608
                       f"AND container = ? AND ({column} = ? OR ({column} >= ? AND {column} < ?))",
                       (filesystem, name, len(source) + 1, account, source_fs, source, low, high))

    # -- listing ---------------------------------------------------------------------------------------------
    def list_paths(self, account: str, filesystem: str, directory: str, recursive: bool, continuation: str | None,
                   limit: int, actor: Actor) -> tuple[list[tuple[Blob, PathEntry]], str | None]:
        """Paths below ``directory`` in name order (children only unless ``recursive``), ``limit`` per page.

        When the ACLs decide: ``r-x`` on the directory and on every directory whose children the page shows.
        """
        with self.store.transaction() as db:
            self._db_container(db, account, filesystem)
            start = namespace.existing(db, actor, account, filesystem, directory)
            if not start.is_directory:
                return [(self._blob(db, account, filesystem, directory, start), start)], None
            low, high = namespace.subtree_bounds(directory)
            after = decode_token(continuation) if continuation else ""
            query = ("SELECT name, segments, committed, size, etag, created, last_modified, properties, metadata "
                     "FROM storage_blobs WHERE account = ? AND container = ? AND name > ? AND name >= ? AND name < ?")
            if not recursive:
                query += " AND instr(substr(name, ?), '/') = 0"
            arguments: list[Any] = [account, filesystem, after, low, high]
            if not recursive:
                arguments.append(len(low) + 1)
            rows = db.execute(query + " ORDER BY name LIMIT ?", (*arguments, limit + 1)).fetchall()
            page = [blob_from_row(filesystem, row) for row in rows[:limit]]
            entries = namespace.read_many(db, account, filesystem, [b.name for b in page])
            namespace.require_listing(db, actor, account, filesystem,
                                      [directory, *(namespace.parent_of(b.name) for b in page)])
        listed = [(blob, entries[blob.name]) for blob in page if blob.name in entries]
        return listed, encode_token(page[-1].name) if len(rows) > limit else None


def _apply(entry: PathEntry, spec: list[AclEntry], operation: Any) -> list[AclEntry]:
    if not entry.is_directory and any(e.default for e in spec):
        raise errors.invalid_access_control_list("a file has no default ACL")
    try:
        return operation(entry.acl, spec)
    except AclError as exc:
        raise errors.invalid_access_control_list(str(exc)) from None


def _segments(text: str) -> list[tuple[str, int]]:
    return [tuple(s) for s in json.loads(text)]  # type: ignore[misc]
