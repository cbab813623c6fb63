"""Bad tokens, the wrong audience, hostile paths and oversized bodies at the Gen1 endpoint.

Every refusal is a WebHDFS RemoteException with Gen1's class and status, never a 500 or a dropped
connection, and nothing is written. The forged tokens are test_bad_tokens.py's, addressed to Gen1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from datalake_helpers import GEN1, VM_OID, Lake, assert_refused
from emu_helpers import NewFiles, hang_up_mid_upload, stall_mid_body
from test_bad_tokens import CASES, Forge

from emulator.app import Emulator
from emulator.core import http
from emulator.services.datalake import lake_for
from emulator.services.datalake.bodies import UPLOAD_SUFFIX
from emulator.services.datalake.errors import MAX_WRITE_BYTES


class Gen1Forge(Forge):
    """The same forgeries, each addressed to Gen1 so only its intended defect can refuse it."""

    def claims(self, **overrides: Any) -> dict[str, Any]:
        return super().claims(**{"aud": GEN1, **overrides})


@pytest.fixture(scope="module")
def forge(lake: Lake, emulator: Emulator) -> Gen1Forge:
    return Gen1Forge(emulator, lake.azure)


def _header(forge: Forge, build: Callable[[Forge], str | None]) -> dict[str, str]:
    value = build(forge)
    return {} if value is None else {"Authorization": value}


def test_positive_control_the_forge_makes_tokens_gen1_accepts(lake: Lake, forge: Gen1Forge) -> None:
    assert lake.call("GET", "/", "LISTSTATUS", forge.real()).status_code == 200
    assert lake.call("GET", "/", "LISTSTATUS", forge.real(exp=int(time.time()) - 60)).status_code == 200


@pytest.mark.parametrize(("case_id", "build", "_arm_code"), CASES, ids=[c[0] for c in CASES])
def test_bad_token_is_a_security_exception(lake: Lake, forge: Gen1Forge, case_id: str,
                                           build: Callable[[Forge], str | None], _arm_code: str) -> None:
    response = lake.call("GET", "/TestFolder", "LISTSTATUS", None, headers=_header(forge, build))
    error = assert_refused(response, 401, "SecurityException")
    assert error["javaClassName"] == "java.lang.SecurityException"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert "hello_world" not in response.text


@pytest.mark.parametrize(("case_id", "build", "_arm_code"), CASES, ids=[c[0] for c in CASES])
def test_bad_token_writes_nothing(lake: Lake, forge: Gen1Forge, case_id: str,
                                  build: Callable[[Forge], str | None], _arm_code: str) -> None:
    path = f"/TestFolder/forged-{case_id}.txt"
    response = lake.call("PUT", path, "CREATE", None, params={"write": "true"}, data=b"forged",
                         headers=_header(forge, build))
    assert_refused(response, 401, "SecurityException")
    acl = lake.call("PUT", "/", "MODIFYACLENTRIES", None, params={"aclspec": f"user:{VM_OID}:rwx"},
                    headers=_header(forge, build))
    assert_refused(acl, 401, "SecurityException")
    assert not lake.exists(path)
    assert all(VM_OID not in e for e in lake.entries("/"))


@pytest.mark.parametrize("audience", [
    "https://datalake.azure.net",  # the tutorial's warning: the trailing slash matters
    "https://datalake.azure.net//", "https://storage.azure.com/", "https://management.azure.com/",
    "https://datalake.azure.net/.default", "https://DATALAKE.azure.net/",
])
def test_only_the_exact_audience_is_accepted(lake: Lake, forge: Gen1Forge, audience: str) -> None:
    response = lake.call("GET", "/", "LISTSTATUS", forge.real(aud=audience))
    error = assert_refused(response, 401, "SecurityException")
    assert f"'{audience}'" in error["message"] and "trailing slash" in error["message"]


def test_an_imds_token_without_the_trailing_slash_is_refused(lake: Lake) -> None:
    """The tutorial's trap, end to end: IMDS issues the token, Gen1 refuses it."""
    no_slash = lake.azure.mi_token("https://datalake.azure.net")
    assert_refused(lake.call("GET", "/", "LISTSTATUS", no_slash), 401, "SecurityException")
    assert_refused(lake.call("GET", "/", "LISTSTATUS", lake.vm_token()), 403, "AccessControlException")


