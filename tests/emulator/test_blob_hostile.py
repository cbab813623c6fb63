"""Bad input on the Blob endpoint: hostile names and paths, broken bodies, interrupted uploads, odd headers.

Each gets Azure's status and code (never a 500, never a dropped connection), and nothing is written:
no blob row, no body file, and no file anywhere but under generated ids.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from blob_helpers import (
    ACCOUNT,
    CONTAINER,
    HELLO,
    Storage,
    account_key_container,
    body_files,
    interrupted_upload,
    utc,
)
from emu_helpers import Azure

from emulator.app import Emulator
from emulator.services.storage import model_for
from emulator.services.storage import models as storage_models
from emulator.services.storage.bodies import SMALL_BODY_LIMIT

BODY_FILE = re.compile(r"^(?:[0-9a-f]{2}/[0-9a-f]{32}|store/small-[0-9a-f]{32})$")  # generated ids only


@pytest.fixture
def storage(world: Azure) -> Storage:
    return Storage(world)


@pytest.fixture
def sas(storage: Storage) -> str:
    from azure.storage.blob import generate_container_sas

    return generate_container_sas(ACCOUNT, CONTAINER, account_key=storage.key(), permission="racwdl",
                                  expiry=utc(hours=1))


def blob_names(storage: Storage) -> list[str]:
    return [b.name for b in storage.admin_container().list_blobs()]


def raw_url(storage: Storage, name: str) -> str:
    """Dots escaped too: HTTP clients remove ``..`` segments themselves, and the server must see them."""
    return storage.url(CONTAINER) + "/" + quote(name, safe="/").replace(".", "%2E")


def put(storage: Storage, sas: str, name: str, data: bytes = b"x", **headers: str) -> object:
    return storage.call("PUT", raw_url(storage, name), sas=sas, data=data,
                        headers={"x-ms-blob-type": "BlockBlob", **headers})


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "a/../../b",
                                  "/leading-slash", "dir/./file", "ünïcödé/名前.txt", "spaces and %25 signs",
                                  "x" * 1024, "COM1", "con.txt", "trailing-dot.", "q?uery#frag"])
def test_hostile_names_stay_names(storage: Storage, sas: str, emulator: Emulator, name: str) -> None:
    response = put(storage, sas, name, name.encode())
    assert response.status_code == 201, response.text
    stored = [n for n in blob_names(storage) if n != HELLO]
    assert stored == [name]
    fetched = storage.call("GET", raw_url(storage, stored[0]), sas=sas)
    assert fetched.content == name.encode()
    assert all(BODY_FILE.match(f) for f in body_files(emulator)), body_files(emulator)
    assert not any(part in f for f in body_files(emulator) for part in ("passwd", "win.ini", ".."))


@pytest.mark.parametrize(("name", "code"), [("x" * 1025, "OutOfRangeInput"), ("ctl\x01char", "InvalidResourceName"),
                                            ("bad%ED%A0%80surrogate", "InvalidUri")])
def test_invalid_blob_names(storage: Storage, sas: str, emulator: Emulator, name: str, code: str) -> None:
    before = body_files(emulator)
    url = storage.url(CONTAINER) + "/" + (name if "%" in name else name.replace("\x01", "%01"))
    response = storage.call("PUT", url, sas=sas, data=b"x", headers={"x-ms-blob-type": "BlockBlob"})
    assert response.status_code == 400, response.text
    assert response.headers["x-ms-error-code"] == code
    assert body_files(emulator) == before and blob_names(storage) == [HELLO]


@pytest.mark.parametrize(("name", "code"), [("ab", "OutOfRangeInput"), ("x" * 64, "OutOfRangeInput"),
                                            ("UPPER", "InvalidResourceName"), ("-dash", "InvalidResourceName"),
                                            ("a--b", "InvalidResourceName"), ("under_score", "InvalidResourceName")])
def test_invalid_container_names(storage: Storage, name: str, code: str) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as refused:
        storage.service().create_container(name)
    assert refused.value.status_code == 400 and refused.value.error_code == code


def test_interrupted_upload_leaves_no_blob_and_no_file(storage: Storage, sas: str, emulator: Emulator) -> None:
    before = body_files(emulator)
    target = urlsplit(storage.url(CONTAINER, "interrupted.bin") + "?" + sas)
    assert interrupted_upload(emulator, target.geturl(), storage.ca, f"PUT {target.path}?{target.query}",
                              "x-ms-version: 2026-10-06\r\nx-ms-blob-type: BlockBlob\r\n"), \
        "the half-received body is still on disk"
    assert body_files(emulator) == before
    assert "interrupted.bin" not in blob_names(storage)
    assert storage.read_hello(sas=sas).status_code == 200  # and the endpoint still serves


def test_refused_bodies_write_nothing(storage: Storage, sas: str, emulator: Emulator) -> None:
    before = body_files(emulator)
    mismatch = put(storage, sas, "md5.txt", b"hello!", **{"Content-MD5": "XUFAKrxLKna5cZ2REBfFkg=="})
    assert (mismatch.status_code, mismatch.headers["x-ms-error-code"]) == (400, "Md5Mismatch")
    bad_md5 = put(storage, sas, "md5.txt", b"hello", **{"Content-MD5": "not-base64"})
    assert (bad_md5.status_code, bad_md5.headers["x-ms-error-code"]) == (400, "InvalidMd5")
    exists = put(storage, sas, HELLO, b"replaced?", **{"If-None-Match": "*"})
    assert (exists.status_code, exists.headers["x-ms-error-code"]) == (409, "BlobAlreadyExists")
    stale = put(storage, sas, HELLO, b"replaced?", **{"If-Match": '"0x8D000000000000"'})
    assert (stale.status_code, stale.headers["x-ms-error-code"]) == (412, "ConditionNotMet")
    bad_name = put(storage, sas, "meta.txt", b"with metadata", **{"x-ms-meta-1bad": "v"})
    assert (bad_name.status_code, bad_name.headers["x-ms-error-code"]) == (400, "InvalidMetadata")
    huge = storage.http.put(storage.url(CONTAINER, "huge.bin") + "?" + sas, timeout=10,
                            headers={"x-ms-version": "2026-10-06", "x-ms-blob-type": "BlockBlob",
                                     "Content-Length": str(5001 * 1024 * 1024)}, data=b"")
    assert (huge.status_code, huge.headers["x-ms-error-code"]) == (413, "RequestBodyTooLarge")
    huge_block = storage.http.put(storage.url(CONTAINER, "huge.bin") + "?comp=block&blockid=YQ%3D%3D&" + sas,
                                  timeout=10, data=b"", headers={"x-ms-version": "2026-10-06",
                                                                 "Content-Length": str(4001 * 1024 * 1024)})
    assert (huge_block.status_code, huge_block.headers["x-ms-error-code"]) == (413, "RequestBodyTooLarge")
    chunked = storage.http.put(storage.url(CONTAINER, "chunked.bin") + "?" + sas, timeout=10,
                               headers={"x-ms-version": "2026-10-06", "x-ms-blob-type": "BlockBlob"},
                               data=iter([b"a", b"b"]))
    assert (chunked.status_code, chunked.headers["x-ms-error-code"]) == (411, "MissingContentLengthHeader")
    assert body_files(emulator) == before and blob_names(storage) == [HELLO]
    assert storage.read_hello(sas=sas).content == b"Hello world! :)"
    block = storage.url(CONTAINER, "blocks.bin") + "?comp=block&blockid={}&" + sas
    version = {"x-ms-version": "2026-10-06"}
    assert storage.http.put(block.format("YQ%3D%3D"), data=b"a block", headers=version, timeout=10).status_code == 201
    staged = body_files(emulator)
    uneven = storage.http.put(block.format("YWJjZA%3D%3D"), data=b"a block", headers=version, timeout=10)
    assert (uneven.status_code, uneven.headers["x-ms-error-code"]) == (400, "InvalidBlobOrBlock")  # ids of one length
    assert body_files(emulator) == staged


@pytest.mark.parametrize(("method", "path", "query", "headers", "body", "status", "code"), [
    ("GET", "blob", "comp=bogus", {}, None, 400, "InvalidQueryParameterValue"),
    ("PUT", "blob", "comp=lease", {}, None, 501, "NotImplemented"),
    ("PUT", "blob", "", {"x-ms-blob-type": "PageBlob"}, b"x", 501, "NotImplemented"),
    ("PUT", "blob", "", {}, b"x", 400, "MissingRequiredHeader"),
    ("PUT", "blob", "", {"x-ms-blob-type": "BlockBlob", "x-ms-copy-source": "https://x"}, b"", 501, "NotImplemented"),
    ("PUT", "blob", "comp=block&blockid=!!!", {}, b"x", 400, "InvalidQueryParameterValue"),
    ("PUT", "blob", "comp=blocklist", {}, b"<BlockList><Latest>nope</Latest></BlockList>", 400, "InvalidBlockList"),
    ("PUT", "blob", "comp=blocklist", {}, b"<BlockList><Latest>", 400, "InvalidXmlDocument"),
    ("PUT", "blob", "comp=blocklist", {}, b'<!DOCTYPE a [<!ENTITY x "y">]><BlockList/>', 400, "InvalidXmlDocument"),
    ("PUT", "blob", "comp=metadata", {"x-ms-meta-1bad": "v"}, None, 400, "InvalidMetadata"),
    ("PUT", "blob", "comp=metadata", {"x-ms-meta-a": "v" * 5000, "x-ms-meta-b": "v" * 5000}, None, 400,
     "MetadataTooLarge"),
    ("GET", "blob", "", {"x-ms-range": "bytes=100-200"}, None, 416, "InvalidRange"),
    ("GET", "blob", "", {"x-ms-range": "lots"}, None, 400, "InvalidHeaderValue"),
    ("GET", "blob", "", {"x-ms-version": "yesterday"}, None, 400, "InvalidHeaderValue"),
    ("GET", "blob", "", {"If-Modified-Since": "not a date"}, None, 400, "InvalidHeaderValue"),
    ("GET", "missing", "", {}, None, 404, "BlobNotFound"),
    ("GET", "container", "restype=container&comp=list&maxresults=0", {}, None, 400, "OutOfRangeQueryParameterValue"),
    ("GET", "container", "restype=container&comp=list&marker=bogus", {}, None, 400, "InvalidQueryParameterValue"),
    ("POST", "blob", "", {}, b"x", 405, "UnsupportedHttpVerb"),
])
def test_bad_requests_get_azure_codes(storage: Storage, sas: str, emulator: Emulator, method: str, path: str,
                                      query: str, headers: dict[str, str], body: bytes | None, status: int,
                                      code: str) -> None:
    before = body_files(emulator)
    url = {"blob": storage.url(CONTAINER, HELLO), "missing": storage.url(CONTAINER, "missing.txt"),
           "container": storage.url(CONTAINER)}[path]
    response = storage.http.request(method, f"{url}?{query}&{sas}" if query else f"{url}?{sas}",
                                    headers={"x-ms-version": "2026-10-06", **headers}, data=body, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["x-ms-error-code"] == code
    assert response.headers["Content-Type"].startswith("application/xml")
    assert f"<Code>{code}</Code>" in response.text
    assert body_files(emulator) == before
    assert storage.read_hello(sas=sas).content == b"Hello world! :)"


def test_unknown_account_and_public_access(storage: Storage, sas: str) -> None:
    missing = storage.call("GET", storage.url(CONTAINER, HELLO, account="nosuchaccount"))
    assert (missing.status_code, missing.headers["x-ms-error-code"]) == (404, "ResourceNotFound")
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as public:
        storage.service().create_container("public", public_access="blob")
    assert (public.value.status_code, public.value.error_code) == (409, "PublicAccessNotPermitted")
    head = storage.call("HEAD", storage.url(CONTAINER, "nothing-here.txt"), sas=sas)
    assert head.status_code == 404 and head.headers["x-ms-error-code"] == "BlobNotFound" and not head.content


def test_in_memory_bodies_live_outside_the_data_dir_and_go_at_stop(tmp_path: Path) -> None:
    from emulator.core.settings import Settings

    with Emulator(Settings.for_tests(tmp_path)) as instance:
        root = model_for(instance.context).bodies.root
        assert not root.is_relative_to(tmp_path)
        assert len(body_files(instance)) == 2  # the two declared hello_world.txt (small: in the store)
        account_key_container(instance).upload_blob("large.bin", b"L" * (SMALL_BODY_LIMIT + 1))
        assert [p for p in root.rglob("*") if p.is_file()] != []  # a large body is a file, outside the data dir
        assert len(body_files(instance)) == 3
    assert not root.exists()
    assert list(tmp_path.rglob("*.sqlite3")) == []  # the small bodies lived in the in-memory store



@pytest.mark.parametrize("path", ["/miworkbookstore/a%14b", "/%C3%A1/%C2%80%14%09",
                                  "/miworkbookstore/mi-workbook?prefix=%01&restype=container&comp=list&maxresults=x%02"])
def test_echoed_input_with_characters_xml_cannot_hold_still_gives_xml(storage: Storage, path: str) -> None:
    import xml.etree.ElementTree as ElementTree

    response = storage.http.get(storage.endpoint + path, headers={"x-ms-version": "2026-10-06"}, timeout=10)
    assert 400 <= response.status_code < 500, response.text
    root = ElementTree.fromstring(response.content)  # raises if a control character was echoed raw
    assert root.findtext("Code") == response.headers["x-ms-error-code"]


def test_a_new_block_beyond_the_uncommitted_limit_is_refused(storage: Storage, sas: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_models, "MAX_UNCOMMITTED_BLOCKS", 2)  # Azure's 100,000 are too many to send here

    def put_block(block_id: str) -> int | tuple[int, str]:
        encoded = quote(base64.b64encode(block_id.encode()).decode(), safe="")
        answer = storage.http.put(f"{storage.url(CONTAINER, 'blocks.bin')}?comp=block&blockid={encoded}&{sas}",
                                  data=b"x", headers={"x-ms-version": "2026-10-06"}, timeout=10)
        return answer.status_code if answer.ok else (answer.status_code, answer.headers["x-ms-error-code"])

    assert [put_block("a"), put_block("b"), put_block("a")] == [201, 201, 201]  # staging "a" again adds none
    assert put_block("c") == (409, "BlockCountExceedsLimit")


@pytest.mark.parametrize("size", [1024, 100 * 1024])  # a small body (a row in the store) and a file
def test_a_missing_container_is_named_before_a_missing_blob_and_nothing_is_written(storage: Storage,
                                                                                   emulator: Emulator,
                                                                                   size: int) -> None:
    """Every blob operation on a container that does not exist answers 404 ContainerNotFound (not BlobNotFound);
    a body sent to one is dropped whole."""
    from azure.core.exceptions import HttpResponseError

    container = storage.service().get_container_client("no-such-container")  # the account key
    blob = container.get_blob_client("a.bin")
    before = body_files(emulator)
    operations = {
        "Put Blob": lambda: blob.upload_blob(b"m" * size),
        "Put Block": lambda: blob.stage_block("YQ==", b"m" * size),
        "Get Blob": lambda: blob.download_blob().readall(),
        "Get Blob Properties": blob.get_blob_properties,
        "Set Blob Metadata": lambda: blob.set_blob_metadata({"a": "b"}),
        "Delete Blob": blob.delete_blob,
        "List Blobs": lambda: list(container.list_blobs()),
    }
    answers = {}
    for name, operation in operations.items():
        with pytest.raises(HttpResponseError) as refused:
            operation()
        answers[name] = (refused.value.status_code, refused.value.error_code)
    assert answers == {name: (404, "ContainerNotFound") for name in operations}
    assert body_files(emulator) == before
    with pytest.raises(HttpResponseError) as missing_blob:
        storage.service().get_container_client(CONTAINER).download_blob("no-such-blob.txt")
    assert (missing_blob.value.status_code, missing_blob.value.error_code) == (404, "BlobNotFound")
