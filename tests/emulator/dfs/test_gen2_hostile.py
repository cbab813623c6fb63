"""Hostile paths, bodies and parameters on the DFS endpoint: Azure's status and code, never a 500, nothing written.

Paths are names in SQLite rows and never become file names (bodies are files named by generated ids), so a
``..`` or a NUL cannot reach outside the data dir; what is checked here is that each gets Gen2's answer.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from blob_helpers import body_files, interrupted_upload
from dfs_helpers import FS, HELLO, VERSION, Gen2, code, scratch

from emulator.app import Emulator

_BODY_FILE = re.compile(r"^(?:[0-9a-f]{2}/[0-9a-f]{32}|store/small-[0-9a-f]{32})$")  # generated ids only


def paths(gen2: Gen2) -> list[str]:
    return sorted(p.name for p in gen2.service().get_file_system_client(FS).get_paths())


@pytest.fixture
def admin(gen2: Gen2) -> Gen2:
    gen2.admin_is_blob_owner()
    return gen2


@pytest.mark.parametrize(("raw", "stored"), [
    ("a%2F%2Fb.txt", "a/b.txt"),  # an empty segment
    ("back%5Cslash%5C..%5Cx.txt", "back\\slash\\..\\x.txt"),  # a backslash is a character like any other
    ("%E5%90%8D%E5%89%8D/%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt", "名前/ünïcödé.txt"),
    ("spaces%20and%20%2525%20signs", "spaces and %25 signs"),
    ("COM1", "COM1"),
    ("q%3Fuery%23frag", "q?uery#frag"),
])
def test_hostile_names_stay_names(admin: Gen2, emulator: Emulator, raw: str, stored: str) -> None:
    created = admin.call("PUT", admin.url(FS) + "/" + raw, who="admin", params={"resource": "file"})
    assert created.status_code == 201, created.text
    assert stored in paths(admin)
    assert all(_BODY_FILE.match(name) for name in body_files(emulator))


@pytest.mark.parametrize(("raw", "status", "error"), [
    ("%00", 400, "InvalidResourceName"),
    ("a%00b", 400, "InvalidResourceName"),
    ("ctrl%01char", 400, "InvalidResourceName"),
    ("..%2F..%2Fetc%2Fpasswd", 400, "InvalidResourceName"),
    ("TestFolder%2F..%2F..%2Fx", 400, "InvalidResourceName"),
    ("bad%FFutf8", 400, "InvalidUri"),
    ("x" * 1025, 400, "OutOfRangeInput"),
])
def test_invalid_paths(admin: Gen2, emulator: Emulator, raw: str, status: int, error: str) -> None:
    before = body_files(emulator), paths(admin)
    response = admin.call("PUT", admin.url(FS) + "/" + raw, who="admin", params={"resource": "file"})
    assert code(response) == (status, error)
    assert response.json()["error"]["code"] == error
    assert (body_files(emulator), paths(admin)) == before


@pytest.mark.parametrize(("name", "status", "error"), [
    ("UPPER", 400, "InvalidResourceName"), ("a", 400, "OutOfRangeInput"), ("dou--ble", 400, "InvalidResourceName"),
    ("-leading", 400, "InvalidResourceName"), ("x" * 64, 400, "OutOfRangeInput"),
])
def test_invalid_filesystem_names(admin: Gen2, name: str, status: int, error: str) -> None:
    response = admin.call("PUT", admin.url(name), who="admin", params={"resource": "filesystem"})
    assert code(response) == (status, error)


def _file(admin: Gen2, data: bytes = b"") -> str:
    path = f"{scratch()}/f.bin"
    assert admin.create(path, who="admin").status_code == 201
    return path


def test_bodies_refused_write_nothing(admin: Gen2, emulator: Emulator) -> None:
    path = _file(admin)
    before = body_files(emulator)
    url = admin.url(FS, path)
    huge = admin.call("PATCH", url, who="admin", params={"action": "append", "position": "0"}, data=b"",
                      headers={"Content-Length": str(4001 * 1024 * 1024)})
    assert code(huge) == (413, "RequestBodyTooLarge")
    chunked = admin.call("PATCH", url, who="admin", params={"action": "append", "position": "0"},
                         data=iter([b"a", b"b"]))
    assert code(chunked) == (411, "MissingContentLengthHeader")
    mismatch = admin.call("PATCH", url, who="admin", params={"action": "append", "position": "0"}, data=b"hello!",
                          headers={"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="})
    assert code(mismatch) == (400, "Md5Mismatch")
    bad_md5 = admin.call("PATCH", url, who="admin", params={"action": "append", "position": "0"}, data=b"x",
                         headers={"Content-MD5": "not-base64"})
    assert code(bad_md5) == (400, "InvalidMd5")
    flush_body = admin.call("PATCH", url, who="admin", params={"action": "flush", "position": "0"}, data=b"x")
    assert code(flush_body) == (400, "ContentLengthMustBeZero")
    create_body = admin.call("PUT", admin.url(FS, f"{scratch()}.txt"), who="admin", params={"resource": "file"},
                             data=b"x")
    assert code(create_body) == (400, "ContentLengthMustBeZero")
    missing = admin.call("PATCH", admin.url(FS, "no/such/file"), who="admin",
                         params={"action": "append", "position": "0"}, data=b"x" * 1000)
    assert code(missing) == (404, "PathNotFound")
    assert body_files(emulator) == before
    assert admin.call("PATCH", url, who="admin", params={"action": "flush", "position": "1"}).status_code == 400


def test_an_interrupted_append_leaves_nothing(admin: Gen2, emulator: Emulator) -> None:
    path = _file(admin)
    before = body_files(emulator)
    url = admin.url(FS, path)
    assert interrupted_upload(emulator, url, admin.ca, f"PATCH {urlsplit(url).path}?action=append&position=0",
                              f"x-ms-version: {VERSION}\r\nAuthorization: Bearer {admin.admin_token()}\r\n")
    assert body_files(emulator) == before
    flush = admin.call("PATCH", admin.url(FS, path), who="admin", params={"action": "flush", "position": "0"})
    assert flush.status_code == 200 and admin.call("GET", admin.url(FS, path), who="admin").content == b""


# (method, path, query, headers, status, code): requests the admin (a super-user) sends wrong
BAD_REQUESTS: list[tuple[str, str, dict[str, str], dict[str, str], int, str]] = [
    ("PATCH", HELLO, {"action": "append"}, {}, 400, "MissingRequiredQueryParameter"),
    ("PATCH", HELLO, {"action": "append", "position": "-1"}, {}, 400, "InvalidQueryParameterValue"),
    ("PATCH", HELLO, {"action": "append", "position": "abc"}, {}, 400, "InvalidQueryParameterValue"),
    ("PATCH", HELLO, {"action": "flush"}, {}, 400, "MissingRequiredQueryParameter"),
    ("PATCH", HELLO, {"action": "flush", "position": "15", "retainUncommittedData": "maybe"}, {}, 400,
     "InvalidQueryParameterValue"),
    ("PATCH", HELLO, {}, {}, 400, "MissingRequiredQueryParameter"),
    ("PATCH", HELLO, {"action": "explode"}, {}, 400, "InvalidQueryParameterValue"),
    ("PATCH", HELLO, {"action": "concurrentAppend"}, {}, 501, "NotImplemented"),
    ("PUT", "new.txt", {"resource": "symlink"}, {}, 400, "InvalidQueryParameterValue"),
    ("PUT", "new.txt", {}, {}, 400, "MissingRequiredQueryParameter"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-permissions": "rwxrwxrwz"}, 400, "InvalidHeaderValue"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-umask": "999"}, 400, "InvalidHeaderValue"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-properties": "a=not base64!"}, 400, "InvalidHeaderValue"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-properties": "1bad=dg=="}, 400, "InvalidPropertyName"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-acl": "user::rwx,bogus"}, 400, "InvalidAccessControlList"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-expiry-option": "NeverExpire"}, 501, "NotImplemented"),
    ("PUT", "new.txt", {"resource": "file"}, {"x-ms-proposed-lease-id": "x"}, 501, "NotImplemented"),
    ("PUT", "new.txt", {}, {"x-ms-rename-source": "no-leading-slash"}, 400, "InvalidSourceUri"),
    ("PUT", "new.txt", {}, {"x-ms-rename-source": "/mi-workbook-fs/%FF"}, 400, "InvalidSourceUri"),
    ("PUT", "new.txt", {"mode": "sideways"}, {"x-ms-rename-source": f"/{FS}/{HELLO}"}, 400,
     "InvalidQueryParameterValue"),
    ("PATCH", "TestFolder", {"action": "setAccessControl"}, {}, 400, "MissingRequiredHeader"),
    ("PATCH", "TestFolder", {"action": "setAccessControl"}, {"x-ms-acl": "user::rwx,group::r-x,other::---",
                                                               "x-ms-permissions": "0750"}, 400,
     "InvalidHeaderValue"),
    ("PATCH", "TestFolder", {"action": "setAccessControl"}, {"x-ms-acl": "user::rwx"}, 400,
     "InvalidAccessControlList"),
    ("PATCH", "TestFolder", {"action": "setAccessControlRecursive", "mode": "bogus"},
     {"x-ms-acl": "other::---"}, 400, "InvalidQueryParameterValue"),
    ("PATCH", "TestFolder", {"action": "setAccessControlRecursive", "mode": "set"},
     {"x-ms-acl": "user:x:rwx"}, 400, "InvalidAccessControlList"),
    ("PATCH", "TestFolder", {"action": "setAccessControlRecursive", "mode": "modify",
                             "continuation": "!!!"}, {"x-ms-acl": "other::---"}, 400, "InvalidQueryParameterValue"),
    ("PATCH", "TestFolder", {"action": "setAccessControlRecursive", "mode": "modify"}, {}, 400,
     "MissingRequiredHeader"),
    ("POST", HELLO, {}, {"x-ms-lease-action": "acquire"}, 501, "NotImplemented"),
    ("GET", HELLO, {}, {"Range": "bytes=100-200"}, 416, "InvalidRange"),
    ("GET", HELLO, {}, {"If-Match": '"0x8D000000000000"'}, 412, "ConditionNotMet"),
    ("GET", "no/such/file.txt", {}, {}, 404, "PathNotFound"),
    ("DELETE", "", {}, {}, 400, "InvalidUri"),
]


@pytest.mark.parametrize(("method", "path", "query", "headers", "status", "error"), BAD_REQUESTS,
                         ids=[f"{m}-{'-'.join(q.values()) or p}-{'-'.join(h) or 'plain'}"[:80]
                              for m, p, q, h, _, _ in BAD_REQUESTS])
def test_bad_requests_get_gen2_codes(admin: Gen2, emulator: Emulator, method: str, path: str, query: dict[str, str],
                                     headers: dict[str, str], status: int, error: str) -> None:
    before = body_files(emulator), paths(admin), admin.acl("TestFolder")
    url = admin.url(FS, path) if path else admin.url(FS) + "//"
    response = admin.call(method, url, who="admin", params=query, headers=headers)
    assert code(response) == (status, error), response.text
    if method != "HEAD":
        assert response.json()["error"]["code"] == error
    assert (body_files(emulator), paths(admin), admin.acl("TestFolder")) == before


@pytest.mark.parametrize(("params", "status", "error"), [
    ({"resource": "filesystem"}, 400, "MissingRequiredQueryParameter"),  # recursive is required
    ({"resource": "filesystem", "recursive": "maybe"}, 400, "InvalidQueryParameterValue"),
    ({"resource": "filesystem", "recursive": "true", "maxResults": "0"}, 400, "OutOfRangeQueryParameterValue"),
    ({"resource": "filesystem", "recursive": "true", "continuation": "%%%"}, 400, "InvalidQueryParameterValue"),
    ({"resource": "filesystem", "recursive": "true", "directory": "../.."}, 400, "InvalidResourceName"),
    ({"resource": "filesystem", "recursive": "true", "directory": "nowhere"}, 404, "PathNotFound"),
    ({"resource": "bucket"}, 400, "InvalidQueryParameterValue"),
    ({}, 400, "MissingRequiredQueryParameter"),
])
def test_bad_listings(admin: Gen2, params: dict[str, str], status: int, error: str) -> None:
    assert code(admin.call("GET", admin.url(FS), who="admin", params=params)) == (status, error)


def test_the_account_level_and_unknown_accounts(admin: Gen2) -> None:
    assert code(admin.call("GET", admin.url(), who="admin")) == (400, "MissingRequiredQueryParameter")
    assert code(admin.call("GET", admin.url(account="nosuchaccount"), who="admin",
                           params={"resource": "account"})) == (404, "ResourceNotFound")
    listed = admin.call("GET", admin.url(), who="admin", params={"resource": "account", "maxResults": "1"})
    assert listed.status_code == 200 and "x-ms-continuation" not in listed.headers  # one filesystem, one page
    blob_api = admin.call("GET", admin.url(), who="admin", params={"comp": "bogus"})
    assert blob_api.headers["Content-Type"].startswith("application/xml")  # a Blob REST request: the blob's errors
    assert code(blob_api) == (400, "InvalidQueryParameterValue")


def test_a_hostile_burst_never_gets_a_500(admin: Gen2) -> None:
    """Many odd combinations at once: whatever the answer, a 4xx (or 501 for what is not emulated) in Gen2's JSON."""
    methods = ["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"]
    queries: list[dict[str, Any]] = [{}, {"action": "append", "position": "0"}, {"action": "flush", "position": "9"},
                                     {"resource": "file"}, {"resource": "directory"}, {"action": "getAccessControl"},
                                     {"action": "setAccessControlRecursive", "mode": "remove"},
                                     {"resource": "filesystem", "recursive": "true"}]
    for method in methods:
        for query in queries:
            for path in ("", HELLO, "TestFolder", "x/../y", "%2e%2e"):
                response = admin.call(method, admin.url(FS) + "/" + path, who="admin", params=query,
                                      headers={"x-ms-acl": "other::r--"})
                assert response.status_code < 500 or response.status_code == 501, (method, query, path)
                if response.status_code >= 400 and method != "HEAD" and response.content:
                    assert "error" in response.json() or response.headers["Content-Type"].endswith("xml")