def test_refusal_messages_say_what_was_wrong(lake: Lake, forge: Gen1Forge) -> None:
    missing = assert_refused(lake.call("GET", "/", "LISTSTATUS", None), 401, "SecurityException")
    assert "'Authorization' header is missing" in missing["message"]
    expired = lake.call("GET", "/", "LISTSTATUS", forge.real(exp=int(time.time()) - 3600))
    assert "expired" in assert_refused(expired, 401, "SecurityException")["message"]
    issuer = lake.call("GET", "/", "LISTSTATUS", forge.real(iss="https://evil.example/"))
    assert "'https://evil.example/'" in assert_refused(issuer, 401, "SecurityException")["message"]


# -- hostile paths ----------------------------------------------------------------------------------------
HOSTILE = [
    "/webhdfs/v1/TestFolder/../../etc/passwd", "/webhdfs/v1/..", "/webhdfs/v1/TestFolder/%2e%2e/%2e%2e/x",
    "/webhdfs/v1/TestFolder%2F..%2Fx", "/webhdfs/v1/TestFolder%2fhello_world.txt", "/webhdfs/v1/Test%00Folder",
    "/webhdfs/v1/TestFolder%5C..%5Cx", "/webhdfs/v1/TestFolder/%0aevil", "/webhdfs/v1/%ff%fe",
    "/webhdfs/v1/../../../../tmp/escaped",
]


@pytest.mark.parametrize("target", HOSTILE)
@pytest.mark.parametrize("op", ["GET ?op=GETFILESTATUS", "PUT ?op=MKDIRS", "PUT ?op=CREATE&write=true"])
def test_hostile_paths_are_illegal_arguments_and_touch_nothing(lake: Lake, emulator: Emulator, target: str,
                                                               op: str) -> None:
    method, query = op.split(" ")
    before = sorted(p.name for p in emulator.settings.data_dir.rglob("*"))
    status, body = lake.raw(f"{method} {target}{query}", lake.admin_token())
    assert status == 400, body
    assert '"exception":"IllegalArgumentException"' in body
    assert '"javaClassName":"java.lang.IllegalArgumentException"' in body
    assert sorted(p.name for p in emulator.settings.data_dir.rglob("*")) == before
    names = [s["pathSuffix"] for s in lake.ok("GET", "/", "LISTSTATUS").json()["FileStatuses"]["FileStatus"]]
    assert not {"etc", "tmp", "x", "evil"} & set(names)


@pytest.mark.parametrize("destination", ["../../outside", "/TestFolder/../..", "a\x00b", "a\\..\\b"])
def test_hostile_rename_destinations_are_refused(lake: Lake, destination: str) -> None:
    folder = lake.scratch()
    lake.write(f"{folder}/f", b"f")
    response = lake.call("PUT", f"{folder}/f", "RENAME", "admin", params={"destination": destination})
    assert_refused(response, 400, "IllegalArgumentException")
    assert lake.exists(f"{folder}/f")


def test_names_with_url_special_characters_are_fine(lake: Lake) -> None:
    """Gen1 recorded a file named '12,+3#456?.txt' (percent-encoded in the URL)."""
    folder = lake.scratch()
    name = "12,+3#456?.txt"
    assert lake.write(f"{folder}/{name}".replace("#", "%23").replace("?", "%3F"), b"0123456789").status_code == 201
    listed = lake.ok("GET", folder, "LISTSTATUS").json()["FileStatuses"]["FileStatus"]
    assert [s["pathSuffix"] for s in listed] == [name]


