"""The hierarchical namespace of a storage account with HNS on (Data Lake Storage Gen2).

On such an account a blob name is a path: its folders exist as directories of their own, and every
file and directory has an owner, an owning group and a POSIX ACL. This module keeps that namespace
beside the blobs (table ``storage_paths``, one row per path; ``''`` is a filesystem's root directory)
and answers the POSIX questions; the blob endpoint (through models.py) and the DFS endpoint (through
services/dfs) call it inside their own transactions, so both endpoints see, and keep, one namespace:

- a directory is also a zero-length blob with metadata ``hdi_isfolder=true`` (what List Blobs shows on
  an HNS account), so a blob listing and a DFS listing agree;
- writing a blob under ``a/b/`` creates ``a`` and ``a/b`` as directories, as Azure does for HNS accounts;
- a name is either a file or a directory: a file where a directory is (or under a file) is a conflict.

Who may do what (Microsoft, "Access control model in Azure Data Lake Storage" and "Access control
lists (ACLs) in Azure Data Lake Storage"): Azure RBAC is evaluated first, and when a role grants the
operation no ACL is looked at; otherwise the POSIX ACLs decide. An :class:`Actor` says which: ``checked``
means RBAC did not grant and ``object_id``'s entries are checked here. The rules (emulator.core.posix_acl
holds the ACL logic itself, shared with Gen1): ``x`` on every directory on the way; ``r`` to read a
file; ``r-x`` to list a directory; ``w`` to write or append to a file (the "Levels of permission" table:
W "can write or append to a file"); ``-wx`` on the parent to create or delete (no bits on the item
itself); a recursive delete also needs ``rwx`` on the directory and every directory in it; with the
sticky bit only the item's or the directory's owner may delete or rename. New items: the creator owns
them, the owning group is the parent's, the ACL comes from the parent's default ACL (its umask is the
fixed ``007``) or, without one, from the mode (``0777`` directories, ``0666`` files) and ``x-ms-umask``
(default ``0027``), REST reference "Path - Create".
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.core import posix_acl as acls
from emulator.core.posix_acl import EXECUTE, READ, WRITE, AclEntry

from . import errors
from .rows import Blob, new_etag, read_blob, write_blob

SUPERUSER = "$superuser"  # owner and group of what Shared Key or a SAS creates (and of the seeded world)
DIRECTORY_MODE = 0o777
FILE_MODE = 0o666
DEFAULT_UMASK = 0o027  # x-ms-umask when the request has none (REST reference, Path - Create)
INHERITED_UMASK = 0o007  # applied to what a default ACL hands down: "other" gets nothing
ROOT_MODE = 0o750  # a new filesystem's root: rwxr-x---
FOLDER_METADATA = {"hdi_isfolder": "true"}  # how a directory looks through the blob API
TOP = "\U0010ffff"  # sorts after every character: name + TOP bounds a prefix range in SQLite's BINARY order

SCHEMA = """
CREATE TABLE IF NOT EXISTS storage_paths (
    account TEXT NOT NULL, container TEXT NOT NULL,
    name TEXT NOT NULL,                -- '' for the filesystem's root, else 'dir/sub/file.txt'
    is_directory INTEGER NOT NULL, owner TEXT NOT NULL, owning_group TEXT NOT NULL,
    acl TEXT NOT NULL,                 -- access and default entries: 'user::rwx,group::r-x,other::---'
    sticky INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, container, name));
