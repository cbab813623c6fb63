"""A client that declares a body and stops sending it is cut off (core/http.py, _BodyWatchdog): aiohttp has no
read timeout on a body, so before, such a client held its connection, and an upload's temporary file, for as long
as it stayed connected. Here the idle limit is shortened to half a second."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from blob_helpers import ACCOUNT, CONTAINER, Storage, body_files, utc
from emu_helpers import MI_API, Azure, NewFiles, stall_mid_body

from emulator.app import Emulator
from emulator.core import http
from emulator.services.storage.models import model_for


@pytest.fixture(autouse=True)
def short_idle_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "BODY_IDLE_SECONDS", 0.5)


def test_a_stalled_blob_upload_is_cut_off_and_leaves_no_file(world: Azure, emulator: Emulator) -> None:
    from azure.storage.blob import generate_container_sas

    storage = Storage(world)
    sas = generate_container_sas(ACCOUNT, CONTAINER, account_key=storage.key(), permission="racwdl",
                                 expiry=utc(hours=1))
    before = body_files(emulator)
    url = storage.url(CONTAINER, "stalled.bin") + "?" + sas
    target = urlsplit(url)
    head = (f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\nx-ms-version: 2026-10-06\r\n"
            f"x-ms-blob-type: BlockBlob\r\nContent-Length: {1024 * 1024}\r\n\r\n")
    ours = NewFiles(model_for(emulator.context).bodies.temporary_dir)
    answer = stall_mid_body(url, storage.ca, head, b"x" * 1000)
    assert answer == b"", f"the stalled upload was not cut off: {answer!r}"
    assert ours.wait_until_gone(), "its temporary file is left"
    assert body_files(emulator) == before
    assert storage.read_hello(sas=sas).status_code == 200  # and the endpoint still serves


def test_a_stalled_resource_manager_body_is_cut_off_and_changes_nothing(world: Azure, emulator: Emulator,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="emulator")
    path = world.identity_id("stalled")
    url = world.profile.endpoints["arm"].rstrip("/") + path
    target = urlsplit(url)
    head = (f"PUT {target.path}?api-version={MI_API} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Authorization: Bearer {world.admin_token()}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000\r\n\r\n")
    answer = stall_mid_body(url, world.ca, head, b'{"location": "westeurope"')
    assert answer == b"", f"not cut off: {answer!r}"  # closed, and nothing answered from half a body
    assert world.arm("GET", path, api_version=MI_API).status_code == 404  # no identity from half a body
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "the stall was logged as a failure"