# -- bodies --------------------------------------------------------------------------------------------------
def test_a_write_of_exactly_4_mb_is_accepted(lake: Lake) -> None:
    path = f"{lake.scratch()}/four"
    payload = bytes(range(256)) * (MAX_WRITE_BYTES // 256)
    assert lake.write(path, payload).status_code == 201
    assert lake.read(path).content == payload


@pytest.mark.parametrize("op", ["CREATE", "APPEND"])
def test_a_body_over_4_mb_is_refused_and_nothing_is_written(lake: Lake, op: str) -> None:
    path = f"{lake.scratch()}/big"
    lake.write(path, b"start")
    too_big = b"x" * (MAX_WRITE_BYTES + 1)
    method, params = ("PUT", {"write": "true", "overwrite": "true"}) if op == "CREATE" else \
        ("POST", {"append": "true"})
    response = lake.call(method, path, op, "admin", params=params, data=too_big)
    error = assert_refused(response, 400, "IllegalArgumentException")
    assert "4 MB" in error["message"]
    assert lake.read(path).content == b"start"


def test_a_chunked_body_is_cut_off_at_the_limit(lake: Lake) -> None:
    path = f"{lake.scratch()}/chunked"

    def chunks() -> Iterator[bytes]:
        for _ in range(24):
            yield b"y" * (256 * 1024)  # 6 MiB with no Content-Length

    response = lake.call("PUT", path, "CREATE", "admin", params={"write": "true"}, data=chunks())
    assert_refused(response, 400, "IllegalArgumentException")
    assert not lake.exists(path)


def test_a_client_that_vanishes_mid_upload_leaves_nothing(lake: Lake, emulator: Emulator) -> None:
    path = f"{lake.scratch()}/vanished"
    url = f"{lake.base}/webhdfs/v1{path}?op=CREATE&write=true"
    head = (f"PUT /webhdfs/v1{path}?op=CREATE&write=true HTTP/1.1\r\nHost: {lake.base.removeprefix('https://')}\r\n"
            f"Authorization: Bearer {lake.admin_token()}\r\nContent-Length: 1000000\r\n\r\n")
    bodies = lake_for(emulator.context).bodies.directory
    assert hang_up_mid_upload(url, lake.azure.ca, head, b"z" * 1000, bodies, UPLOAD_SUFFIX), \
        "the half-received upload is still on disk"
    assert not lake.exists(path)


def test_a_client_that_stalls_mid_upload_is_cut_off_and_leaves_nothing(lake: Lake, emulator: Emulator,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "BODY_IDLE_SECONDS", 0.5)  # core/http.py's _BodyWatchdog, shortened
    path = f"{lake.scratch()}/stalled"
    url = f"{lake.base}/webhdfs/v1{path}?op=CREATE&write=true"
    head = (f"PUT /webhdfs/v1{path}?op=CREATE&write=true HTTP/1.1\r\nHost: {lake.base.removeprefix('https://')}\r\n"
            f"Authorization: Bearer {lake.admin_token()}\r\nContent-Length: 1000000\r\n\r\n")
    ours = NewFiles(lake_for(emulator.context).bodies.directory, UPLOAD_SUFFIX)
    assert stall_mid_body(url, lake.azure.ca, head, b"z" * 1000) == b"", "the stalled upload was not cut off"
    assert ours.wait_until_gone(), "the half-received upload is still on disk"
    assert not lake.exists(path)


def test_unexpected_errors_are_gen1s_500_not_a_bare_page(lake: Lake, monkeypatch: pytest.MonkeyPatch,
                                                         emulator: Emulator) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(lake_for(emulator.context), "list_status", broken)
    response = lake.call("GET", "/", "LISTSTATUS", "admin")
    error = assert_refused(response, 500, "RuntimeException")
    assert "boom" not in error["message"]
