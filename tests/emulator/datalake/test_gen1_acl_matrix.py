"""Gen1's POSIX authorization, enforced: every operation × every rwx combination of the entry that matters.

Microsoft, "Access control in Azure Data Lake Storage Gen1": execute on every ancestor to traverse,
read + execute to list a folder, read to read a file, write to append, write + execute on the parent
to create or delete (the file's own bits do not matter), owner or super-user to change an ACL.
The VM is never the owner here unless a case says so; the admin is owner and super-user.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from datalake_helpers import VM_OID, Lake, assert_refused

from emulator.core.posix_acl import EXECUTE, READ, WRITE, parse_perm

BITS = ["---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"]


def _tree(lake: Lake) -> str:
    """/t-…/d/f owned by the admin; the VM may traverse / and /t-… ."""
    top = lake.scratch()
    assert lake.write(f"{top}/d/f", b"data").status_code == 201
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:--x")
    return top


# (operation, node whose VM entry varies, bits it needs, call as the VM, did it take effect?)
Call = Callable[[Lake, str], requests.Response]
Effect = Callable[[Lake, str], bool]
OPERATIONS: list[tuple[str, str, int, Call, Effect]] = [
    ("GETFILESTATUS", "d", EXECUTE, lambda lk, t: lk.status(f"{t}/d/f", "vm"), lambda lk, t: True),
    ("LISTSTATUS", "d", READ | EXECUTE, lambda lk, t: lk.call("GET", f"{t}/d", "LISTSTATUS"), lambda lk, t: True),
    ("OPEN", "f", READ, lambda lk, t: lk.read(f"{t}/d/f", "vm"), lambda lk, t: True),
    ("APPEND", "f", WRITE,
     lambda lk, t: lk.call("POST", f"{t}/d/f", "APPEND", params={"append": "true"}, data=b"+"),
     lambda lk, t: lk.read(f"{t}/d/f").content == b"data+"),
    ("CREATE", "d", WRITE | EXECUTE, lambda lk, t: lk.write(f"{t}/d/new", b"n", "vm"),
     lambda lk, t: lk.exists(f"{t}/d/new")),
    ("MKDIRS", "d", WRITE | EXECUTE, lambda lk, t: lk.call("PUT", f"{t}/d/sub", "MKDIRS"),
     lambda lk, t: lk.exists(f"{t}/d/sub")),
    ("DELETE", "d", WRITE | EXECUTE, lambda lk, t: lk.call("DELETE", f"{t}/d/f", "DELETE"),
     lambda lk, t: not lk.exists(f"{t}/d/f")),
    ("RENAME", "d", WRITE | EXECUTE,
     lambda lk, t: lk.call("PUT", f"{t}/d/f", "RENAME", params={"destination": f"{t}/d/g"}),
     lambda lk, t: lk.exists(f"{t}/d/g") and not lk.exists(f"{t}/d/f")),
]


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize(("op", "node", "needs", "call", "effect"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
def test_each_operation_needs_exactly_its_bits(lake: Lake, op: str, node: str, needs: int, call: Call,
                                               effect: Effect, bits: str) -> None:
    top = _tree(lake)
    if node == "d":
        lake.acl(f"{top}/d", f"user:{VM_OID}:{bits}")
        lake.acl(f"{top}/d/f", f"user:{VM_OID}:---")  # the file's own bits never help
    else:
        lake.acl(f"{top}/d", f"user:{VM_OID}:--x")
        lake.acl(f"{top}/d/f", f"user:{VM_OID}:{bits}")
    response = call(lake, top)
    if parse_perm(bits) & needs == needs:
        assert response.status_code < 300, f"{op} with {bits}: {response.status_code} {response.text}"
        assert effect(lake, top)
    else:
        error = assert_refused(response, 403, "AccessControlException")
        assert error["message"].startswith(f"{op} failed with error 0x83090aa2 (Forbidden. ACL verification failed.")
        assert error["javaClassName"] == "org.apache.hadoop.security.AccessControlException"
        assert response.headers["Status"] == "0x83090AA2"
        assert lake.read(f"{top}/d/f").content == b"data", "a refused call changes nothing"
        assert not lake.exists(f"{top}/d/new") and not lake.exists(f"{top}/d/sub") and not lake.exists(f"{top}/d/g")


@pytest.mark.parametrize("bits", BITS)
def test_traverse_needs_execute_on_every_ancestor(lake: Lake, bits: str) -> None:
    top = _tree(lake)
    lake.acl(f"{top}/d", f"user:{VM_OID}:--x")
    lake.acl(f"{top}/d/f", f"user:{VM_OID}:r--")
    lake.acl(top, f"user:{VM_OID}:{bits}")  # the grandparent
    response = lake.read(f"{top}/d/f", "vm")
    if "x" in bits:
        assert response.content == b"data"
    else:
        assert_refused(response, 403, "AccessControlException")


@pytest.mark.parametrize("bits", BITS)
def test_changing_an_acl_takes_the_owner_whatever_the_bits(lake: Lake, bits: str) -> None:
    top = _tree(lake)
    lake.acl(f"{top}/d", f"user:{VM_OID}:rwx,default:user:{VM_OID}:rwx")
    lake.acl(f"{top}/d/f", f"user:{VM_OID}:{bits}")
    changes = [("MODIFYACLENTRIES", {"aclspec": f"user:{VM_OID}:rwx"}), ("REMOVEACL", {}),
               ("SETACL", {"aclspec": "user::rwx,group::rwx,other::rwx"}), ("SETPERMISSION", {"permission": "777"})]
    for op, params in changes:
        assert_refused(lake.call("PUT", f"{top}/d/f", op, params=params), 403, "AccessControlException")
    assert lake.write(f"{top}/d/mine", b"m", "vm").status_code == 201  # the VM owns what it creates
    lake.acl(f"{top}/d/mine", f"user:{VM_OID}:{bits}", who="admin")
    assert lake.call("PUT", f"{top}/d/mine", "SETPERMISSION", params={"permission": "700"}).status_code == 200
    assert lake.acl(f"{top}/d/mine", "other::r--", who="vm").status_code == 200


def test_traversal_is_refused_before_existence_shows(lake: Lake) -> None:
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    assert_refused(lake.status(f"{top}/no-such-file", "vm"), 403, "AccessControlException")
    lake.acl(top, f"user:{VM_OID}:--x")
    assert_refused(lake.status(f"{top}/no-such-file", "vm"), 404, "FileNotFoundException")


def test_the_tutorials_grant_lets_the_vm_list_create_and_read(lake: Lake) -> None:
    """Root r-x (access), TestFolder rwx (access + default): the portal's two "Access" steps."""
    lake.acl("/", f"user:{VM_OID}:r-x")
    lake.acl("/TestFolder", f"user:{VM_OID}:rwx,default:user:{VM_OID}:rwx")
    names = [s["pathSuffix"] for s in lake.ok("GET", "/", "LISTSTATUS", "vm").json()["FileStatuses"]["FileStatus"]]
    assert "TestFolder" in names
    path = f"/TestFolder/tutorial-{VM_OID[:8]}.txt"
    assert lake.call("PUT", path, "CREATE", data=b"Test file.\n", allow_redirects=True).status_code == 201
    assert lake.read(path, "vm").content == b"Test file.\n"
    status = lake.status(path).json()["FileStatus"]
    assert (status["owner"], status["group"]) == (VM_OID, lake.azure.admin_oid)
    assert lake.entries(path) == ["user::rwx", f"user:{VM_OID}:rwx", "group::rwx", "mask::rwx", "other::---"]
    # A file that existed before the grant keeps its own ACL: defaults reach only new children.
    assert_refused(lake.read("/TestFolder/hello_world.txt", "vm"), 403, "AccessControlException")
    assert_refused(lake.write("/elsewhere.txt", b"x", "vm"), 403, "AccessControlException")  # root is r-x
    lake.ok("DELETE", path, "DELETE", "vm")
    lake.acl("/TestFolder", f"user:{VM_OID},default:user:{VM_OID}", "REMOVEACLENTRIES")
    lake.acl("/", f"user:{VM_OID}", "REMOVEACLENTRIES")
    assert_refused(lake.call("GET", "/", "LISTSTATUS"), 403, "AccessControlException")


