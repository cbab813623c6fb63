"""Data Lake Storage Gen1 state and rules: the namespace (SQLite), POSIX ACLs, who may do what.

Every operation walks the path from the root the way HDFS does: execute on each existing ancestor
to traverse (an ancestor without it is refused before anything about the target shows), then the
operation's own bits (Microsoft, "Access control in Azure Data Lake Storage Gen1"):
- read a file: r on it; list a folder: r-x on it; append: w on the file;
- create or delete: -wx on the parent (no bits on the file itself); a recursive delete also
  rwx on the folder and every folder inside it;
- change an ACL or the permission: the owner or a super-user; change the owner: a super-user.
A super-user is whoever holds Owner on the account (Azure RBAC: Superuser/action and
roleAssignments/write) and passes every check.

New files and folders get the caller as owner, the parent's owning group, and an ACL from the
parent's default ACL (emulator.core.posix_acl), through Gen1's fixed umask 007.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.core import posix_acl as acls
from emulator.core.context import EmulatorContext
from emulator.core.posix_acl import EXECUTE, READ, WRITE, AclEntry, AclError

from . import errors
from .bodies import BodyStore, Upload

ACCOUNT_TYPE = "Microsoft.DataLakeStore/accounts"
SUPERUSER_ACTIONS = ("Microsoft.DataLakeStore/accounts/Superuser/action",
                     "Microsoft.Authorization/roleAssignments/write")
UMASK = 0o007  # Gen1's account-wide umask: removes every bit of "other" on new items; it cannot be changed
DEFAULT_MODE = 0o777
FILE_BLOCK_SIZE = 268435456  # what Gen1 reported for files (directories: 0)

SCHEMA = """
CREATE TABLE IF NOT EXISTS adls_gen1_items (
    account TEXT NOT NULL,
    path TEXT NOT NULL,                  -- '/', '/TestFolder', '/TestFolder/hello_world.txt'
    parent TEXT NOT NULL,                -- '' for the root
    name TEXT NOT NULL,
    kind TEXT NOT NULL,                  -- FILE or DIRECTORY
    owner TEXT NOT NULL,
    owning_group TEXT NOT NULL,
    acl TEXT NOT NULL,                   -- every entry, access and default: 'user::rwx,group::rwx,other::---'
    sticky INTEGER NOT NULL DEFAULT 0,
    length INTEGER NOT NULL DEFAULT 0,
    body TEXT,                           -- the body's generated id (bodies.py); NULL while empty
    modified INTEGER NOT NULL,
    accessed INTEGER NOT NULL,
    PRIMARY KEY (account, path)
);
CREATE INDEX IF NOT EXISTS adls_gen1_children ON adls_gen1_items(account, parent, name);
"""
_COLUMNS = "path, kind, owner, owning_group, acl, sticky, length, body, modified, accessed"


def now_ms() -> int:
    return int(time.time() * 1000)


def join(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def parent_of(path: str) -> str:
    if path == "/":
        return ""
    return path.rsplit("/", 1)[0] or "/"


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[1] if path != "/" else ""


@dataclass(frozen=True)
class Caller:
    object_id: str
    superuser: bool


@dataclass
class Item:
    path: str
    kind: str
    owner: str
    group: str
    acl: list[AclEntry]
    sticky: bool
    length: int
    body: str | None
    modified: int
    accessed: int

    @property
    def is_dir(self) -> bool:
        return self.kind == "DIRECTORY"

    @property
    def permission(self) -> str:
        """Octal, as Gen1 wrote it: '770', '1770' with the sticky bit."""
        mode = acls.mode_bits(self.acl)
        return f"{'1' if self.sticky else ''}{mode:03o}"

    def status(self, suffix: str) -> dict[str, Any]:
        """A FileStatus object (field order and values as Gen1 answered)."""
        body: dict[str, Any] = {
            "length": self.length, "pathSuffix": suffix, "type": self.kind,
            "blockSize": 0 if self.is_dir else FILE_BLOCK_SIZE, "accessTime": self.accessed,
            "modificationTime": self.modified, "replication": 0 if self.is_dir else 1,
            "permission": self.permission, "owner": self.owner, "group": self.group,
        }
        if not self.is_dir:
            body["msExpirationTime"] = 0
        body["aclBit"] = acls.has_extended(self.acl)
        return body


@dataclass
class Walk:
    """A path resolved from the root: the folders above the target that exist, and the target."""

    ancestors: list[Item]  # existing folders from the root down (each already checked for traverse)
    target: Item | None
    through_file: Item | None = None  # a file met where a folder was needed

    @property
    def deepest(self) -> Item:
        return self.ancestors[-1]


class DataLakeGen1:
    """One Gen1 account: the world's first (world.json "dataLakeGen1")."""

    def __init__(self, context: EmulatorContext) -> None:
        self.context = context
        self.store = context.store
        world = context.world
        self.spec = (world.extra.get("dataLakeGen1", {}).get("accounts") or [{"name": "miworkbookadls"}])[0]
        self.account: str = self.spec["name"]
        resource_group = self.spec.get("resourceGroup", world.vm["resourceGroup"])
        self.account_id = f"{world.resource_group_id(resource_group)}/providers/{ACCOUNT_TYPE}/{self.account}"
        self.admin_id = str(world.admin["objectId"])
        self.store.ensure_table(SCHEMA)
        in_memory = context.settings.in_memory
        self.bodies = BodyStore(None if in_memory else Path(context.settings.data_dir) / "datalake")
        if not in_memory:
            self.bodies.sweep(self._referenced_bodies())
        self.closed = False

    # -- seeding ---------------------------------------------------------------------------------
    def seed(self) -> None:
        """The declared world: the root and folders owned by the admin, files with their contents."""
        self.bodies.clear()
        stamp = now_ms()
        root = Item("/", "DIRECTORY", self.admin_id, self.admin_id, acls.minimal(DEFAULT_MODE & ~UMASK), False, 0,
                    None, stamp, stamp)
        with self.store.transaction() as db:
            db.execute("DELETE FROM adls_gen1_items WHERE account = ?", (self.account,))
            self._insert(db, root)
            for folder in self.spec.get("folders", []):
                parent = root
                for name in [p for p in folder["path"].split("/") if p]:
                    path = join(parent.path, name)
                    parent = self._get(db, path) or self._insert(db, self._new_item(
                        parent, path, "DIRECTORY", self.admin_id, DEFAULT_MODE, stamp))
                for spec in folder.get("files", []):
                    content = spec.get("content", "").encode("utf-8")
                    item = self._new_item(parent, join(parent.path, spec["name"]), "FILE", self.admin_id,
                                          DEFAULT_MODE, stamp)
                    item.length, item.body = len(content), self.bodies.write_whole(content) if content else None
                    self._insert(db, item)

    def _referenced_bodies(self) -> set[str]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT body FROM adls_gen1_items WHERE body IS NOT NULL").fetchall()
        return {r[0] for r in rows}

    def close(self) -> None:
        self.closed = True
        self.bodies.close()

    # -- rows --------------------------------------------------------------------------------------
    def _row_item(self, row: tuple[Any, ...]) -> Item:
        path, kind, owner, group, acl, sticky, length, body, modified, accessed = row
        return Item(path, kind, owner, group, acls.parse_spec(acl), bool(sticky), length, body, modified, accessed)

    def _get(self, db: Any, path: str) -> Item | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM adls_gen1_items WHERE account = ? AND path = ?",
                         (self.account, path)).fetchone()
        return self._row_item(row) if row else None

    def _children(self, db: Any, path: str, after: str | None = None, limit: int = -1) -> list[Item]:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM adls_gen1_items WHERE account = ? AND parent = ? AND name > ? "
            "ORDER BY name LIMIT ?", (self.account, path, after or "", limit)).fetchall()
        return [self._row_item(r) for r in rows]

    def _subtree(self, db: Any, path: str) -> list[Item]:
        """The item and everything below it (prefix compared exactly: paths are case-sensitive)."""
        prefix = path.rstrip("/") + "/"
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM adls_gen1_items WHERE account = ? AND "
            "(path = ? OR substr(path, 1, ?) = ?) ORDER BY path", (self.account, path, len(prefix), prefix)).fetchall()
        return [self._row_item(r) for r in rows]

    def _insert(self, db: Any, item: Item) -> Item:
        db.execute(
            "INSERT OR REPLACE INTO adls_gen1_items (account, path, parent, name, kind, owner, owning_group, acl, "
            "sticky, length, body, modified, accessed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.account, item.path, parent_of(item.path), name_of(item.path), item.kind, item.owner, item.group,
             acls.format_entries(item.acl), int(item.sticky), item.length, item.body, item.modified, item.accessed))
        return item

    def _update(self, db: Any, item: Item) -> None:
        db.execute("UPDATE adls_gen1_items SET owner = ?, owning_group = ?, acl = ?, sticky = ?, length = ?, "
                   "body = ?, modified = ? WHERE account = ? AND path = ?",
                   (item.owner, item.group, acls.format_entries(item.acl), int(item.sticky), item.length,
                    item.body, item.modified, self.account, item.path))

    @staticmethod
    def _new_item(parent: Item, path: str, kind: str, owner: str, mode: int, stamp: int) -> Item:
        acl = acls.child_acl(parent.acl, directory=kind == "DIRECTORY", mode=mode & ~UMASK)
        return Item(path, kind, owner, parent.group, acl, False, 0, None, stamp, stamp)

    # -- authorization ----------------------------------------------------------------------------
    def caller(self, object_id: str) -> Caller:
        rbac = self.context.rbac
        superuser = all(rbac.is_allowed(object_id, action, self.account_id) for action in SUPERUSER_ACTIONS)
        return Caller(object_id, superuser)

    @staticmethod
    def _allowed(caller: Caller, item: Item, wanted: int) -> bool:
        return caller.superuser or acls.permitted(item.acl, item.owner, caller.object_id, wanted,
                                                  owning_group=item.group)

    def _require(self, caller: Caller, item: Item, wanted: int, op: str) -> None:
        if not self._allowed(caller, item, wanted):
            raise errors.access_denied(op)

    def _walk(self, db: Any, caller: Caller, path: str, op: str) -> Walk:
        root = self._get(db, "/")
        assert root is not None, "the account has no root: the world was not seeded"
        if path == "/":
            return Walk([], root)
        ancestors, current = [root], root
        names = path.strip("/").split("/")
        for index, name in enumerate(names):
            if not current.is_dir:
                return Walk(ancestors[:-1], None, through_file=current)
            self._require(caller, current, EXECUTE, op)
            child = self._get(db, join(current.path, name))
            if child is None:
                return Walk(ancestors, None)
            if index == len(names) - 1:
                return Walk(ancestors, child)
            ancestors.append(child)
            current = child
        raise AssertionError("unreachable")

    def _existing(self, db: Any, caller: Caller, path: str, op: str) -> Walk:
        walk = self._walk(db, caller, path, op)
        if walk.target is None:
            raise errors.file_not_found(path)
        return walk

    def _check_sticky(self, caller: Caller, parent: Item, item: Item, op: str) -> None:
        """A sticky folder lets only its owner, the item's owner or a super-user delete or rename in it."""
        if parent.sticky and not caller.superuser and caller.object_id.lower() not in (
                parent.owner.lower(), item.owner.lower()):
            raise errors.access_denied(op)

    # -- reading ---------------------------------------------------------------------------------
    def status(self, caller: Caller, path: str, op: str = "GETFILESTATUS") -> Item:
        with self.store.transaction() as db:
            walk = self._existing(db, caller, path, op)
        assert walk.target is not None
        return walk.target

    def list_status(self, caller: Caller, path: str, size: int | None, after: str | None
                    ) -> tuple[list[tuple[str, Item]], bool]:
        """(suffix, item) pairs in name order and whether more follow."""
        with self.store.transaction() as db:
            target = self._existing(db, caller, path, "LISTSTATUS").target
            assert target is not None
            if not target.is_dir:
                return [("", target)], False
            self._require(caller, target, READ | EXECUTE, "LISTSTATUS")
            children = self._children(db, target.path, after, -1 if size is None else size + 1)
        more = size is not None and len(children) > size
        return [(name_of(c.path), c) for c in children[:size]], more

    def content_summary(self, caller: Caller, path: str) -> dict[str, int]:
        with self.store.transaction() as db:
            target = self._existing(db, caller, path, "GETCONTENTSUMMARY").target
            assert target is not None
            items = self._subtree(db, target.path)
        for item in items:
            if item.is_dir:
                self._require(caller, item, READ | EXECUTE, "GETCONTENTSUMMARY")
        length = sum(i.length for i in items)
        return {"directoryCount": sum(1 for i in items if i.is_dir), "fileCount": sum(1 for i in items if not i.is_dir),
                "length": length, "quota": -1, "spaceConsumed": length, "spaceQuota": -1}

    def open(self, caller: Caller, path: str, offset: int, length: int | None) -> tuple[Item, int]:
        """The file and how many bytes to send from ``offset``."""
        with self.store.transaction() as db:
            item = self._existing(db, caller, path, "OPEN").target
        assert item is not None
        if item.is_dir:
            raise errors.not_a_file(path)
        self._require(caller, item, READ, "OPEN")
        if offset > item.length:
            raise errors.bad_offset("OPEN", f"The offset {offset} is past the end of the file ({item.length} bytes).")
        available = item.length - offset
        return item, available if length is None else min(length, available)

    def check_access(self, caller: Caller, path: str, wanted: int) -> None:
        with self.store.transaction() as db:
            item = self._existing(db, caller, path, "CHECKACCESS").target
        assert item is not None
        self._require(caller, item, wanted, "CHECKACCESS")

    # -- creating ----------------------------------------------------------------------------------
    def mkdirs(self, caller: Caller, path: str, mode: int) -> bool:
        with self.store.transaction() as db:
            walk = self._walk(db, caller, path, "MKDIRS")
            if walk.through_file is not None:
                raise errors.parent_not_directory(walk.through_file.path)
            if walk.target is not None:
                if walk.target.is_dir:
                    return True
                raise errors.file_already_exists(path, "exists and is not a directory")
            self._require(caller, walk.deepest, WRITE | EXECUTE, "MKDIRS")
            self._make_parents(db, caller, walk.deepest, path, mode, include_last=True)
        return True

    def _make_parents(self, db: Any, caller: Caller, deepest: Item, path: str, mode: int,
                      include_last: bool) -> Item:
        """Create the folders between ``deepest`` and ``path`` (and ``path`` itself if asked)."""
        names = path[len(deepest.path.rstrip("/")) + 1:].split("/")
        parent, stamp = deepest, now_ms()
        for name in names if include_last else names[:-1]:
            parent = self._insert(db, self._new_item(parent, join(parent.path, name), "DIRECTORY", caller.object_id,
                                                     mode, stamp))
        return parent

    def check_create(self, caller: Caller, path: str, overwrite: bool) -> None:
        """Refuse a CREATE before its body is read (the same checks run again when it is kept)."""
        with self.store.transaction() as db:
            self._plan_create(db, caller, path, overwrite)

    def _plan_create(self, db: Any, caller: Caller, path: str, overwrite: bool) -> Walk:
        if path == "/":
            raise errors.file_already_exists(path, "is the root folder")
        walk = self._walk(db, caller, path, "CREATE")
        if walk.through_file is not None:
            raise errors.parent_not_directory(walk.through_file.path)
        if walk.target is not None:
            if walk.target.is_dir:
                raise errors.file_already_exists(path, "already exists as a directory")
            if not overwrite:
                raise errors.file_already_exists(path, "already exists (use overwrite=true to replace it)")
            self._check_sticky(caller, walk.deepest, walk.target, "CREATE")
        self._require(caller, walk.deepest, WRITE | EXECUTE, "CREATE")
        return walk

    def create(self, caller: Caller, path: str, overwrite: bool, mode: int, upload: Upload | None) -> None:
        body = self.bodies.keep(upload) if upload is not None and upload.size else None
        if upload is not None and not upload.size:
            upload.abort()
        replaced: str | None = None
        try:
            with self.store.transaction() as db:
                walk = self._plan_create(db, caller, path, overwrite)
                replaced = walk.target.body if walk.target is not None else None
                parent = self._make_parents(db, caller, walk.deepest, path, mode, include_last=False)
                item = self._new_item(parent, path, "FILE", caller.object_id, mode, now_ms())
                item.length, item.body = (upload.size if body else 0), body
                self._insert(db, item)
        except BaseException:
            self.bodies.discard([body])
            raise
        self.bodies.discard([replaced])

    def check_append(self, caller: Caller, path: str, offset: int | None) -> None:
        with self.store.transaction() as db:
            self._plan_append(db, caller, path, offset)

    def _plan_append(self, db: Any, caller: Caller, path: str, offset: int | None) -> Item:
        item = self._existing(db, caller, path, "APPEND").target
        assert item is not None
        if item.is_dir:
            raise errors.not_a_file(path)
        self._require(caller, item, WRITE, "APPEND")
        if offset is not None and offset != item.length:
            raise errors.bad_offset("APPEND", f"The file is {item.length} bytes long; an append must start there, "
                                              f"not at {offset}.")
        return item

    def append(self, caller: Caller, path: str, offset: int | None, upload: Upload) -> None:
        with self.store.transaction() as db:
            item = self._plan_append(db, caller, path, offset)
            if upload.size:
                if item.body is None:
                    item.body = self.bodies.keep(upload)
                else:  # bytes past the recorded length (a failed earlier append) are cut off first
                    self.bodies.append(item.body, item.length, upload)
                item.length += upload.size
            else:
                upload.abort()
            item.modified = now_ms()
            self._update(db, item)

    # -- deleting and renaming ------------------------------------------------------------------------
    def delete(self, caller: Caller, path: str, recursive: bool) -> bool:
        if path == "/":
            return False  # "the root folder can never be deleted"
        with self.store.transaction() as db:
            walk = self._walk(db, caller, path, "DELETE")
            item = walk.target
            if item is None:
                return False
            self._require(caller, walk.deepest, WRITE | EXECUTE, "DELETE")
            self._check_sticky(caller, walk.deepest, item, "DELETE")
            doomed = self._subtree(db, path) if item.is_dir else [item]
            if len(doomed) > 1:
                if not recursive:
                    raise errors.directory_not_empty(path)
                for folder in doomed:  # Gen1: rwx on the folder and on every folder inside it
                    if folder.is_dir:
                        self._require(caller, folder, READ | WRITE | EXECUTE, "DELETE")
            db.executemany("DELETE FROM adls_gen1_items WHERE account = ? AND path = ?",
                           [(self.account, i.path) for i in doomed])
        self.bodies.discard(i.body for i in doomed)
        return True

    def rename(self, caller: Caller, source: str, destination: str) -> bool:
        """HDFS's rename: false (not an error) when the source is missing or the destination is taken."""
        if source == "/":
            return False
        with self.store.transaction() as db:
            src = self._walk(db, caller, source, "RENAME")
            if src.target is None:
                return False
            self._require(caller, src.deepest, WRITE | EXECUTE, "RENAME")
            self._check_sticky(caller, src.deepest, src.target, "RENAME")
            dst = self._walk(db, caller, destination, "RENAME")
            if dst.target is not None and dst.target.is_dir and destination != source:
                destination = join(destination, name_of(source))
                dst = self._walk(db, caller, destination, "RENAME")
            if destination == source:
                return True
            if dst.target is not None or dst.through_file is not None or dst.deepest.path != parent_of(destination):
                return False
            if destination.startswith(source.rstrip("/") + "/"):
                return False  # into its own subtree
            self._require(caller, dst.deepest, WRITE | EXECUTE, "RENAME")
            stamp = now_ms()
            for item in self._subtree(db, source):
                new_path = destination + item.path[len(source):]
                db.execute("UPDATE adls_gen1_items SET path = ?, parent = ?, name = ?, modified = "
                           "CASE WHEN path = ? THEN ? ELSE modified END WHERE account = ? AND path = ?",
                           (new_path, parent_of(new_path), name_of(new_path), source, stamp, self.account, item.path))
        return True

    # -- permissions and ACLs -------------------------------------------------------------------------
    def _owner_or_superuser(self, caller: Caller, item: Item, op: str) -> None:
        if not (caller.superuser or caller.object_id.lower() == item.owner.lower()):
            raise errors.access_denied(op)

    def _change(self, caller: Caller, path: str, op: str, change: Callable[[Item], None],
                allowed: Callable[[Caller, Item, str], None] | None = None) -> None:
        with self.store.transaction() as db:
            item = self._existing(db, caller, path, op).target
            assert item is not None
            (allowed or self._owner_or_superuser)(caller, item, op)
            change(item)
            if not item.is_dir and acls.default_entries(item.acl):
                raise errors.invalid_acl("Invalid ACL: only directories may have a default ACL.")
            self._update(db, item)

    def change_acl(self, caller: Caller, path: str, op: str,
                   transform: Callable[[list[AclEntry]], list[AclEntry]]) -> None:
        def apply(item: Item) -> None:
            try:
                item.acl = transform(item.acl)
            except AclError as exc:
                raise errors.invalid_acl(str(exc)) from None
        self._change(caller, path, op, apply)

    def set_permission(self, caller: Caller, path: str, mode: int) -> None:
        def apply(item: Item) -> None:
            item.acl = acls.with_mode(item.acl, mode & 0o777)
            item.sticky = bool(mode & 0o1000)
        self._change(caller, path, "SETPERMISSION", apply)

    def set_owner(self, caller: Caller, path: str, owner: str | None, group: str | None) -> None:
        def only_superuser(who: Caller, _item: Item, op: str) -> None:
            # Only a super-user changes the owner; an owner may change the group only to one they belong
            # to, and principals here belong to no Entra group.
            if not who.superuser:
                raise errors.access_denied(op)

        def apply(item: Item) -> None:
            item.owner = owner or item.owner
            item.group = group or item.group
        self._change(caller, path, "SETOWNER", apply, only_superuser)


_LAKES: dict[int, tuple[EmulatorContext, DataLakeGen1]] = {}
_LAKES_LOCK = threading.Lock()


def lake_for(context: EmulatorContext) -> DataLakeGen1:
    """The one Gen1 account model of an emulator (shared by its listener, seeder and reset)."""
    with _LAKES_LOCK:
        found = _LAKES.get(id(context))
        if found is None or found[0] is not context or found[1].closed:
            found = (context, DataLakeGen1(context))
            _LAKES[id(context)] = found
        return found[1]
