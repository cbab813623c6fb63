"""Every WebHDFS operation of the emulated Data Lake Gen1 account: answers, shapes and headers.

The admin (Owner of the subscription, so a Gen1 super-user) drives most calls; the ACL matrix is in
test_gen1_acl_matrix.py. Shapes are compared with Gen1's recorded answers (azure-datalake-store's
test cassettes) and the tutorial's.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from datalake_helpers import VM_OID, Lake, assert_refused, remote_exception
from emu_helpers import Azure

from emulator.app import Emulator
from emulator.core.settings import Settings

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- the tutorial's calls ----------------------------------------------------------------------------
def test_liststatus_answers_as_the_tutorial_shows(lake: Lake) -> None:
    response = lake.ok("GET", "/", "LISTSTATUS")
    assert response.headers["x-ms-webhdfs-version"] == "17.04.22.00"
    assert response.headers["Status"] == "0x0"
    assert GUID.match(response.headers["x-ms-request-id"])
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    folder = next(s for s in response.json()["FileStatuses"]["FileStatus"] if s["pathSuffix"] == "TestFolder")
    assert list(folder)[:11] == ["length", "pathSuffix", "type", "blockSize", "accessTime", "modificationTime",
                                 "replication", "permission", "owner", "group", "aclBit"]
    assert (folder["type"], folder["length"], folder["blockSize"], folder["replication"], folder["permission"]) == \
        ("DIRECTORY", 0, 0, 0, "770")
    assert folder["owner"] == folder["group"] == lake.azure.admin_oid
    assert isinstance(folder["modificationTime"], int) and folder["modificationTime"] > 1_500_000_000_000


def test_boolean_answers_are_compact_json(lake: Lake) -> None:
    response = lake.ok("PUT", f"{lake.scratch()}/made", "MKDIRS")
    assert response.text == '{"boolean":true}'


def test_create_is_two_steps_when_the_client_does_not_follow(lake: Lake) -> None:
    path = f"{lake.scratch()}/Test1.txt"
    first = lake.call("PUT", path, "CREATE", "admin", data=b"Test file.\n")
    assert first.status_code == 307
    assert first.content == b""
    assert first.headers["Location"] == f"{lake.url(path)}?op=CREATE&write=true"
    assert first.headers["Status"] == "0x0"
    assert not lake.exists(path), "the first step writes nothing"
    second = lake.http.put(first.headers["Location"], data=b"Test file.\n", timeout=10,
                           headers={"Authorization": f"Bearer {lake.admin_token()}"})
    assert second.status_code == 201, second.text
    assert second.content == b""
    assert second.headers["Location"] == first.headers["Location"]
    assert lake.read(path).content == b"Test file.\n"


def test_create_with_a_client_that_follows_the_redirect(lake: Lake) -> None:
    """What `curl -L -T` and requests do: the body goes to the Location as well."""
    path = f"{lake.scratch()}/followed.txt"
    response = lake.call("PUT", path, "CREATE", "admin", data=b"followed", allow_redirects=True)
    assert response.status_code == 201, response.text
    assert [r.status_code for r in response.history] == [307]
    assert lake.read(path).content == b"followed"
    status = lake.status(path).json()["FileStatus"]
    assert (status["type"], status["length"], status["blockSize"], status["replication"]) == \
        ("FILE", 8, 268435456, 1)
    assert status["msExpirationTime"] == 0


def test_a_redirect_replaces_a_false_flag_rather_than_adding_a_second(lake: Lake) -> None:
    path = f"{lake.scratch()}/flag.txt"
    first = lake.call("PUT", path, "CREATE", "admin", params={"write": "false", "overwrite": "true"})
    assert first.status_code == 307
    assert first.headers["Location"].endswith("?op=CREATE&overwrite=true&write=true")


def test_open_redirects_to_read_true_and_serves_the_bytes(lake: Lake) -> None:
    path = f"{lake.scratch()}/data.bin"
    assert lake.write(path, bytes(range(256)) * 4).status_code == 201
    first = lake.call("GET", path, "OPEN", "admin")
    assert first.status_code == 307
    assert first.headers["Location"].endswith("?op=OPEN&read=true")
    followed = lake.call("GET", path, "OPEN", "admin", allow_redirects=True)
    assert followed.status_code == 200
    assert followed.headers["Content-Type"] == "application/octet-stream"
    assert followed.content == bytes(range(256)) * 4


def test_open_reads_ranges(lake: Lake) -> None:
    path = f"{lake.scratch()}/digits.txt"
    lake.write(path, b"0123456789")
    assert lake.read(path, offset="3", length="4").content == b"3456"
    assert lake.read(path, offset="7").content == b"789"
    assert lake.read(path, length="100").content == b"0123456789"
    assert lake.read(path, offset="10").content == b""
    past = lake.read(path, offset="11")
    assert_refused(past, 400, "BadOffsetException")
    assert past.headers["Status"] == "0x83090015"
    for bad in ("-1", "x", "1.5"):
        assert_refused(lake.read(path, offset=bad), 400, "IllegalArgumentException")


def test_open_of_a_folder_or_nothing_is_not_found(lake: Lake) -> None:
    folder = lake.scratch()
    assert_refused(lake.read(folder), 404, "FileNotFoundException")
    assert_refused(lake.read(f"{folder}/missing"), 404, "FileNotFoundException")


def test_append_is_two_steps_and_checks_the_offset(lake: Lake) -> None:
    path = f"{lake.scratch()}/log.txt"
    lake.write(path, b"one\n")
    first = lake.call("POST", path, "APPEND", "admin", data=b"two\n")
    assert first.status_code == 307
    assert first.headers["Location"].endswith("?op=APPEND&append=true")
    assert lake.read(path).content == b"one\n"
    followed = lake.call("POST", path, "APPEND", "admin", data=b"two\n", allow_redirects=True)
    assert followed.status_code == 200, followed.text
    assert lake.ok("POST", path, "APPEND", params={"append": "true", "offset": "8"}, data=b"three\n")
    wrong = lake.call("POST", path, "APPEND", "admin", params={"append": "true", "offset": "3"}, data=b"x")
    error = assert_refused(wrong, 400, "BadOffsetException")
    assert error["javaClassName"] == "org.apache.hadoop.fs.adl.BadOffsetException"
    assert error["message"].startswith("APPEND failed with error 0x83090015 (Bad request. Invalid offset.).")
    assert lake.read(path).content == b"one\ntwo\nthree\n"
    assert lake.status(path).json()["FileStatus"]["length"] == 14


def test_append_to_an_empty_file_and_to_nothing(lake: Lake) -> None:
    folder = lake.scratch()
    lake.write(f"{folder}/empty", b"")
    assert lake.ok("POST", f"{folder}/empty", "APPEND", params={"append": "true", "offset": "0"}, data=b"first")
    assert lake.read(f"{folder}/empty").content == b"first"
    missing = lake.call("POST", f"{folder}/none", "APPEND", "admin", params={"append": "true"}, data=b"x")
    assert_refused(missing, 404, "FileNotFoundException")
    assert_refused(lake.call("POST", folder, "APPEND", "admin", params={"append": "true"}, data=b"x"),
                   404, "FileNotFoundException")


def test_create_does_not_overwrite_unless_asked(lake: Lake) -> None:
    path = f"{lake.scratch()}/keep.txt"
    assert lake.write(path, b"first").status_code == 201
    again = lake.write(path, b"second")
    assert_refused(again, 403, "FileAlreadyExistsException")
    assert lake.read(path).content == b"first"
    assert lake.write(path, b"second", overwrite="true").status_code == 201
    assert lake.read(path).content == b"second"
    assert_refused(lake.write(str(Path(path).parent), b"x", overwrite="true"), 403, "FileAlreadyExistsException")


def test_create_makes_missing_parent_folders(lake: Lake) -> None:
    folder = lake.scratch()
    assert lake.write(f"{folder}/a/b/c.txt", b"deep").status_code == 201
    assert lake.status(f"{folder}/a/b").json()["FileStatus"]["type"] == "DIRECTORY"
    through_file = lake.write(f"{folder}/a/b/c.txt/d.txt", b"x")
    assert_refused(through_file, 403, "ParentNotDirectoryException")


def test_mkdirs(lake: Lake) -> None:
    folder = lake.scratch()
    assert lake.ok("PUT", f"{folder}/x/y/z", "MKDIRS").json() == {"boolean": True}
    assert lake.ok("PUT", f"{folder}/x/y", "MKDIRS").json() == {"boolean": True}  # already there
    lake.write(f"{folder}/file", b"f")
    assert_refused(lake.call("PUT", f"{folder}/file", "MKDIRS", "admin"), 403, "FileAlreadyExistsException")
    assert_refused(lake.call("PUT", f"{folder}/file/sub", "MKDIRS", "admin"), 403, "ParentNotDirectoryException")


def test_delete(lake: Lake) -> None:
    folder = lake.scratch()
    lake.write(f"{folder}/d/f1", b"1")
    lake.write(f"{folder}/d/e/f2", b"2")
    assert lake.ok("DELETE", f"{folder}/d/f1", "DELETE").json() == {"boolean": True}
    assert not lake.exists(f"{folder}/d/f1")
    assert lake.ok("DELETE", f"{folder}/nothing", "DELETE").json() == {"boolean": False}
    not_empty = lake.call("DELETE", f"{folder}/d", "DELETE", "admin")
    assert_refused(not_empty, 403, "PathIsNotEmptyDirectoryException")
    assert lake.exists(f"{folder}/d/e/f2")
    assert lake.ok("DELETE", f"{folder}/d", "DELETE", params={"recursive": "true"}).json() == {"boolean": True}
    assert not lake.exists(f"{folder}/d/e/f2") and not lake.exists(f"{folder}/d")
    assert lake.ok("DELETE", "/", "DELETE", params={"recursive": "true"}).json() == {"boolean": False}
    assert lake.exists("/TestFolder/hello_world.txt")


def test_rename(lake: Lake) -> None:
    folder = lake.scratch()
    lake.write(f"{folder}/a.txt", b"a")
    lake.write(f"{folder}/src/inner/deep.txt", b"deep")
    lake.mkdirs(f"{folder}/dst")

    def rename(source: str, destination: str) -> bool:
        return lake.ok("PUT", source, "RENAME", params={"destination": destination}).json()["boolean"]

    assert rename(f"{folder}/a.txt", f"{folder}/b.txt") is True
    assert lake.read(f"{folder}/b.txt").content == b"a" and not lake.exists(f"{folder}/a.txt")
    assert rename(f"{folder}/b.txt", f"{folder}/dst") is True  # into an existing folder
    assert lake.read(f"{folder}/dst/b.txt").content == b"a"
    lake.write(f"{folder}/c.txt", b"c")
    assert rename(f"{folder}/c.txt", f"{folder}/dst/b.txt") is False  # taken: nothing changes
    assert lake.read(f"{folder}/dst/b.txt").content == b"a"
    assert rename(f"{folder}/none", f"{folder}/x") is False
    assert rename(f"{folder}/c.txt", f"{folder}/no/such/parent.txt") is False
    assert rename(f"{folder}/src", f"{folder}/src/inner/self") is False
    # The SDK sends the destination without its leading slash.
    assert rename(f"{folder}/src", f"{folder.lstrip('/')}/moved") is True
    assert lake.read(f"{folder}/moved/inner/deep.txt").content == b"deep"
    assert not lake.exists(f"{folder}/src/inner/deep.txt")
    assert_refused(lake.call("PUT", f"{folder}/moved", "RENAME", "admin"), 400, "IllegalArgumentException")


def test_getfilestatus_of_nothing_is_gen1s_404(lake: Lake) -> None:
    response = lake.status("/TestFolder/nope.txt")
    error = assert_refused(response, 404, "FileNotFoundException")
    assert response.headers["Status"] == "0x8309000A"
    assert error["javaClassName"] == "java.io.FileNotFoundException"
    assert re.fullmatch(r"File/Folder does not exist: /TestFolder/nope\.txt \[[0-9a-f-]{36}\]\[[0-9T:.+-]+\]",
                        error["message"]), error["message"]
    assert list(response.json()["RemoteException"]) == ["exception", "message", "javaClassName"]


def test_root_is_reachable_as_the_sdk_names_it(lake: Lake) -> None:
    for spelled in ("/", "/.", ""):
        status = lake.status(spelled).json()["FileStatus"]
        assert (status["type"], status["pathSuffix"]) == ("DIRECTORY", "")


def test_liststatus_of_a_file_and_pages(lake: Lake) -> None:
    folder = lake.scratch()
    for name in ("c", "a", "e", "b", "d"):
        lake.write(f"{folder}/{name}", name.encode())
    one = lake.ok("GET", f"{folder}/a", "LISTSTATUS").json()["FileStatuses"]["FileStatus"]
    assert [(s["pathSuffix"], s["length"]) for s in one] == [("", 1)]
    plain = lake.ok("GET", folder, "LISTSTATUS").json()["FileStatuses"]
    assert "continuationToken" not in plain  # the tutorial's answer, without api-version
    assert [s["pathSuffix"] for s in plain["FileStatus"]] == ["a", "b", "c", "d", "e"]
    names, after = [], None
    while True:
        params = {"listSize": "2", "api-version": "2018-09-01", **({"listAfter": after} if after else {})}
        page = lake.ok("GET", folder, "LISTSTATUS", params=params).json()["FileStatuses"]
        names += [s["pathSuffix"] for s in page["FileStatus"]]
        after = page["continuationToken"]
        if not after:
            break
    assert names == ["a", "b", "c", "d", "e"]
    assert_refused(lake.call("GET", folder, "LISTSTATUS", "admin", params={"listSize": "0"}), 400,
                   "IllegalArgumentException")


def test_getcontentsummary(lake: Lake) -> None:
    folder = lake.scratch()
    lake.write(f"{folder}/f1", b"12345")
    lake.write(f"{folder}/sub/f2", b"123")
    lake.mkdirs(f"{folder}/sub/empty")
    summary = lake.ok("GET", folder, "GETCONTENTSUMMARY").json()["ContentSummary"]
    assert summary == {"directoryCount": 3, "fileCount": 2, "length": 8, "quota": -1, "spaceConsumed": 8,
                       "spaceQuota": -1}


def test_acl_operations_answer_as_gen1_recorded(lake: Lake) -> None:
    """The recorded SETACL → MODIFY → REMOVE entries → REMOVEDEFAULTACL → REMOVEACL sequence, entry for entry."""
    path = f"{lake.scratch()}/a"
    lake.write(path, b"")
    other = "470c0ccf-c91a-4597-98cd-48507d2f1486"
    assert lake.entries(path) == ["user::rwx", "group::rwx", "other::---"]
    assert lake.acl(path, f"user::rwx,group::rwx,other::---,user:{other}:rwx", "SETACL").status_code == 200
    assert lake.entries(path) == ["user::rwx", f"user:{other}:rwx", "group::rwx", "mask::rwx", "other::---"]
    lake.acl(path, f"user:{other}:-w-")
    assert lake.entries(path) == ["user::rwx", f"user:{other}:-w-", "group::rwx", "mask::rwx", "other::---"]
    assert lake.acl(path, f"user:{other}", "REMOVEACLENTRIES").status_code == 200
    assert lake.entries(path) == ["user::rwx", "group::rwx", "mask::rwx", "other::---"]
    assert lake.ok("PUT", path, "REMOVEDEFAULTACL").status_code == 200
    assert lake.ok("PUT", path, "REMOVEACL").status_code == 200
    assert lake.entries(path) == ["user::rwx", "group::rwx", "other::---"]
    status = lake.ok("GET", path, "MSGETACLSTATUS").json()["AclStatus"]
    assert status == {"entries": ["user::rwx", "group::rwx", "other::---"], "group": lake.azure.admin_oid,
                      "owner": lake.azure.admin_oid, "permission": "770", "stickyBit": False}


def test_getaclstatus_lists_what_hadoop_lists(lake: Lake) -> None:
    """GETACLSTATUS (Hadoop's): extended entries only — the rest is in "permission"."""
    folder = lake.scratch()
    lake.acl(folder, f"user:{VM_OID}:r-x,default:user:{VM_OID}:rwx")
    status = lake.ok("GET", folder, "GETACLSTATUS").json()["AclStatus"]
    assert status["entries"] == [f"user:{VM_OID}:r-x", "group::rwx", "default:user::rwx",
                                 f"default:user:{VM_OID}:rwx", "default:group::rwx", "default:mask::rwx",
                                 "default:other::---"]
    assert status["permission"] == "770"
    assert lake.status(folder).json()["FileStatus"]["aclBit"] is True


def test_default_acl_on_a_file_and_bad_specs_are_refused(lake: Lake) -> None:
    path = f"{lake.scratch()}/f"
    lake.write(path, b"")
    assert_refused(lake.acl(path, f"default:user:{VM_OID}:rwx"), 400, "IllegalArgumentException")
    for spec in ("user:x:rwz", "bogus::rwx", "mask:named:rwx", "", "user::rwx,user::r-x"):
        assert_refused(lake.acl(path, spec, "SETACL"), 400, "IllegalArgumentException")
    assert_refused(lake.acl(path, "user::rwx", "SETACL"), 400, "IllegalArgumentException")  # group, other missing
    assert lake.entries(path) == ["user::rwx", "group::rwx", "other::---"]


def test_setpermission(lake: Lake) -> None:
    path = f"{lake.scratch()}/f"
    lake.write(path, b"")
    for given, shown in (("0550", "550"), ("640", "640"), ("1770", "1770")):
        lake.ok("PUT", path, "SETPERMISSION", params={"permission": given})
        assert lake.status(path).json()["FileStatus"]["permission"] == shown
    lake.ok("PUT", path, "SETPERMISSION")  # no permission: unchanged
    assert lake.status(path).json()["FileStatus"]["permission"] == "1770"
    for bad in ("888", "17777", "rwx"):
        assert_refused(lake.call("PUT", path, "SETPERMISSION", "admin", params={"permission": bad}), 400,
                       "IllegalArgumentException")


def test_setowner(lake: Lake) -> None:
    path = f"{lake.scratch()}/f"
    lake.write(path, b"")
    lake.ok("PUT", path, "SETOWNER", params={"owner": VM_OID})
    status = lake.status(path).json()["FileStatus"]
    assert (status["owner"], status["group"]) == (VM_OID, lake.azure.admin_oid)
    assert_refused(lake.call("PUT", path, "SETOWNER", "admin"), 400, "IllegalArgumentException")


def test_checkaccess(lake: Lake) -> None:
    folder = lake.scratch()
    lake.acl(folder, f"user:{VM_OID}:r-x")
    lake.acl("/", f"user:{VM_OID}:--x")
    assert lake.call("GET", folder, "CHECKACCESS", "vm", params={"fsaction": "r-x"}).status_code == 200
    assert_refused(lake.call("GET", folder, "CHECKACCESS", "vm", params={"fsaction": "-w-"}), 403,
                   "AccessControlException")
    assert_refused(lake.call("GET", folder, "CHECKACCESS", "vm", params={"fsaction": "rwz"}), 400,
                   "IllegalArgumentException")
    lake.acl("/", f"user:{VM_OID}", "REMOVEACLENTRIES")


# -- parameters as Hadoop reads them ------------------------------------------------------------------
def test_parameter_names_and_values_are_case_insensitive(lake: Lake) -> None:
    """The SDK sends OP= and recursive=True."""
    folder = lake.scratch()
    lake.write(f"{folder}/d/f", b"x")
    assert lake.call("GET", folder, None, "admin", params={"OP": "liststatus"}).status_code == 200
    removed = lake.call("DELETE", f"{folder}/d", None, "admin", params={"Op": "DELETE", "Recursive": "True"})
    assert removed.json() == {"boolean": True}
    assert_refused(lake.call("DELETE", folder, "DELETE", "admin", params={"recursive": "yes"}), 400,
                   "IllegalArgumentException")


def test_api_versions(lake: Lake) -> None:
    for version in ("2016-11-01", "2018-05-01", "2018-09-01"):
        assert lake.call("GET", "/", "GETFILESTATUS", "admin", params={"api-version": version}).status_code == 200
    for version in ("2015-10-01-preview", "yesterday", "2018-13-01", "2999-01-01"):
        response = lake.call("GET", "/", "GETFILESTATUS", "admin", params={"api-version": version})
        assert_refused(response, 400, "IllegalArgumentException")
        assert "api-version" in remote_exception(response)["message"]


@pytest.mark.parametrize(("method", "params"), [
    ("GET", {"op": "NOSUCHOP"}), ("GET", {}), ("GET", {"op": "MKDIRS"}), ("PUT", {"op": "LISTSTATUS"}),
    ("POST", {"op": "CREATE"}), ("DELETE", {"op": "OPEN"}), ("PUT", {"op": "SETEXPIRY"}),
])
def test_an_unknown_operation_or_the_wrong_verb_is_an_illegal_argument(lake: Lake, method: str,
                                                                        params: dict[str, str]) -> None:
    response = lake.call(method, "/TestFolder", None, "admin", params=params)
    error = assert_refused(response, 400, "IllegalArgumentException")
    assert 'webhdfs parameter "op"' in error["message"]
    assert lake.exists("/TestFolder/hello_world.txt")


def test_other_verbs_and_urls_get_webhdfs_errors(lake: Lake) -> None:
    patch = lake.call("PATCH", "/TestFolder", "LISTSTATUS", "admin")
    assert_refused(patch, 405, "UnsupportedOperationException")
    other = lake.http.get(f"{lake.base}/webhdfsext/TestFolder", params={"op": "SETEXPIRY"}, timeout=10,
                          headers={"Authorization": f"Bearer {lake.admin_token()}"})
    assert_refused(other, 400, "UnsupportedOperationException")


# -- state: reset, persistence, privacy --------------------------------------------------------------------
def test_reset_restores_the_declared_world(lake: Lake, emulator: Emulator) -> None:
    lake.write("/TestFolder/hello_world.txt", b"changed", overwrite="true")
    lake.write("/extra.txt", b"extra")
    lake.acl("/TestFolder", f"user:{VM_OID}:rwx")
    emulator.reset()
    assert lake.read("/TestFolder/hello_world.txt").content == b"Hello world! :)"
    assert not lake.exists("/extra.txt")
    assert lake.entries("/TestFolder") == ["user::rwx", "group::rwx", "other::---"]
    assert [s["pathSuffix"] for s in lake.ok("GET", "/", "LISTSTATUS").json()["FileStatuses"]["FileStatus"]] == \
        ["TestFolder"]


def test_contents_persist_privately_under_generated_names(tmp_path: Path) -> None:
    settings = Settings(ports={name: 0 for name in Settings().ports}, data_dir=tmp_path / "data")
    first = Emulator(settings).start_in_thread()
    try:
        assert first.profile is not None
        azure = Azure(first.profile)
        Lake(azure).write("/TestFolder/kept.txt", b"kept across a restart")
        azure.http.close()
    finally:
        first.stop()
    bodies = settings.data_dir / "datalake"
    names = sorted(p.name for p in bodies.iterdir())
    assert len(names) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", n) for n in names), names
    if os.name == "posix":
        assert stat.S_IMODE(bodies.stat().st_mode) == 0o700
        assert {stat.S_IMODE((bodies / n).stat().st_mode) for n in names} == {0o600}
    (bodies / "0123.upload").write_bytes(b"an upload a crash interrupted")
    (bodies / ("f" * 32)).write_bytes(b"nothing points here")
    again = Emulator(settings).start_in_thread()
    try:
        assert again.profile is not None
        azure = Azure(again.profile)
        assert Lake(azure).read("/TestFolder/kept.txt").content == b"kept across a restart"
        assert sorted(p.name for p in bodies.iterdir()) == names, "orphans are swept at start"
        azure.http.close()
    finally:
        again.stop()


def test_in_memory_contents_stay_out_of_the_data_dir(lake: Lake, emulator: Emulator) -> None:
    lake.write("/TestFolder/memory.txt", b"gone at stop")
    assert emulator.settings.in_memory
    assert not (emulator.settings.data_dir / "datalake").exists()
