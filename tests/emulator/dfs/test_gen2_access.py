"""RBAC, then POSIX ACLs: who may do what on the DFS endpoint (Microsoft, "Access control model in Azure Data Lake
Storage" and "Access control lists (ACLs) in Azure Data Lake Storage").

A role that grants the data action decides alone, whatever the ACLs say; without one, the path's ACLs decide:
``x`` on every directory on the way, ``r`` to read, ``r-x`` to list, ``w`` to write, ``-wx`` on the parent to
create or delete, the owner (or a super-user: Storage Blob Data Owner, the account key) to change an ACL, and only
a super-user to give a path away. The VM's identity asks; the admin (Storage Blob Data Owner) sets things up.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dfs_helpers import FS, HELLO, VM_OID, Gen2, code

VM = f"user:{VM_OID}"


# -- RBAC alone -------------------------------------------------------------------------------------------
def _rbac_operations(gen2: Gen2) -> dict[str, Callable[[], int]]:
    own = "TestFolder/vm-own.txt"
    return {
        "list": lambda: gen2.call("GET", gen2.url(FS), params={"resource": "filesystem", "recursive": "false",
                                                                "directory": "TestFolder"}).status_code,
        "read": lambda: gen2.call("GET", gen2.url(FS, HELLO)).status_code,
        "create": lambda: gen2.create(own).status_code,
        "append": lambda: gen2.call("PATCH", gen2.url(FS, HELLO), data=b"!",
                                    params={"action": "append", "position": "15"}).status_code,
        "set acl (the admin's file)": lambda: gen2.set_acl(HELLO, "user::rwx,group::r--,other::---",
                                                           who="vm").status_code,
        "give away": lambda: gen2.call("PATCH", gen2.url(FS, "TestFolder"), params={"action": "setAccessControl"},
                                       headers={"x-ms-owner": VM_OID}).status_code,
        "rename": lambda: gen2.call("PUT", gen2.url(FS, "TestFolder/renamed.txt"), params={"mode": "legacy"},
                                    headers={"x-ms-rename-source": f"/{FS}/{HELLO}"}).status_code,
        "delete": lambda: gen2.call("DELETE", gen2.url(FS, "TestFolder"), params={"recursive": "true"}).status_code,
    }


RBAC_EXPECTED = {
    # role: statuses in _rbac_operations' order
    None: [403, 403, 403, 403, 403, 403, 403, 403],
    "Reader": [403, 403, 403, 403, 403, 403, 403, 403],  # management roles have no data actions
    "Owner": [403, 403, 403, 403, 403, 403, 403, 403],
    "Storage Blob Data Reader": [200, 200, 403, 403, 403, 403, 403, 403],
    # Contributor: everything but ACLs of paths it does not own, and ownership
    "Storage Blob Data Contributor": [200, 200, 201, 202, 403, 403, 201, 200],
    "Storage Blob Data Owner": [200, 200, 201, 202, 200, 200, 201, 200],  # the super-user
}


@pytest.mark.parametrize("role", list(RBAC_EXPECTED), ids=[str(r) for r in RBAC_EXPECTED])
def test_rbac_roles_on_dfs_operations(gen2: Gen2, role: str | None) -> None:
    if role is not None:
        gen2.grant(role)
    statuses = [operation() for operation in _rbac_operations(gen2).values()]
    assert dict(zip(_rbac_operations(gen2), statuses, strict=True)) == dict(
        zip(_rbac_operations(gen2), RBAC_EXPECTED[role], strict=True))


def test_a_contributor_may_change_the_acl_of_what_it_owns(gen2: Gen2) -> None:
    gen2.grant("Storage Blob Data Contributor")
    assert gen2.create("TestFolder/mine.txt").status_code == 201
    assert gen2.acl("TestFolder/mine.txt")["owner"] == VM_OID
    assert gen2.set_acl("TestFolder/mine.txt", "user::rw-,group::---,other::---", who="vm").status_code == 200
    assert gen2.call("PATCH", gen2.url(FS, "TestFolder/mine.txt"), params={"action": "setAccessControl"},
                     headers={"x-ms-owner": gen2.azure.admin_oid}).status_code == 403  # but not give it away


def test_a_role_cannot_be_narrowed_by_an_acl(gen2: Gen2) -> None:
    """RBAC is evaluated first: an ACL with nothing for the VM does not stop a Contributor."""
    gen2.set_acl("TestFolder", "user::rwx,group::---,other::---")
    gen2.set_acl("/", "user::rwx,group::---,other::---")
    gen2.grant("Storage Blob Data Contributor")
    assert gen2.write("TestFolder/anyway.txt", b"x") == [201, 202, 200]


# -- ACLs alone ---------------------------------------------------------------------------------------------
def _entries(gen2: Gen2, grants: dict[str, str]) -> None:
    """The admin adds the VM's access entries (path → rwx bits)."""
    for path, bits in grants.items():
        gen2.add_entries(path, f"{VM}:{bits}")