"""
_COLUMNS = "name, is_directory, owner, owning_group, acl, sticky"


@dataclass(frozen=True)
class Actor:
    """Who asks, as far as POSIX ACLs are concerned."""

    object_id: str | None = None  # the token's oid (or a user delegation SAS's principal); None: key or SAS
    checked: bool = False  # RBAC did not grant the operation: the ACLs decide for object_id
    # RBAC grants reading every path (blobs/read): the way to a path is open, only the operation's own bits are
    # checked (a Contributor changes the ACL of a file it owns without x entries on the folders above it)
    traverses: bool = False

    @property
    def owner(self) -> str:
        """Who owns what this actor creates."""
        return self.object_id or SUPERUSER


UNCHECKED = Actor()


@dataclass
class PathEntry:
    name: str
    is_directory: bool
    owner: str
    group: str
    acl: list[AclEntry]
    sticky: bool = False

    @property
    def permissions(self) -> str:
        """``rwxr-x---`` (the sticky bit as ``t``/``T`` in the last place), what x-ms-permissions shows."""
        mode = acls.mode_bits(self.acl)
        text = "".join(acls.perm_text((mode >> shift) & 7) for shift in (6, 3, 0))
        if self.sticky:
            text = text[:8] + ("t" if mode & 1 else "T")
        return text

    def headers(self, *, with_acl: bool = True) -> dict[str, str]:
        found = {"x-ms-owner": self.owner, "x-ms-group": self.group, "x-ms-permissions": self.permissions}
        if with_acl:
            found["x-ms-acl"] = acls.format_entries(self.acl)
        return found

    @property
    def resource_type(self) -> str:
        return "directory" if self.is_directory else "file"

    def read_headers(self) -> dict[str, str]:
        """What Get Blob / Get Blob Properties add on an HNS account (as recorded from Azure, 2024-02-04)."""
        return {"x-ms-resource-type": self.resource_type, **self.headers()}

    def permitted(self, actor: Actor, wanted: int) -> bool:
        if not actor.checked or wanted == 0:
            return True
        assert actor.object_id is not None
        # Group entries never match: the emulator knows no Entra group memberships (a managed identity has none
        # here), and the owning group is a group id even when it equals the creator's object id.
        return acls.permitted(self.acl, self.owner, actor.object_id, wanted, owning_group=self.group)


# -- names ------------------------------------------------------------------------------------------------
def normalize(path: str) -> str:
    """``a/./b/../c`` → ``a/c``; empty segments dropped; ``''`` is the root. A ``..`` above the root is refused.

    Azure resolves dot segments in DFS paths (a recorded create of ``dir/./adir/../anotherdir/.././sub`` listed
    as ``dir/sub`` in azure-sdk-for-js's recordings).
    """
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise errors.invalid_resource_name()
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def parent_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def ancestors(name: str) -> list[str]:
    """The directories above ``name``, root first: ``['', 'a', 'a/b']`` for ``a/b/c``; none for the root."""
    if name == "":
        return []
    parts = name.split("/")
    return [""] + ["/".join(parts[:i]) for i in range(1, len(parts))]


def subtree_bounds(name: str) -> tuple[str, str]:
    """(low, high) such that every path strictly below ``name`` has low <= path < high."""
    prefix = f"{name}/" if name else ""
    return prefix, prefix + TOP


# -- rows -------------------------------------------------------------------------------------------------
def _entry(row: Any) -> PathEntry:
    return PathEntry(row[0], bool(row[1]), row[2], row[3], acls.parse_spec(row[4]), bool(row[5]))


def read(db: Any, account: str, container: str, name: str) -> PathEntry | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM storage_paths WHERE account = ? AND container = ? AND name = ?",  # noqa: S608
                     (account, container, name)).fetchone()
    return _entry(row) if row else None


def read_many(db: Any, account: str, container: str, names: Iterable[str]) -> dict[str, PathEntry]:
    wanted = list(dict.fromkeys(names))
    found: dict[str, PathEntry] = {}
    for start in range(0, len(wanted), 500):  # SQLite's limit on host parameters is far above; keep queries short
        batch = wanted[start:start + 500]
        marks = ",".join("?" * len(batch))
        for row in db.execute(f"SELECT {_COLUMNS} FROM storage_paths WHERE account = ? AND container = ? "  # noqa: S608
                              f"AND name IN ({marks})", (account, container, *batch)):
            found[row[0]] = _entry(row)
    return found


def write(db: Any, account: str, container: str, entry: PathEntry) -> None:
    db.execute("INSERT OR REPLACE INTO storage_paths VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (account, container, entry.name, int(entry.is_directory), entry.owner, entry.group,
                acls.format_entries(entry.acl), int(entry.sticky)))


def delete_subtree(db: Any, account: str, container: str, name: str, *, including_self: bool = True) -> None:
    low, high = subtree_bounds(name)
    db.execute("DELETE FROM storage_paths WHERE account = ? AND container = ? AND name >= ? AND name < ?",
               (account, container, low, high))
    if including_self:
        db.execute("DELETE FROM storage_paths WHERE account = ? AND container = ? AND name = ?",
                   (account, container, name))


def delete_container(db: Any, account: str, container: str) -> None:
    db.execute("DELETE FROM storage_paths WHERE account = ? AND container = ?", (account, container))


def has_children(db: Any, account: str, container: str, name: str) -> bool:
    low, high = subtree_bounds(name)
    return db.execute("SELECT 1 FROM storage_blobs WHERE account = ? AND container = ? AND name >= ? AND name < ? "
                      "LIMIT 1", (account, container, low, high)).fetchone() is not None


def create_root(db: Any, account: str, container: str, owner: str) -> PathEntry:
    """A new filesystem's root: the creator (an OAuth caller's oid, else $superuser) owns it and is its group."""
    root = PathEntry("", True, owner, owner, acls.minimal(ROOT_MODE))
    write(db, account, container, root)
    return root


# -- the POSIX checks -------------------------------------------------------------------------------------
@dataclass
class Walk:
    """A path resolved from the root: the existing directories above it and the path itself."""

    name: str
    above: list[PathEntry]  # existing ancestors, root first, up to the first missing one
    target: PathEntry | None
    through_file: PathEntry | None = None  # a file where a directory was needed

    @property
    def parent(self) -> PathEntry | None:
        """The directory that holds ``name``, when it exists."""
        if self.through_file is not None or len(self.above) != len(ancestors(self.name)):
            return None
        return self.above[-1] if self.above else None


def walk(db: Any, actor: Actor, account: str, container: str, name: str) -> Walk:
    """Resolve ``name``, checking ``x`` on each existing directory on the way (HDFS refuses there first)."""
    chain = ancestors(name)
    entries = read_many(db, account, container, [*chain, name])
    above: list[PathEntry] = []
    for ancestor in chain:
        entry = entries.get(ancestor)
        if entry is None:
            return Walk(name, above, None)
        if not entry.is_directory:
            return Walk(name, above, None, through_file=entry)
        if not actor.traverses:
            require(actor, entry, EXECUTE)
        above.append(entry)
    return Walk(name, above, entries.get(name))


def require(actor: Actor, entry: PathEntry, wanted: int) -> None:
    if not entry.permitted(actor, wanted):
        raise errors.authorization_permission_mismatch()


def require_sticky(actor: Actor, parent: PathEntry, item: PathEntry) -> None:
    """A sticky directory lets only its owner or the item's owner delete or rename in it."""
    if actor.checked and parent.sticky and (actor.object_id or "").lower() not in (parent.owner.lower(),
                                                                                   item.owner.lower()):
        raise errors.authorization_permission_mismatch()


