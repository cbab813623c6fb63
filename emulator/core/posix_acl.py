"""POSIX access control lists as HDFS defines them (and Data Lake Storage Gen1 and Gen2 follow).

Pure logic, no I/O: parse ACL specs (``user::rwx,user:<oid>:r-x,default:group::r-x``), apply the
four ACL operations (set, modify, remove entries, remove the default ACL), recalculate the mask,
derive the permission bits, build a new child's ACL from its parent's default ACL, and answer the
access check. Services keep the entries (as the spec string) and decide who may call what.

Facts followed (Hadoop "HDFS Permissions Guide", WebHDFS REST API; Microsoft "Access control in
Azure Data Lake Storage Gen1"; recorded Gen1 answers in the azure-datalake-store SDK's tests):
- an ACL always has ``user::``, ``group::`` and ``other::``; a ``mask::`` appears once a named entry
  does and limits named users, the owning group and named groups (never the owner or other);
- the mode's group bits show the mask when there is one (Gen1's "permission" field: "unnamed
  user, mask and other");
- a changed scope gets its mask recalculated as the union of its group-class entries, unless the
  caller gave one; removing the last named entry keeps a recalculated mask (Gen1 answered
  ``mask::rwx`` after such a removal);
- a default ACL that lacks ``user::``/``group::``/``other::`` gets them from the access ACL;
- a new child's access ACL is its parent's default ACL with the owner, mask (or group) and other
  bits limited by the requested mode; a new directory also inherits the default ACL itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

READ, WRITE, EXECUTE = 4, 2, 1
KINDS = ("user", "group", "mask", "other")  # also the order entries are listed in
MAX_ENTRIES_PER_SCOPE = 32  # HDFS's limit (ScopedAclEntries); Gen1 documents the same 32


class AclError(ValueError):
    """An ACL spec or the ACL it would produce is not valid; the message says which entry and why."""


@dataclass(frozen=True)
class AclEntry:
    default: bool
    kind: str  # "user", "group", "mask" or "other"
    name: str  # "" for the owner (user::), owning group (group::), mask and other
    perm: int  # 0..7 (r=4, w=2, x=1); -1 in a removal spec, which names entries without permissions

    @property
    def key(self) -> tuple[bool, str, str]:
        return (self.default, self.kind, self.name)

    def with_perm(self, perm: int) -> AclEntry:
        return AclEntry(self.default, self.kind, self.name, perm)

    def __str__(self) -> str:
        prefix = "default:" if self.default else ""
        return f"{prefix}{self.kind}:{self.name}:{perm_text(self.perm)}"


def perm_text(perm: int) -> str:
    return ("r" if perm & READ else "-") + ("w" if perm & WRITE else "-") + ("x" if perm & EXECUTE else "-")


def parse_perm(text: str) -> int:
    """``rwx``, ``r-x``, ``---`` … exactly three symbols, each its letter or ``-``."""
    if len(text) != 3 or any(c not in (letter, "-") for c, letter in zip(text, "rwx", strict=True)):
        raise AclError(f"'{text}' is not a permission: use three symbols such as rwx, r-x or ---.")
    return sum(bit for c, bit in zip(text, (READ, WRITE, EXECUTE), strict=True) if c != "-")


def parse_spec(spec: str, *, with_permissions: bool = True) -> list[AclEntry]:
    """Entries of an aclSpec: ``[default:]user|group|mask|other:[name][:perm]``, comma-separated.

    Removal specs (``with_permissions=False``) name entries only: ``user:<oid>``, ``default:mask::``.
    """
    if not spec or not spec.strip():
        raise AclError("The aclSpec is empty.")
    entries = []
    for raw in spec.split(","):
        text = raw.strip()
        parts = text.split(":")
        default = parts[0] == "default"
        if default:
            parts = parts[1:]
        if not parts or parts[0] not in KINDS:
            raise AclError(f"Invalid ACL entry '{text}': it must start with [default:]user, group, mask or other.")
        if with_permissions:
            if len(parts) != 3:
                raise AclError(f"Invalid ACL entry '{text}': expected [default:]type:[name]:permissions.")
            perm = parse_perm(parts[2])
        else:
            if len(parts) == 3 and parts[2] == "":  # "mask::" names the mask
                parts = parts[:2]
            if len(parts) > 2:
                raise AclError(f"Invalid ACL entry '{text}': a removal names entries without permissions.")
            perm = -1
        name = parts[1] if len(parts) > 1 else ""
        if name and parts[0] in ("mask", "other"):
            raise AclError(f"Invalid ACL entry '{text}': {parts[0]} entries have no name.")
        if any(c.isspace() for c in name):
            raise AclError(f"Invalid ACL entry '{text}': the name contains white space.")
        entries.append(AclEntry(default, parts[0], name, perm))
    return entries


def format_entries(entries: Iterable[AclEntry]) -> str:
    return ",".join(str(e) for e in entries)


def minimal(mode: int) -> list[AclEntry]:
    """The ACL of mode bits alone: ``user::``, ``group::``, ``other::``."""
    return [AclEntry(False, "user", "", (mode >> 6) & 7), AclEntry(False, "group", "", (mode >> 3) & 7),
            AclEntry(False, "other", "", mode & 7)]


def _sort_key(entry: AclEntry) -> tuple[bool, int, bool, str]:
    return (entry.default, KINDS.index(entry.kind), entry.name != "", entry.name)


def _find(entries: Iterable[AclEntry], default: bool, kind: str, name: str = "") -> AclEntry | None:
    return next((e for e in entries if e.key == (default, kind, name)), None)


def mode_bits(entries: list[AclEntry]) -> int:
    """rwx bits for owner, group class (the mask when there is one) and other."""
    user = _find(entries, False, "user")
    group = _find(entries, False, "mask") or _find(entries, False, "group")
    other = _find(entries, False, "other")
    return ((user.perm if user else 0) << 6) | ((group.perm if group else 0) << 3) | (other.perm if other else 0)


def has_extended(entries: list[AclEntry]) -> bool:
    """Gen1's ``aclBit``: named entries (hence a mask) or a default ACL."""
    return any(e.default or e.kind == "mask" or e.name for e in entries)