# (id, the VM's entries, the VM's request, expected status)
ACL_CASES: list[tuple[str, dict[str, str], Callable[[Gen2], int], int]] = [
    ("read: r on the file and x on the way", {"/": "--x", "TestFolder": "--x", HELLO: "r--"},
     lambda g: g.call("GET", g.url(FS, HELLO)).status_code, 200),
    ("read: no x on the root", {"TestFolder": "--x", HELLO: "r--"},
     lambda g: g.call("GET", g.url(FS, HELLO)).status_code, 403),
    ("read: no x on the folder", {"/": "--x", HELLO: "r--"},
     lambda g: g.call("GET", g.url(FS, HELLO)).status_code, 403),
    ("read: x everywhere but no r on the file", {"/": "--x", "TestFolder": "--x", HELLO: "-wx"},
     lambda g: g.call("GET", g.url(FS, HELLO)).status_code, 403),
    ("properties: x on the way is enough", {"/": "--x", "TestFolder": "--x"},
     lambda g: g.call("HEAD", g.url(FS, HELLO)).status_code, 200),
    ("list a folder: r-x", {"/": "--x", "TestFolder": "r-x"},
     lambda g: g.call("GET", g.url(FS), params={"resource": "filesystem", "recursive": "false",
                                                 "directory": "TestFolder"}).status_code, 200),
    ("list a folder: r-- is not enough", {"/": "--x", "TestFolder": "r--"},
     lambda g: g.call("GET", g.url(FS), params={"resource": "filesystem", "recursive": "false",
                                                 "directory": "TestFolder"}).status_code, 403),
    ("list the root: needs r-x on it", {"/": "--x"},
     lambda g: g.call("GET", g.url(FS), params={"resource": "filesystem", "recursive": "false"}).status_code, 403),
    ("create: -wx on the folder", {"/": "--x", "TestFolder": "-wx"},
     lambda g: g.create("TestFolder/new.txt").status_code, 201),
    ("create: r-x is not enough", {"/": "--x", "TestFolder": "r-x"},
     lambda g: g.create("TestFolder/new.txt").status_code, 403),
    ("create: -w- without x is not enough", {"/": "--x", "TestFolder": "-w-"},
     lambda g: g.create("TestFolder/new.txt").status_code, 403),
    ("create at the root: nothing for the VM there", {"/": "--x", "TestFolder": "rwx"},
     lambda g: g.create("at-root.txt").status_code, 403),
    ("create with new folders: -wx on the deepest existing one", {"/": "--x", "TestFolder": "-wx"},
     lambda g: g.create("TestFolder/a/b/c.txt").status_code, 201),
    ("append: w on the file", {"/": "--x", "TestFolder": "--x", HELLO: "-w-"},
     lambda g: g.call("PATCH", g.url(FS, HELLO), data=b"!", params={"action": "append", "position": "15"})
     .status_code, 202),
    ("append: r is not enough", {"/": "--x", "TestFolder": "--x", HELLO: "r--"},
     lambda g: g.call("PATCH", g.url(FS, HELLO), data=b"!", params={"action": "append", "position": "15"})
     .status_code, 403),
    ("delete a file: -wx on its folder, no bits on the file", {"/": "--x", "TestFolder": "-wx"},
     lambda g: g.call("DELETE", g.url(FS, HELLO)).status_code, 200),
    ("delete a file: w on the file does not do", {"/": "--x", "TestFolder": "--x", HELLO: "rwx"},
     lambda g: g.call("DELETE", g.url(FS, HELLO)).status_code, 403),
    ("delete a folder recursively: rwx on it as well", {"/": "-wx", "TestFolder": "-wx"},
     lambda g: g.call("DELETE", g.url(FS, "TestFolder"), params={"recursive": "true"}).status_code, 403),
    ("delete a folder recursively: -wx on the root, rwx on it", {"/": "-wx", "TestFolder": "rwx"},
     lambda g: g.call("DELETE", g.url(FS, "TestFolder"), params={"recursive": "true"}).status_code, 200),
    ("rename: -wx on both folders", {"/": "-wx", "TestFolder": "-wx"},
     lambda g: g.call("PUT", g.url(FS, "moved.txt"), params={"mode": "legacy"},
                      headers={"x-ms-rename-source": f"/{FS}/{HELLO}"}).status_code, 201),
    ("rename: not into a folder without w", {"/": "--x", "TestFolder": "-wx"},
     lambda g: g.call("PUT", g.url(FS, "moved.txt"), params={"mode": "legacy"},
                      headers={"x-ms-rename-source": f"/{FS}/{HELLO}"}).status_code, 403),
    ("change the ACL of the admin's file: the owner only", {"/": "--x", "TestFolder": "--x", HELLO: "rwx"},
     lambda g: g.set_acl(HELLO, "user::rwx,group::---,other::---", who="vm").status_code, 403),
    ("read the ACL: x on the way", {"/": "--x", "TestFolder": "--x"},
     lambda g: g.call("HEAD", g.url(FS, HELLO), params={"action": "getAccessControl"}).status_code, 200),
    ("nothing at all", {}, lambda g: g.call("HEAD", g.url(FS, HELLO)).status_code, 403),
]


