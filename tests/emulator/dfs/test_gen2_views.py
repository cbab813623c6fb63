"""One account, two endpoints: what is written through DFS is a blob, and what is written as a blob is a path.

On an account with a hierarchical namespace, a blob under ``a/b/`` makes ``a`` and ``a/b`` directories (as
Azure does), a directory shows in a blob listing as a zero-length blob with ``hdi_isfolder=true``, and the
namespace's rules hold on the blob endpoint too: no blob over a directory, no delete of a full one.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from dfs_helpers import FLAT, FS, HELLO, VM_OID, Gen2, code, scratch


def test_a_file_written_through_dfs_is_a_blob(gen2: Gen2) -> None:
    base = scratch()
    gen2.service().get_file_client(FS, f"{base}/from-dfs.txt").upload_data(b"written by DFS", overwrite=True)
    container = gen2.blob_service().get_container_client(FS)
    assert container.download_blob(f"{base}/from-dfs.txt").readall() == b"written by DFS"
    properties = container.get_blob_client(f"{base}/from-dfs.txt").get_blob_properties()
    assert properties.size == 14 and properties.blob_type == "BlockBlob"


def test_a_blob_is_a_file_and_its_folders_are_directories(gen2: Gen2) -> None:
    base = scratch()
    container = gen2.blob_service().get_container_client(FS)
    container.upload_blob(f"{base}/x/y/from-blob.txt", b"written as a blob")
    filesystem = gen2.service().get_file_system_client(FS)
    listed = {p.name: p.is_directory for p in filesystem.get_paths(base)}
    assert listed == {f"{base}/x": True, f"{base}/x/y": True, f"{base}/x/y/from-blob.txt": False}
    assert filesystem.get_file_client(f"{base}/x/y/from-blob.txt").download_file().readall() == b"written as a blob"
    with_metadata = {b.name: b.metadata for b in container.list_blobs(base, include=["metadata"])}
    assert with_metadata[f"{base}/x"] == {"hdi_isfolder": "true"}
    assert not with_metadata[f"{base}/x/y/from-blob.txt"]
    walked = [getattr(item, "name", item) for item in container.walk_blobs(f"{base}/x/")]
    assert walked == [f"{base}/x/y/", f"{base}/x/y"]  # the directory as a prefix and as a blob, as on Azure


def test_blob_reads_show_the_namespace_headers(gen2: Gen2) -> None:
    """What Get Blob / Get Blob Properties add on an HNS account (recorded from Azure: x-ms-resource-type,
    x-ms-owner, x-ms-group, x-ms-permissions, x-ms-acl)."""
    key = gen2.key()
    from azure.storage.blob import BlobClient

    blob = BlobClient(gen2.url(endpoint=gen2.blob), FS, HELLO, credential={"account_name": "miworkbooklake",
                                                                          "account_key": key},
                      connection_verify=gen2.ca)
    raw = blob.get_blob_properties(raw_response_hook=lambda r: setattr(blob, "_seen", r.http_response.headers))
    assert raw.size == 15
    headers = blob._seen  # type: ignore[attr-defined]
    assert headers["x-ms-resource-type"] == "file" and headers["x-ms-owner"] == "$superuser"
    assert headers["x-ms-permissions"] == "rw-r-----" and headers["x-ms-acl"] == "user::rw-,group::r--,other::---"


def test_the_namespace_holds_on_the_blob_endpoint(gen2: Gen2) -> None:
    container = gen2.blob_service().get_container_client(FS)
    with pytest.raises(ResourceExistsError) as over_directory:
        container.upload_blob("TestFolder", b"a blob where a directory is", overwrite=True)
    assert over_directory.value.error_code == "PathConflict"
    with pytest.raises(HttpResponseError) as under_file:
        container.upload_blob(f"{HELLO}/child.txt", b"under a file")
    assert under_file.value.status_code == 409
    with pytest.raises(HttpResponseError) as full:
        container.delete_blob("TestFolder")
    assert (full.value.status_code, full.value.error_code) == (409, "DirectoryNotEmpty")
    container.delete_blob(HELLO)
    container.delete_blob("TestFolder")  # empty now
    assert [p.name for p in gen2.service().get_file_system_client(FS).get_paths()] == []


def test_paths_resolve_dot_segments_on_both_endpoints(gen2: Gen2) -> None:
    """Encoded so that no client resolves them first (as azure-sdk-for-js's recording did: ``.%2Fadir%2F..``)."""
    created = gen2.call("PUT", gen2.url(FS) + "/TestFolder/.%2Fadir%2F..%2Fanother%2F..%2F.%2Fsub", who="admin",
                        params={"resource": "directory"})
    assert created.status_code == 201, created.text
    assert gen2.call("HEAD", gen2.url(FS, "TestFolder/sub"), who="admin").headers["x-ms-resource-type"] == "directory"
    put = gen2.call("PUT", gen2.url(FS, endpoint=gen2.blob) + "/TestFolder%2F..%2Fb.txt", who="admin", data=b"b",
                    headers={"x-ms-blob-type": "BlockBlob"})
    assert put.status_code == 201, put.text
    assert gen2.call("GET", gen2.url(FS, "b.txt"), who="admin").content == b"b"
    above = gen2.call("PUT", gen2.url(FS) + "/..%2F..%2Fescape.txt", who="admin", params={"resource": "file"})
    assert code(above) == (400, "InvalidResourceName")


def test_a_flat_account_has_no_namespace(gen2: Gen2) -> None:
    container = gen2.blob_service(account=FLAT).get_container_client("mi-workbook")
    container.upload_blob("a/b/c.txt", b"flat")
    assert [b.name for b in container.list_blobs("a")] == ["a/b/c.txt"]  # no directories made
    refused = gen2.call("GET", gen2.url("mi-workbook", account=FLAT), who=None,
                        params={"resource": "filesystem", "recursive": "false"},
                        headers={"Authorization": "x"})
    assert refused.status_code in (400, 401)
    gen2.grant("Storage Blob Data Owner", scope=gen2.account_id(FLAT))
    listed = gen2.call("GET", gen2.url("mi-workbook", account=FLAT), params={"resource": "filesystem",
                                                                           "recursive": "false"})
    assert code(listed) == (501, "NotImplemented") and "hierarchical namespace" in listed.json()["error"]["message"]
    properties = gen2.call("HEAD", gen2.url("mi-workbook", account=FLAT), params={"resource": "filesystem"})
    assert properties.headers["x-ms-namespace-enabled"] == "false"


def test_rbac_and_acls_apply_on_both_endpoints(gen2: Gen2) -> None:
    """The VM with ACL entries only: the same answers through the blob API as through DFS."""
    gen2.add_entries("/", f"user:{VM_OID}:--x")
    gen2.add_entries("TestFolder", f"user:{VM_OID}:rwx")
    token = gen2.vm_token()
    blob_url = gen2.url(FS, "TestFolder/by-blob.txt", endpoint=gen2.blob)
    put = gen2.http.put(blob_url, data=b"hi", headers={"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06",
                                                       "x-ms-blob-type": "BlockBlob"}, timeout=30)
    assert put.status_code == 201, put.text
    assert gen2.call("GET", gen2.url(FS, "TestFolder/by-blob.txt")).content == b"hi"
    root_put = gen2.http.put(gen2.url(FS, "at-root.txt", endpoint=gen2.blob), data=b"no",
                             headers={"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06",
                                      "x-ms-blob-type": "BlockBlob"}, timeout=30)
    assert (root_put.status_code, root_put.headers["x-ms-error-code"]) == (403, "AuthorizationPermissionMismatch")
    hello = gen2.http.get(gen2.url(FS, HELLO, endpoint=gen2.blob), timeout=30,
                          headers={"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06"})
    assert hello.status_code == 403  # older than the grant: no entry for the VM on it
    listed = gen2.http.get(gen2.url(FS, endpoint=gen2.blob), timeout=30,
                           params={"restype": "container", "comp": "list", "prefix": "TestFolder/"},
                           headers={"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06"})
    assert listed.status_code == 200 and b"by-blob.txt" in listed.content
    everything = gen2.http.get(gen2.url(FS, endpoint=gen2.blob), timeout=30,
                               params={"restype": "container", "comp": "list"},
                               headers={"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06"})
    assert everything.status_code == 403  # listing the root needs r-x on it