def existing(db: Any, actor: Actor, account: str, container: str, name: str, wanted: int = 0) -> PathEntry:
    """The path (404 when missing), after the traverse checks and ``wanted`` bits on it."""
    found = walk(db, actor, account, container, name)
    if found.target is None:
        raise errors.blob_not_found()
    require(actor, found.target, wanted)
    return found.target


def require_listing(db: Any, actor: Actor, account: str, container: str, directories: Iterable[str]) -> None:
    """``r-x`` on each directory whose children a listing shows, and ``x`` on the way to each."""
    if not actor.checked:
        return
    seen: set[str] = set()
    for directory in directories:
        if directory in seen:
            continue
        seen.add(directory)
        target = walk(db, actor, account, container, directory).target
        if target is not None:
            require(actor, target, READ | EXECUTE)


def child_entry(parent: PathEntry, name: str, *, directory: bool, owner: str, mode: int | None = None,
                umask: int | None = None, sticky: bool = False) -> PathEntry:
    """A new item's entry: parent's default ACL (umask 007) if it has one, else the mode through the umask."""
    requested = (DIRECTORY_MODE if directory else FILE_MODE) if mode is None else mode
    if acls.default_entries(parent.acl):
        acl = acls.child_acl(parent.acl, directory=directory, mode=requested & ~INHERITED_UMASK)
    else:
        acl = acls.minimal(requested & ~(DEFAULT_UMASK if umask is None else umask))
    return PathEntry(name, directory, owner, parent.group, acl, sticky)


def directory_blob(container: str, name: str, now: float) -> Blob:
    return Blob(container, name, [], [], 0, new_etag(), now, now, {}, dict(FOLDER_METADATA))