# -- default ACLs -------------------------------------------------------------------------------------------
def test_default_entries_become_new_childrens_access_entries(lake: Lake) -> None:
    top = lake.scratch()
    lake.acl(top, f"default:user:{VM_OID}:r-x")
    lake.mkdirs(f"{top}/sub")
    lake.write(f"{top}/file", b"inherited")
    assert lake.entries(f"{top}/file") == ["user::rwx", f"user:{VM_OID}:r-x", "group::rwx", "mask::rwx",
                                           "other::---"]
    sub = lake.entries(f"{top}/sub")
    assert f"user:{VM_OID}:r-x" in sub and f"default:user:{VM_OID}:r-x" in sub, sub
    lake.write(f"{top}/sub/grandchild", b"g")
    assert f"user:{VM_OID}:r-x" in lake.entries(f"{top}/sub/grandchild")
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:--x")
    assert lake.read(f"{top}/file", "vm").content == b"inherited"
    assert_refused(lake.call("POST", f"{top}/file", "APPEND", params={"append": "true"}, data=b"!"), 403,
                   "AccessControlException")


def test_other_bits_never_reach_a_new_child(lake: Lake) -> None:
    """Gen1's fixed umask: "other" loses rwx on every new item."""
    top = lake.scratch()
    lake.acl(top, "default:other::rwx")
    lake.write(f"{top}/f", b"")
    assert "other::---" in lake.entries(f"{top}/f")
    lake.acl(top, "user::rwx,group::rwx,other::rwx", "SETACL")
    lake.write(f"{top}/g", b"")  # no default ACL: mode 777 minus the umask
    assert lake.status(f"{top}/g").json()["FileStatus"]["permission"] == "770"