def access_entries(entries: list[AclEntry]) -> list[AclEntry]:
    return [e for e in entries if not e.default]


def default_entries(entries: list[AclEntry]) -> list[AclEntry]:
    return [e for e in entries if e.default]


def hadoop_entries(entries: list[AclEntry]) -> list[AclEntry]:
    """What WebHDFS GETACLSTATUS lists: the extended entries (the rest is in the permission bits).

    Named entries, ``group::`` when the ACL is extended (its bits then show the mask), and every
    default entry; never ``user::``, ``other::`` or the access mask.
    """
    extended = any(e.kind == "mask" for e in access_entries(entries))
    return [e for e in entries if e.default or e.name or (extended and e.kind == "group")]


# -- the operations ----------------------------------------------------------------------------------------
def set_acl(existing: list[AclEntry], spec: list[AclEntry]) -> list[AclEntry]:
    """SETACL: each scope named in the spec is replaced whole; the other scope is kept."""
    dirty = {e.default for e in spec}
    kept = [e for e in existing if e.default not in dirty]
    given_masks = {e.default: e for e in spec if e.kind == "mask"}
    kept_masks = {e.default: e for e in kept if e.kind == "mask"}
    entries = [e for e in spec if e.kind != "mask"] + [e for e in kept if e.kind != "mask"]
    return _finish(entries, given_masks, kept_masks, dirty, existing)


def modify_acl(existing: list[AclEntry], spec: list[AclEntry]) -> list[AclEntry]:
    """MODIFYACLENTRIES: entries in the spec replace their namesakes or are added."""
    given_masks = {e.default: e for e in spec if e.kind == "mask"}
    kept_masks = {e.default: e for e in existing if e.kind == "mask"}
    merged = {e.key: e for e in existing if e.kind != "mask"}
    for entry in spec:
        if entry.kind != "mask":
            merged[entry.key] = entry
    return _finish(list(merged.values()), given_masks, kept_masks, {e.default for e in spec}, existing)


def remove_acl_entries(existing: list[AclEntry], spec: list[AclEntry]) -> list[AclEntry]:
    """REMOVEACLENTRIES: entries the spec names go; an untouched mask is recalculated, not dropped."""
    removed = {e.key for e in spec}
    kept = [e for e in existing if e.key not in removed]
    kept_masks = {e.default: e for e in kept if e.kind == "mask"}
    masks_removed = {k[0] for k in removed if k[1] == "mask"}
    entries = [e for e in kept if e.kind != "mask"]
    return _finish(entries, {}, kept_masks, {e.default for e in spec}, existing, masks_removed)


def remove_default_acl(existing: list[AclEntry]) -> list[AclEntry]:
    return access_entries(existing)


def remove_extended_acl(existing: list[AclEntry]) -> list[AclEntry]:
    """REMOVEACL on Gen1: the access ACL goes back to its three base entries; the default ACL stays.

    The owning group's own bits come back as the group bits (the mask is not part of a minimal ACL).
    """
    base = [e for e in access_entries(existing) if not e.name and e.kind != "mask"]
    return sorted(base + default_entries(existing), key=_sort_key)


def with_mode(existing: list[AclEntry], mode: int) -> list[AclEntry]:
    """SETPERMISSION: owner, group class (the mask if any, else ``group::``) and other bits."""
    has_mask = _find(existing, False, "mask") is not None
    updated = []
    for entry in existing:
        if entry.default or entry.name:
            updated.append(entry)
        elif entry.kind == "user":
            updated.append(entry.with_perm((mode >> 6) & 7))
        elif entry.kind == "mask" or (entry.kind == "group" and not has_mask):
            updated.append(entry.with_perm((mode >> 3) & 7))
        elif entry.kind == "other":
            updated.append(entry.with_perm(mode & 7))
        else:
            updated.append(entry)
    return updated


