"""emulator.core.posix_acl on its own: specs, the four ACL operations, masks, inheritance, the check."""

from __future__ import annotations

import pytest

from emulator.core import posix_acl as acls
from emulator.core.posix_acl import EXECUTE, READ, WRITE, AclError

VM = "15a76ff3-0756-4b47-b362-9d74a68a035b"


def spec(text: str, with_permissions: bool = True) -> list[acls.AclEntry]:
    return acls.parse_spec(text, with_permissions=with_permissions)


def text(entries: list[acls.AclEntry]) -> str:
    return acls.format_entries(entries)


def test_parse_round_trips() -> None:
    given = f"user::rwx,user:{VM}:r-x,group::r--,mask::r-x,other::---,default:user::rwx"
    assert text(spec(given)) == given
    removal = spec(f"user:{VM},default:mask::,mask::", with_permissions=False)
    assert [(e.default, e.kind, e.name) for e in removal] == [(False, "user", VM), (True, "mask", ""),
                                                             (False, "mask", "")]


@pytest.mark.parametrize("bad", ["", " ", "user:x", "user:x:rwxx", "user:x:wrx", "users::rwx", "mask:m:rwx",
                                 "other:o:rwx", "user:a b:rwx", "default:", "user:x:r-x:extra"])
def test_malformed_specs_are_refused(bad: str) -> None:
    with pytest.raises(AclError):
        acls.parse_spec(bad)


def test_mode_bits_show_the_mask_as_group_bits() -> None:
    assert acls.mode_bits(acls.minimal(0o750)) == 0o750
    assert acls.mode_bits(spec(f"user::rwx,user:{VM}:rwx,group::rwx,mask::r--,other::--x")) == 0o741


def test_modify_adds_a_mask_and_defaults_get_their_base_entries() -> None:
    result = acls.modify_acl(acls.minimal(0o750), spec(f"default:user:{VM}:rwx"))
    assert text(result) == (f"user::rwx,group::r-x,other::---,default:user::rwx,default:user:{VM}:rwx,"
                            "default:group::r-x,default:mask::rwx,default:other::---")


def test_an_explicit_mask_wins_and_an_untouched_scope_keeps_its_mask() -> None:
    result = acls.modify_acl(acls.minimal(0o770), spec(f"user:{VM}:rwx,mask::r--"))
    assert "mask::r--" in text(result)
    again = acls.modify_acl(result, spec(f"default:user:{VM}:r-x"))
    assert "mask::r--" in text(again)  # the access scope was not touched
    recalculated = acls.modify_acl(result, spec(f"user:{VM}:--x"))
    assert "mask::rwx" in text(recalculated)  # touched: union of group class (group::rwx, user:VM:--x)


def test_set_replaces_a_scope_whole() -> None:
    start = spec(f"user::rwx,user:{VM}:rwx,group::rwx,mask::rwx,other::---,default:user::rwx,default:group::---,"
                 "default:other::---")
    result = acls.set_acl(start, spec("user::rw-,group::r--,other::r--"))
    assert text(result) == "user::rw-,group::r--,other::r--,default:user::rwx,default:group::---,default:other::---"


def test_removing_the_last_named_entry_keeps_a_recalculated_mask() -> None:
    start = spec(f"user::rwx,user:{VM}:-w-,group::r-x,mask::rwx,other::---")
    assert text(acls.remove_acl_entries(start, spec(f"user:{VM}", False))) == \
        "user::rwx,group::r-x,mask::r-x,other::---"


def test_a_needed_mask_cannot_be_removed_nor_base_entries() -> None:
    start = spec(f"user::rwx,user:{VM}:rwx,group::rwx,mask::rwx,other::---")
    with pytest.raises(AclError, match="mask"):
        acls.remove_acl_entries(start, spec("mask::", False))
    with pytest.raises(AclError, match="required"):
        acls.remove_acl_entries(start, spec("other::", False))


def test_duplicates_and_too_many_entries_are_refused() -> None:
    with pytest.raises(AclError, match="more than once"):
        acls.set_acl(acls.minimal(0o770), spec("user::rwx,group::rwx,other::---,other::r--"))
    many = ",".join(f"user:u{i}:r--" for i in range(31))
    with pytest.raises(AclError, match="32"):
        acls.modify_acl(acls.minimal(0o770), spec(many))
    assert len(acls.modify_acl(acls.minimal(0o770), spec(",".join(f"user:u{i}:r--" for i in range(28))))) == 32


def test_remove_extended_keeps_defaults_and_restores_group_bits() -> None:
    start = spec(f"user::rwx,user:{VM}:rwx,group::r-x,mask::rwx,other::---,default:user::rwx,default:group::---,"
                 "default:other::---")
    result = acls.remove_extended_acl(start)
    assert text(result) == "user::rwx,group::r-x,other::---,default:user::rwx,default:group::---,default:other::---"
    assert acls.mode_bits(result) == 0o750


def test_with_mode_sets_the_mask_when_there_is_one() -> None:
    start = spec(f"user::rwx,user:{VM}:rwx,group::rwx,mask::rwx,other::---")
    assert text(acls.with_mode(start, 0o640)) == f"user::rw-,user:{VM}:rwx,group::rwx,mask::r--,other::---"
    assert text(acls.with_mode(acls.minimal(0o777), 0o640)) == "user::rw-,group::r--,other::---"


def test_child_acl_from_defaults_and_mode() -> None:
    parent = spec(f"user::rwx,group::rwx,other::---,default:user::rwx,default:user:{VM}:rwx,default:group::r-x,"
                  "default:mask::rwx,default:other::rwx")
    file_acl = acls.child_acl(parent, directory=False, mode=0o770)
    assert text(file_acl) == f"user::rwx,user:{VM}:rwx,group::r-x,mask::rwx,other::---"
    folder_acl = acls.child_acl(parent, directory=True, mode=0o750)
    assert text(folder_acl).startswith(f"user::rwx,user:{VM}:rwx,group::r-x,mask::r-x,other::---,default:")
    assert acls.child_acl(acls.minimal(0o777), directory=True, mode=0o770) == acls.minimal(0o770)


def test_permitted_follows_hdfs_order() -> None:
    entries = spec(f"user::r--,user:{VM}:rwx,group::rwx,group:readers:r--,mask::r-x,other::rwx")
    assert acls.permitted(entries, "owner", "owner", READ)
    assert not acls.permitted(entries, "owner", "owner", WRITE), "the owner uses user:: only"
    assert acls.permitted(entries, "owner", VM, READ | EXECUTE)
    assert not acls.permitted(entries, "owner", VM, WRITE), "the mask limits named users"
    assert acls.permitted(entries, "owner", "someone", WRITE), "no entry: other::"
    assert not acls.permitted(entries, "owner", "member", WRITE, groups=frozenset({"readers"})), \
        "a matching group entry decides, other:: is not consulted"
    assert acls.permitted(entries, "owner", "member", READ, owning_group="staff", groups=frozenset({"staff"}))
    assert not acls.permitted(entries, "owner", "member", WRITE, owning_group="staff", groups=frozenset({"staff"}))