def make_parents(db: Any, actor: Actor, account: str, container: str, found: Walk, now: float) -> PathEntry:
    """Create the missing directories above ``found.name`` (``-wx`` on the deepest existing one); return its parent.

    The new directories belong to the actor, so nothing is checked on them (HDFS gives new parents u+wx too).
    """
    if found.through_file is not None:
        raise errors.path_conflict()
    chain = ancestors(found.name)
    if not found.above:  # the root row is missing: a container made before HNS rows existed (or by a seed)
        parent = create_root(db, account, container, SUPERUSER)
        found.above.append(parent)
    parent = found.above[-1]
    require(actor, parent, WRITE | EXECUTE)  # creating in it: the target itself, or its first missing folder
    for name in chain[len(found.above):]:
        if read_blob(db, account, container, name) is not None:  # a blob of that name without a path row
            raise errors.path_conflict()
        entry = child_entry(parent, name, directory=True, owner=actor.owner)
        write(db, account, container, entry)
        write_blob(db, account, directory_blob(container, name, now))
        parent = entry
    return parent


# -- what the blob API does to the namespace ----------------------------------------------------------------
def before_file_write(db: Any, actor: Actor, account: str, container: str, name: str,
                      now: float | None = None) -> None:
    """A blob write (Put Blob, Put Block List) on an HNS account: parents made, the file's entry made or checked.

    A new file needs ``-wx`` on its folder; replacing an existing one needs ``w`` on the file.
    """
    found = walk(db, actor, account, container, name)
    if found.target is not None:
        if found.target.is_directory:
            raise errors.path_conflict()
        require(actor, found.target, WRITE)
        return
    parent = make_parents(db, actor, account, container, found, time.time() if now is None else now)
    write(db, account, container, child_entry(parent, name, directory=False, owner=actor.owner))


def check_file_write(db: Any, actor: Actor, account: str, container: str, name: str) -> None:
    """The same checks as :func:`before_file_write`, changing nothing (before a large body is read)."""
    if not actor.checked:
        return
    found = walk(db, actor, account, container, name)
    if found.target is not None:
        require(actor, found.target, WRITE)
    elif found.above and found.through_file is None:
        require(actor, found.above[-1], WRITE | EXECUTE)


def before_delete(db: Any, actor: Actor, account: str, container: str, name: str, *, recursive: bool) -> PathEntry:
    """Deleting ``name``: ``-wx`` on its folder, the sticky bit, and for a directory emptiness or ``recursive``."""
    if name == "":
        raise errors.invalid_uri("/")  # the root directory of a filesystem can never be deleted
    found = walk(db, actor, account, container, name)
    if found.target is None:
        raise errors.blob_not_found()
    parent = found.parent
    if parent is not None:
        require(actor, parent, WRITE | EXECUTE)
        require_sticky(actor, parent, found.target)
    if found.target.is_directory and has_children(db, account, container, name):
        if not recursive:
            raise errors.directory_not_empty()
        if actor.checked:  # Microsoft's ACL FAQ: rwx on the directory and on every directory inside it
            require(actor, found.target, READ | WRITE | EXECUTE)
            low, high = subtree_bounds(name)
            for row in db.execute(f"SELECT {_COLUMNS} FROM storage_paths WHERE account = ? AND container = ? "  # noqa: S608
                                  "AND name >= ? AND name < ? AND is_directory = 1", (account, container, low, high)):
                require(actor, _entry(row), READ | WRITE | EXECUTE)
    return found.target


def backfill(db: Any, account: str, container: str) -> None:
    """Path rows for blobs that have none (a data dir written before the namespace existed): $superuser's."""
    if read(db, account, container, "") is None:
        create_root(db, account, container, SUPERUSER)
    names = [row[0] for row in db.execute(
        "SELECT b.name FROM storage_blobs b LEFT JOIN storage_paths p ON p.account = b.account AND "
        "p.container = b.container AND p.name = b.name WHERE b.account = ? AND b.container = ? AND p.name IS NULL "
        "ORDER BY b.name", (account, container))]
    for name in names:
        if read(db, account, container, name) is None:  # made meanwhile as a parent of an earlier name
            try:
                before_file_write(db, UNCHECKED, account, container, name)
            except errors.StorageError:  # a file under a file: leave the odd blob as it is
                continue