@pytest.mark.parametrize("case_id, grants, attempt, expected", ACL_CASES, ids=[c[0] for c in ACL_CASES])
def test_acl_matrix(gen2: Gen2, case_id: str, grants: dict[str, str], attempt: Callable[[Gen2], int],
                    expected: int) -> None:
    _entries(gen2, grants)
    assert attempt(gen2) == expected


def test_the_mask_limits_named_entries_and_other_counts_for_everybody(gen2: Gen2) -> None:
    _entries(gen2, {"/": "--x", "TestFolder": "--x"})
    gen2.set_acl(HELLO, f"user::rw-,{VM}:rw-,group::r--,mask::r--,other::---")
    assert gen2.call("GET", gen2.url(FS, HELLO)).status_code == 200
    assert gen2.call("PATCH", gen2.url(FS, HELLO), data=b"!",
                     params={"action": "append", "position": "15"}).status_code == 403  # w masked away
    gen2.set_acl(HELLO, "user::rw-,group::---,other::r--")  # no entry for the VM: "other" applies
    assert gen2.call("GET", gen2.url(FS, HELLO)).status_code == 200


def test_default_entries_shape_only_what_is_created_after_them(gen2: Gen2) -> None:
    _entries(gen2, {"/": "--x", "TestFolder": "--x"})
    gen2.add_entries("TestFolder", f"default:{VM}:r--")
    assert gen2.call("PUT", gen2.url(FS, "TestFolder/later.txt"), who="admin",
                     params={"resource": "file"}).status_code == 201
    assert gen2.call("GET", gen2.url(FS, "TestFolder/later.txt")).status_code == 200  # inherited
    assert gen2.call("GET", gen2.url(FS, HELLO)).status_code == 403  # older than the default entry


def test_the_sticky_bit_keeps_others_files(gen2: Gen2) -> None:
    _entries(gen2, {"/": "--x"})
    gen2.call("PATCH", gen2.url(FS, "TestFolder"), who="admin", params={"action": "setAccessControl"},
              headers={"x-ms-permissions": "rwxrwxrwt"})
    assert gen2.write("TestFolder/vm.txt", b"mine") == [201, 202, 200]
    assert gen2.call("DELETE", gen2.url(FS, HELLO)).status_code == 403  # the admin's
    assert gen2.call("DELETE", gen2.url(FS, "TestFolder/vm.txt")).status_code == 200  # its own


def test_recursive_acl_by_an_owner_of_some_paths_reports_the_others(gen2: Gen2) -> None:
    _entries(gen2, {"/": "--x", "TestFolder": "rwx"})
    assert gen2.write("TestFolder/vm.txt", b"mine") == [201, 202, 200]
    params = {"action": "setAccessControlRecursive", "mode": "modify"}
    stopped = gen2.call("PATCH", gen2.url(FS, "TestFolder"), params=params, headers={"x-ms-acl": "other::r--"})
    assert stopped.status_code == 200
    assert stopped.json() == {"directoriesSuccessful": 0, "failedEntries": [
        {"errorMessage": "This request is not authorized to perform this operation using this permission.",
         "name": "TestFolder", "type": "DIRECTORY"}], "failureCount": 1, "filesSuccessful": 0}
    forced = gen2.call("PATCH", gen2.url(FS, "TestFolder"), params={**params, "forceFlag": "true"},
                       headers={"x-ms-acl": "other::r--"})
    assert forced.json()["filesSuccessful"] == 1 and forced.json()["failureCount"] == 2
    assert gen2.acl("TestFolder/vm.txt")["acl"].endswith("other::r--")
    assert gen2.acl(HELLO)["acl"].endswith("other::---")


def test_acl_answers_are_gen2_json(gen2: Gen2) -> None:
    refused = gen2.call("GET", gen2.url(FS, HELLO))
    assert code(refused) == (403, "AuthorizationPermissionMismatch")
    assert refused.headers["Content-Type"] == "application/json;charset=utf-8"
    assert set(refused.json()) == {"error"} and set(refused.json()["error"]) == {"code", "message"}
    assert b"Hello world" not in refused.content