def test_a_new_default_acl_leaves_existing_children_alone(lake: Lake) -> None:
    top = lake.scratch()
    lake.write(f"{top}/before", b"")
    lake.acl(top, f"default:user:{VM_OID}:rwx")
    lake.write(f"{top}/after", b"")
    assert all(VM_OID not in e for e in lake.entries(f"{top}/before"))
    assert f"user:{VM_OID}:rwx" in lake.entries(f"{top}/after")


def test_the_mask_limits_named_entries_but_not_the_owner(lake: Lake) -> None:
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:rwx")
    lake.ok("PUT", top, "SETPERMISSION", params={"permission": "750"})  # group class (the mask) r-x
    assert "mask::r-x" in lake.entries(top)
    assert_refused(lake.write(f"{top}/x", b"", "vm"), 403, "AccessControlException")
    lake.ok("PUT", top, "SETPERMISSION", params={"permission": "770"})
    assert lake.write(f"{top}/mine", b"mine", "vm").status_code == 201
    lake.ok("PUT", f"{top}/mine", "SETPERMISSION", "vm", params={"permission": "700"})  # mask ---
    assert lake.read(f"{top}/mine", "vm").content == b"mine", "the owner's bits are not masked"


def test_an_owner_without_bits_is_refused_but_a_superuser_is_not(lake: Lake) -> None:
    """Gen1 recorded: chmod 555 on one's own file, then APPEND → 403. The super-user passes everything."""
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:rwx")
    lake.write(f"{top}/own", b"own", "vm")
    lake.ok("PUT", f"{top}/own", "SETPERMISSION", "vm", params={"permission": "000"})
    assert_refused(lake.read(f"{top}/own", "vm"), 403, "AccessControlException")
    assert lake.read(f"{top}/own", "admin").content == b"own"
    assert lake.ok("PUT", f"{top}/own", "SETOWNER", params={"owner": lake.azure.admin_oid})
    assert_refused(lake.call("PUT", f"{top}/own", "SETPERMISSION", params={"permission": "777"}), 403,
                   "AccessControlException")


def test_only_a_superuser_changes_the_owner(lake: Lake) -> None:
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:rwx")
    lake.write(f"{top}/mine", b"", "vm")
    for params in ({"owner": lake.azure.admin_oid}, {"group": VM_OID}):
        assert_refused(lake.call("PUT", f"{top}/mine", "SETOWNER", params=params), 403, "AccessControlException")
    lake.ok("PUT", f"{top}/mine", "SETOWNER", params={"group": VM_OID})
    assert lake.status(f"{top}/mine").json()["FileStatus"]["group"] == VM_OID


def test_a_recursive_delete_needs_rwx_on_every_folder_inside(lake: Lake) -> None:
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:rwx")
    lake.write(f"{top}/a/b/c.txt", b"c")
    lake.acl(f"{top}/a", f"user:{VM_OID}:rwx")
    lake.acl(f"{top}/a/b", f"user:{VM_OID}:r-x")
    refused = lake.call("DELETE", f"{top}/a", "DELETE", params={"recursive": "true"})
    assert_refused(refused, 403, "AccessControlException")
    assert lake.read(f"{top}/a/b/c.txt").content == b"c"
    lake.acl(f"{top}/a/b", f"user:{VM_OID}:rwx")
    assert lake.call("DELETE", f"{top}/a", "DELETE", params={"recursive": "true"}).json() == {"boolean": True}
    assert not lake.exists(f"{top}/a/b/c.txt")


def test_a_sticky_folder_keeps_others_files(lake: Lake) -> None:
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"user:{VM_OID}:rwx")
    lake.ok("PUT", top, "SETPERMISSION", params={"permission": "1770"})
    lake.write(f"{top}/admins", b"a")
    lake.write(f"{top}/vms", b"v", "vm")
    assert_refused(lake.call("DELETE", f"{top}/admins", "DELETE"), 403, "AccessControlException")
    assert_refused(lake.call("PUT", f"{top}/admins", "RENAME", params={"destination": f"{top}/x"}), 403,
                   "AccessControlException")
    assert lake.call("DELETE", f"{top}/vms", "DELETE").json() == {"boolean": True}
    assert lake.exists(f"{top}/admins")


def test_group_entries_do_not_reach_a_principal_outside_the_group(lake: Lake) -> None:
    """Managed identities here belong to no Entra group: a group entry, even named by the VM's id, grants nothing."""
    top = lake.scratch()
    lake.acl("/", f"user:{VM_OID}:--x")
    lake.acl(top, f"group:{VM_OID}:rwx")
    assert f"group:{VM_OID}:rwx" in lake.entries(top)
    assert_refused(lake.call("GET", top, "LISTSTATUS"), 403, "AccessControlException")
    lake.acl(top, f"user:{VM_OID}:r-x")
    assert lake.call("GET", top, "LISTSTATUS").status_code == 200