def child_acl(parent: list[AclEntry], *, directory: bool, mode: int) -> list[AclEntry]:
    """A new child's ACL from its parent's default ACL and the requested mode (umask already applied)."""
    defaults = default_entries(parent)
    if not defaults:
        return minimal(mode)
    has_mask = _find(defaults, True, "mask") is not None
    access = []
    for entry in defaults:
        perm = entry.perm
        if not entry.name:
            if entry.kind == "user":
                perm &= (mode >> 6) & 7
            elif entry.kind == "mask" or (entry.kind == "group" and not has_mask):
                perm &= (mode >> 3) & 7
            elif entry.kind == "other":
                perm &= mode & 7
        access.append(AclEntry(False, entry.kind, entry.name, perm))
    return sorted(access + (defaults if directory else []), key=_sort_key)


def _finish(entries: list[AclEntry], given_masks: dict[bool, AclEntry], kept_masks: dict[bool, AclEntry],
            dirty: set[bool], existing: list[AclEntry], masks_removed: frozenset[bool] | set[bool] = frozenset(),
            ) -> list[AclEntry]:
    """Copy base entries into a default ACL that lacks them, settle the masks, validate, sort."""
    entries = _with_default_base(entries, existing)
    for scope in (False, True):
        scoped = [e for e in entries if e.default == scope]
        if not scoped:
            continue
        named = any(e.name for e in scoped)
        if scope in given_masks:
            entries.append(given_masks[scope])
        elif scope not in dirty and scope in kept_masks:
            entries.append(kept_masks[scope])  # an untouched scope keeps its mask as it was
        elif named and scope in masks_removed:
            raise AclError("Invalid ACL: the mask is required while there are named entries, and cannot be "
                           "removed.")
        elif named or (scope in kept_masks and scope not in masks_removed):
            union = 0
            for e in scoped:
                if e.kind == "group" or (e.kind == "user" and e.name):
                    union |= e.perm
            entries.append(AclEntry(scope, "mask", "", union))
    return validate(entries)


def _with_default_base(entries: list[AclEntry], existing: list[AclEntry]) -> list[AclEntry]:
    if not any(e.default for e in entries):
        return entries
    access = access_entries(entries) or access_entries(existing)
    result = list(entries)
    for kind in ("user", "group", "other"):
        if _find(result, True, kind) is None:
            base = _find(access, False, kind)
            if base is not None:
                result.append(AclEntry(True, kind, "", base.perm))
    return result


def validate(entries: list[AclEntry]) -> list[AclEntry]:
    """Sorted entries, or AclError: duplicates, missing base entries, too many entries."""
    seen: set[tuple[bool, str, str]] = set()
    for entry in entries:
        if entry.key in seen:
            raise AclError(f"Invalid ACL: the entry '{entry}' is given more than once.")
        seen.add(entry.key)
    for scope in (False, True):
        scoped = [e for e in entries if e.default == scope]
        if not scoped:
            continue
        for kind in ("user", "group", "other"):
            if _find(scoped, scope, kind) is None:
                raise AclError(f"Invalid ACL: the {'default ' if scope else ''}{kind} entry is required.")
        if len(scoped) > MAX_ENTRIES_PER_SCOPE:
            raise AclError(f"Invalid ACL: more than {MAX_ENTRIES_PER_SCOPE} {'default' if scope else 'access'} "
                           "entries.")
    return sorted(entries, key=_sort_key)


# -- the access check -------------------------------------------------------------------------------------
def permitted(entries: list[AclEntry], owner: str, caller: str, wanted: int, *, owning_group: str = "",
              groups: frozenset[str] = frozenset()) -> bool:
    """HDFS's check: the owner uses ``user::``; a named user its entry and a member of the owning or a
    named group the union of those entries, each limited by the mask; everyone else ``other::``."""
    access = access_entries(entries)
    if caller.lower() == owner.lower():
        user = _find(access, False, "user")
        return user is not None and (user.perm & wanted) == wanted
    mask_entry = _find(access, False, "mask")
    mask = mask_entry.perm if mask_entry is not None else 7
    lowered = caller.lower()
    named = next((e for e in access if e.kind == "user" and e.name.lower() == lowered), None)
    if named is not None:
        return (named.perm & mask & wanted) == wanted
    member_of = {g.lower() for g in groups}
    matching = [e for e in access if e.kind == "group" and (e.name or owning_group).lower() in member_of]
    if matching:
        return any((e.perm & mask & wanted) == wanted for e in matching)
    other = _find(access, False, "other")
    return other is not None and (other.perm & wanted) == wanted
