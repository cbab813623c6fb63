"""azure-storage-blob against the emulated Blob endpoint: managed identity, SAS and account key clients.

A client that fails here is an emulator bug. The 64 MiB transfer is the only large one: blocks of
4 MiB uploaded four at a time, downloaded in parallel ranges, compared by SHA-256.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.storage.blob import (
    BlobBlock,
    BlobSasPermissions,
    ContainerSasPermissions,
    ContentSettings,
    generate_blob_sas,
    generate_container_sas,
)
from blob_helpers import ACCOUNT, CONTAINER, HELLO, Storage, body_files, utc
from emu_helpers import SYSTEM_PRINCIPAL_ID, Azure

from emulator.app import Emulator
from emulator.services.storage.bodies import SMALL_BODY_LIMIT

MIB = 1024 * 1024


@pytest.fixture
def storage(world: Azure, emulator_env: dict[str, str]) -> Storage:
    return Storage(world)


def test_account_key_client_sees_the_declared_world(storage: Storage) -> None:
    service = storage.service()
    assert [c.name for c in service.list_containers()] == [CONTAINER]
    container = service.get_container_client(CONTAINER)
    assert [b.name for b in container.list_blobs()] == [HELLO]
    blob = container.get_blob_client(HELLO)
    assert blob.download_blob().readall() == b"Hello world! :)"
    properties = blob.get_blob_properties()
    assert properties.size == 15
    assert properties.content_settings.content_type == "text/plain"
    assert bytes(properties.content_settings.content_md5) == hashlib.md5(b"Hello world! :)").digest()  # noqa: S324
    assert properties.etag.startswith('"0x')


def test_managed_identity_refused_then_reads_after_reader_grant_and_cannot_write(storage: Storage) -> None:
    credential = ManagedIdentityCredential()
    container = storage.service(credential).get_container_client(CONTAINER)
    with pytest.raises(HttpResponseError) as refused:
        container.download_blob(HELLO).readall()
    assert refused.value.status_code == 403
    assert refused.value.error_code == "AuthorizationPermissionMismatch"
    storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader", storage.account_id())
    assert container.download_blob(HELLO).readall() == b"Hello world! :)"
    assert [b.name for b in container.list_blobs()] == [HELLO]
    with pytest.raises(HttpResponseError) as write:
        container.upload_blob("written-by-reader.txt", b"no")
    assert (write.value.status_code, write.value.error_code) == (403, "AuthorizationPermissionMismatch")
    assert [b.name for b in storage.admin_container().list_blobs()] == [HELLO]


def test_contributor_uploads_with_metadata_and_content_settings(storage: Storage) -> None:
    storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Contributor", storage.account_id())
    container = storage.service(ManagedIdentityCredential()).get_container_client(CONTAINER)
    container.upload_blob("notes/a.txt", b"alpha", metadata={"Owner": "vm", "stage": "one"},
                          content_settings=ContentSettings(content_type="text/plain", cache_control="no-cache",
                                                           content_language="en"))
    properties = container.get_blob_client("notes/a.txt").get_blob_properties()
    assert properties.metadata == {"Owner": "vm", "stage": "one"}
    assert properties.content_settings.content_type == "text/plain"
    assert properties.content_settings.cache_control == "no-cache"
    assert properties.content_settings.content_language == "en"
    blob = container.get_blob_client("notes/a.txt")
    blob.set_blob_metadata({"stage": "two"})
    assert blob.get_blob_properties().metadata == {"stage": "two"}
    blob.set_http_headers(ContentSettings(content_type="application/json"))
    assert blob.get_blob_properties().content_settings.content_type == "application/json"
    blob.delete_blob()
    assert not blob.exists()


def test_64_mib_in_parallel_blocks_and_parallel_ranged_download(storage: Storage) -> None:
    data = os.urandom(64 * MIB)
    service = storage.service(max_single_put_size=4 * MIB, max_block_size=4 * MIB)
    container = service.get_container_client(CONTAINER)
    container.upload_blob("big.bin", data, max_concurrency=4)
    committed, uncommitted = container.get_blob_client("big.bin").get_block_list("all")
    assert len(committed) == 16 and not uncommitted
    downloaded = container.download_blob("big.bin", max_concurrency=4).readall()
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(data).digest()
    middle = container.download_blob("big.bin", offset=5 * MIB - 10, length=20).readall()
    assert middle == data[5 * MIB - 10:5 * MIB + 10]


def test_single_put_with_content_validation_and_ranges(storage: Storage) -> None:
    data = os.urandom(3 * MIB + 17)
    container = storage.admin_container()
    container.upload_blob("one-shot.bin", data, validate_content=True)
    blob = container.get_blob_client("one-shot.bin")
    assert blob.get_block_list("all") == ([], [])
    assert blob.download_blob(offset=0, length=1).readall() == data[:1]
    assert blob.download_blob(offset=len(data) - 5).readall() == data[-5:]
    assert blob.download_blob(offset=MIB, length=MIB, validate_content=True).readall() == data[MIB:2 * MIB]
    container.upload_blob("empty.bin", b"")
    assert container.download_blob("empty.bin").readall() == b""  # the SDK's 416 dance for empty blobs


def test_listing_pages_prefixes_and_metadata(storage: Storage) -> None:
    container = storage.admin_container()
    names = [f"logs/2026/{i:02d}.txt" for i in range(12)] + [f"data/{i}.csv" for i in range(5)] + ["top.txt"]
    for name in names:
        container.upload_blob(name, name.encode(), metadata={"kind": name.split("/")[0].split(".")[0]})
    pages = list(container.list_blobs(results_per_page=7).by_page())
    per_page = [[b.name for b in page] for page in pages]
    assert [len(p) for p in per_page] == [7, 7, 5]
    assert sum(per_page, []) == sorted([*names, HELLO])
    assert [b.name for b in container.list_blobs(name_starts_with="logs/2026/1")] == [
        "logs/2026/10.txt", "logs/2026/11.txt"]
    top = [b.name for b in container.walk_blobs()]
    assert sorted(top) == ["data/", HELLO, "logs/", "top.txt"]
    with_metadata = {b.name: b.metadata for b in container.list_blobs(name_starts_with="data/",
                                                                      include=["metadata"])}
    assert with_metadata["data/0.csv"] == {"kind": "data"}


def test_conditional_requests(storage: Storage) -> None:
    container = storage.admin_container()
    blob = container.get_blob_client("conditional.txt")
    first = blob.upload_blob(b"v1")
    with pytest.raises(ResourceExistsError):
        blob.upload_blob(b"v2")  # overwrite=False sends If-None-Match: *
    second = blob.upload_blob(b"v2", overwrite=True)
    assert second["etag"] != first["etag"]
    with pytest.raises(ResourceModifiedError):
        blob.upload_blob(b"v3", overwrite=True, etag=first["etag"], match_condition=MatchConditions.IfNotModified)
    assert blob.download_blob().readall() == b"v2"
    with pytest.raises(ResourceModifiedError):
        blob.delete_blob(etag=first["etag"], match_condition=MatchConditions.IfNotModified)
    blob.delete_blob(etag=second["etag"], match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceNotFoundError):
        blob.download_blob()


def test_staged_blocks_and_block_list(storage: Storage) -> None:
    blob = storage.admin_container().get_blob_client("staged.txt")
    blob.stage_block("YQ==", b"hello ")
    blob.stage_block("Yg==", b"world")
    committed, uncommitted = blob.get_block_list("all")
    assert committed == [] and [b.id for b in uncommitted] == ["YQ==", "Yg=="]
    blob.commit_block_list([BlobBlock("YQ=="), BlobBlock("Yg==")])
    assert blob.download_blob().readall() == b"hello world"
    blob.stage_block("Yw==", b"!")
    blob.commit_block_list([BlobBlock("Yg=="), BlobBlock("Yw==")])  # reuse a committed block
    assert blob.download_blob().readall() == b"world!"
    with pytest.raises(HttpResponseError) as unknown:
        blob.commit_block_list([BlobBlock("ZA==")])
    assert unknown.value.error_code == "InvalidBlockList"


def test_containers_create_exists_delete(storage: Storage) -> None:
    service = storage.service()
    created = service.create_container("scratch", metadata={"purpose": "test"})
    assert created.exists()
    assert created.get_container_properties().metadata == {"purpose": "test"}
    with pytest.raises(ResourceExistsError):
        service.create_container("scratch")
    created.upload_blob("a.txt", b"a")
    created.delete_container()
    assert not created.exists()
    assert [c.name for c in service.list_containers()] == [CONTAINER]


def test_sas_clients_from_the_sdk(storage: Storage) -> None:
    key = storage.key()
    read_list = generate_container_sas(ACCOUNT, CONTAINER, account_key=key, expiry=utc(hours=1),
                                       permission=ContainerSasPermissions(read=True, list=True))
    container = storage.service(read_list).get_container_client(CONTAINER)
    assert [b.name for b in container.list_blobs()] == [HELLO]
    assert container.download_blob(HELLO).readall() == b"Hello world! :)"
    with pytest.raises(HttpResponseError) as refused:
        container.upload_blob("by-sas.txt", b"x")
    assert refused.value.error_code == "AuthorizationPermissionMismatch"
    write_one = generate_blob_sas(ACCOUNT, CONTAINER, "by-sas.txt", account_key=key, expiry=utc(hours=1),
                                  permission=BlobSasPermissions(create=True, write=True, read=True))
    blob = storage.service(write_one).get_blob_client(CONTAINER, "by-sas.txt")
    blob.upload_blob(b"written with a blob SAS")
    assert blob.download_blob().readall() == b"written with a blob SAS"


def test_user_delegation_sas_lives_as_long_as_the_delegating_role(storage: Storage) -> None:
    credential = ManagedIdentityCredential()
    service = storage.service(credential)
    with pytest.raises(HttpResponseError) as no_role:
        service.get_user_delegation_key(utc(), utc(hours=1))
    assert no_role.value.error_code == "AuthorizationPermissionMismatch"
    assignment = storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Contributor", storage.account_id())
    key = service.get_user_delegation_key(utc(), utc(hours=1))
    assert key.signed_oid == SYSTEM_PRINCIPAL_ID and key.signed_tid == storage.azure.tenant
    token = generate_blob_sas(ACCOUNT, CONTAINER, "delegated.txt", user_delegation_key=key, expiry=utc(hours=1),
                              permission=BlobSasPermissions(create=True, write=True, read=True))
    assert "skoid=" in token
    blob = storage.service(token).get_blob_client(CONTAINER, "delegated.txt")
    blob.upload_blob(b"signed with a user delegation key")
    assert blob.download_blob().readall() == b"signed with a user delegation key"
    revoked = storage.azure.arm("DELETE", storage.azure.assignment_path(storage.account_id(), assignment),
                                api_version="2022-04-01")
    assert revoked.status_code == 200, revoked.text
    with pytest.raises(HttpResponseError) as after:
        blob.download_blob().readall()
    assert after.value.error_code == "AuthorizationPermissionMismatch"


def test_bodies_either_side_of_the_small_body_limit_and_blobs_made_of_both_read_back(storage: Storage,
                                                                                     emulator: Emulator) -> None:
    """Bodies up to 64 KiB are rows in the store, larger ones files (storage/bodies.py). Each size across the
    limit, and a blob committed from blocks of both kinds, reads back byte for byte, whole and in ranges."""
    container = storage.service().get_container_client(CONTAINER)
    before = body_files(emulator)
    for size in (0, 1, SMALL_BODY_LIMIT - 1, SMALL_BODY_LIMIT, SMALL_BODY_LIMIT + 1):
        data = os.urandom(size)
        blob = container.get_blob_client(f"size-{size}.bin")
        blob.upload_blob(data)
        assert blob.download_blob().readall() == data, size
        if size > 2:
            assert blob.download_blob(offset=1, length=size - 2).readall() == data[1:-1], size
    added = sorted(set(body_files(emulator)) - set(before))
    assert [name.startswith("store/") for name in added].count(True) == 4  # 0, 1, limit - 1 and limit bytes
    assert [name.startswith("store/") for name in added].count(False) == 1  # limit + 1: a file
    small, large = os.urandom(1000), os.urandom(SMALL_BODY_LIMIT + 1000)
    mixed = container.get_blob_client("mixed.bin")
    for block_id, data in (("YQ==", small), ("Yg==", large), ("Yw==", small)):
        mixed.stage_block(block_id, data)
    mixed.commit_block_list([BlobBlock("YQ=="), BlobBlock("Yg=="), BlobBlock("Yw==")])
    whole = small + large + small
    assert mixed.download_blob().readall() == whole
    assert mixed.download_blob(offset=500, length=len(whole) - 1000).readall() == whole[500:-500]
    assert mixed.download_blob(offset=len(whole) - 1500, length=1000).readall() == whole[-1500:-500]
    mixed.upload_blob(b"replaced", overwrite=True)  # the three bodies it was made of are gone
    for size in (0, 1, SMALL_BODY_LIMIT - 1, SMALL_BODY_LIMIT, SMALL_BODY_LIMIT + 1):
        container.delete_blob(f"size-{size}.bin")
    assert len(set(body_files(emulator)) - set(before)) == 1  # only "replaced"
