"""Data Lake Gen2 with the real azure-storage-file-datalake: files, directories, appends, renames, ACLs.

The SDK is pointed at the DFS endpoint only; the calls it sends through its BlobClient (filesystems,
download, properties, metadata) reach the same listener and must work too.
"""

from __future__ import annotations

import os

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from dfs_helpers import FS, HELLO, LAKE, VM_OID, Gen2, code, scratch


def test_end_to_end_as_the_vm_with_managed_identity_credential(gen2: Gen2, emulator_env: dict[str, str]) -> None:
    from azure.identity import ManagedIdentityCredential

    gen2.grant("Storage Blob Data Contributor")
    service = gen2.service(ManagedIdentityCredential())
    filesystem = service.get_file_system_client(FS)
    folder = filesystem.create_directory("reports/2026")  # the parent is made too
    report = folder.create_file("q1.csv")
    report.append_data(b"region,total\n", offset=0, length=13)
    report.append_data(b"west,42\n", offset=13, length=8)
    report.flush_data(21)
    assert report.download_file().readall() == b"region,total\nwest,42\n"
    assert report.download_file(offset=13, length=4).readall() == b"west"
    properties = report.get_file_properties()
    assert (properties.size, properties.owner, properties.permissions) == (21, VM_OID, "rw-r-----")
    assert [p.name for p in filesystem.get_paths("reports", recursive=True)] == [
        "reports/2026", "reports/2026/q1.csv"]
    moved = report.rename_file(f"{FS}/reports/q1-final.csv")
    assert moved.download_file().readall().startswith(b"region")
    assert not report.exists()
    filesystem.get_directory_client("reports").delete_directory()
    assert [p.name for p in filesystem.get_paths(recursive=False)] == ["TestFolder"]


def test_upload_data_creates_appends_and_flushes_in_parallel_chunks(gen2: Gen2) -> None:
    gen2.grant("Storage Blob Data Contributor")
    file = gen2.vm_service().get_file_client(FS, f"{scratch()}/big.bin")
    data = os.urandom(3 * 1024 * 1024 + 17)
    file.upload_data(data, overwrite=True, chunk_size=512 * 1024, max_concurrency=4)  # appends arrive out of order
    assert file.download_file(max_concurrency=3).readall() == data
    assert file.download_file(offset=1024 * 1024, length=100).readall() == data[1024 * 1024:1024 * 1024 + 100]
    assert file.get_file_properties().size == len(data)


def test_upload_data_without_overwrite_appends_to_an_existing_file_only(gen2: Gen2) -> None:
    """As Azure answers (azure-sdk-for-python#16166): no create call, so PathNotFound; an existing file: 412."""
    file = gen2.service().get_file_client(FS, f"{scratch()}/f.txt")
    with pytest.raises(ResourceNotFoundError) as missing:
        file.upload_data(b"abc")
    assert missing.value.error_code == "PathNotFound"
    file.upload_data(b"abc", overwrite=True)
    with pytest.raises(ResourceModifiedError):  # flush carries If-None-Match: * → ConditionNotMet
        file.upload_data(b"def")


def test_flush_commits_only_contiguous_data_at_the_right_position(gen2: Gen2) -> None:
    file = gen2.service().get_file_client(FS, f"{scratch()}/f.txt")
    created = file.create_file()
    file.append_data(b"abc", 0, 3)
    assert file.get_file_properties().size == 0  # appended, not yet flushed
    for wrong in (2, 4, 5):  # short of the data, past it
        with pytest.raises(HttpResponseError) as refused:
            file.flush_data(wrong)
        assert (refused.value.status_code, refused.value.error_code) == (400, "InvalidFlushPosition")
    file.flush_data(3, etag=created["etag"], match_condition=MatchConditions.IfNotModified)  # append kept the ETag
    file.append_data(b"ghi", 6, 3)  # a gap at 3..6
    with pytest.raises(HttpResponseError) as gap:
        file.flush_data(9)
    assert gap.value.error_code == "InvalidFlushPosition"
    file.append_data(b"def", 3, 3)
    with pytest.raises(ResourceModifiedError):  # the first flush gave the file a new ETag
        file.flush_data(9, etag=created["etag"], match_condition=MatchConditions.IfNotModified)
    file.flush_data(9)
    assert file.download_file().readall() == b"abcdefghi"
    file.append_data(b"x", 0, 1)  # taken, but never committed: committed bytes are not written twice
    with pytest.raises(HttpResponseError) as rewrite:
        file.flush_data(10)
    assert rewrite.value.error_code == "InvalidFlushPosition"
    file.append_data(b"jk", 9, 2, flush=True)  # append and flush in one call
    assert file.download_file().readall() == b"abcdefghijk"


def test_flush_retains_data_past_the_position_only_when_asked(gen2: Gen2) -> None:
    file = gen2.service().get_file_client(FS, f"{scratch()}/f.txt")
    file.create_file()
    file.append_data(b"abc", 0, 3)
    file.append_data(b"def", 3, 3)
    file.flush_data(3, retain_uncommitted_data=True)
    file.flush_data(6)
    assert file.download_file().readall() == b"abcdef"
    file.append_data(b"ghi", 6, 3)
    file.flush_data(6)  # not retained: the appended data is dropped
    with pytest.raises(HttpResponseError):
        file.flush_data(9)
    assert file.download_file().readall() == b"abcdef"


def test_create_refuses_conflicts_and_if_none_match(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    with pytest.raises(ResourceExistsError) as exists:
        filesystem.get_file_client(HELLO).create_file(match_condition=MatchConditions.IfMissing)
    assert exists.value.error_code == "PathAlreadyExists"
    with pytest.raises(ResourceExistsError) as conflict:  # a directory where a file is
        filesystem.create_directory(HELLO)
    assert conflict.value.error_code == "PathConflict"
    with pytest.raises(ResourceExistsError):  # a file under a file
        filesystem.create_file(f"{HELLO}/inside.txt")
    assert filesystem.create_directory("TestFolder").get_directory_properties().name == "TestFolder"  # idempotent
    assert filesystem.get_file_client(HELLO).download_file().readall() == b"Hello world! :)"


def test_rename_moves_a_directory_and_everything_below_it(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    base = scratch()
    for name in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
        filesystem.get_file_client(f"{base}/src/{name}").upload_data(name.encode(), overwrite=True)
    filesystem.create_directory(f"{base}/dst")
    moved = filesystem.get_directory_client(f"{base}/src").rename_directory(f"{FS}/{base}/dst/moved")
    assert sorted(p.name for p in filesystem.get_paths(base, recursive=True)) == [
        f"{base}/dst", f"{base}/dst/moved", f"{base}/dst/moved/a.txt", f"{base}/dst/moved/sub",
        f"{base}/dst/moved/sub/b.txt", f"{base}/dst/moved/sub/deeper", f"{base}/dst/moved/sub/deeper/c.txt"]
    assert moved.get_file_client("sub/deeper/c.txt").download_file().readall() == b"sub/deeper/c.txt"
    blob_names = [b.name for b in gen2.blob_service().get_container_client(FS).list_blobs(base)]
    assert f"{base}/dst/moved/sub/b.txt" in blob_names and not any("/src" in n for n in blob_names)


def test_rename_errors_are_gen2s(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    base = scratch()
    filesystem.get_file_client(f"{base}/d/f.txt").upload_data(b"f", overwrite=True)
    filesystem.get_file_client(f"{base}/full/g.txt").upload_data(b"g", overwrite=True)
    directory = filesystem.get_directory_client(f"{base}/d")
    cases = [
        (lambda: directory.rename_directory(f"{FS}/{base}/d/inside"), "InvalidRenameSourcePath"),
        (lambda: filesystem.get_directory_client(f"{base}/none").rename_directory(f"{FS}/{base}/x"),
         "SourcePathNotFound"),
        (lambda: directory.rename_directory(f"{FS}/{base}/no/such/parent"), "RenameDestinationParentPathNotFound"),
        (lambda: directory.rename_directory(f"{FS}/{base}/full"), "DirectoryNotEmpty"),
        (lambda: filesystem.get_file_client(f"{base}/d/f.txt").rename_file(f"{FS}/{base}/full"),
         "InvalidSourceOrDestinationResourceType"),
    ]
    for attempt, expected in cases:
        with pytest.raises(HttpResponseError) as refused:
            attempt()
        assert refused.value.error_code == expected
    # a file replaces a file (legacy mode, what the SDK sends); If-None-Match: * refuses that
    filesystem.get_file_client(f"{base}/d/f.txt").rename_file(f"{FS}/{base}/full/g.txt")
    assert filesystem.get_file_client(f"{base}/full/g.txt").download_file().readall() == b"f"
    filesystem.get_file_client(f"{base}/d/h.txt").upload_data(b"h", overwrite=True)
    with pytest.raises(ResourceExistsError):
        filesystem.get_file_client(f"{base}/d/h.txt").rename_file(f"{FS}/{base}/full/g.txt",
                                                                    match_condition=MatchConditions.IfMissing)


def test_posix_rename_moves_into_an_existing_directory(gen2: Gen2) -> None:
    base = scratch()
    gen2.service().get_file_client(FS, f"{base}/src/x.txt").upload_data(b"x", overwrite=True)
    gen2.service().get_file_system_client(FS).create_directory(f"{base}/dst")
    response = gen2.call("PUT", gen2.url(FS, f"{base}/dst"), who=None, params={"mode": "posix"},
                         headers={"x-ms-rename-source": f"/{FS}/{base}/src"})
    assert response.status_code == 401  # anonymous first
    gen2.admin_is_blob_owner()
    response = gen2.call("PUT", gen2.url(FS, f"{base}/dst"), who="admin", params={"mode": "posix"},
                         headers={"x-ms-rename-source": f"/{FS}/{base}/src"})
    assert response.status_code == 201, response.text
    assert gen2.call("GET", gen2.url(FS, f"{base}/dst/src/x.txt"), who="admin").content == b"x"


def test_delete_needs_recursive_for_a_directory_with_children(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    base = scratch()
    filesystem.get_file_client(f"{base}/a/b.txt").upload_data(b"b", overwrite=True)
    refused = gen2.call("DELETE", gen2.url(FS, base), who=None)
    assert refused.status_code == 401
    gen2.admin_is_blob_owner()
    assert code(gen2.call("DELETE", gen2.url(FS, base), who="admin")) == (409, "DirectoryNotEmpty")
    assert gen2.call("DELETE", gen2.url(FS, base), who="admin", params={"recursive": "true"}).status_code == 200
    assert code(gen2.call("DELETE", gen2.url(FS, base), who="admin")) == (404, "PathNotFound")
    assert code(gen2.call("DELETE", gen2.url(FS) + "/", who="admin", params={"resource": "filesystem"}))[0] == 202


def test_access_control_set_and_get_with_mask_defaults_and_owner(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    base = scratch()
    folder = filesystem.create_directory(base)
    folder.set_access_control(acl=f"user::rwx,group::r-x,other::---,user:{VM_OID}:rwx,default:user:{VM_OID}:r-x")
    shown = folder.get_access_control()
    assert shown["acl"] == (f"user::rwx,user:{VM_OID}:rwx,group::r-x,mask::rwx,other::---,default:user::rwx,"
                            f"default:user:{VM_OID}:r-x,default:group::r-x,default:mask::r-x,default:other::---")
    assert shown["permissions"] == "rwxrwx---"  # the group class shows the mask
    child = folder.create_file("new.txt")  # from the default ACL: files lose x, other gets nothing
    assert child.get_access_control()["acl"] == f"user::rw-,user:{VM_OID}:r-x,group::r-x,mask::r--,other::---"
    assert folder.create_sub_directory("sub").get_access_control()["acl"].endswith("default:other::---")
    child.set_access_control(owner=VM_OID, permissions="0640")  # the key is a super-user: it may give a file away
    assert (child.get_access_control()["owner"], child.get_access_control()["permissions"]) == (VM_OID, "rw-r-----")
    with pytest.raises(HttpResponseError) as no_default:
        child.set_access_control(acl="user::rw-,group::r--,other::---,default:user::rwx")
    assert no_default.value.error_code == "InvalidAccessControlList"
    with pytest.raises(HttpResponseError) as malformed:
        child.set_access_control(acl="user::rwz")
    assert malformed.value.status_code == 400
    umasked = filesystem.create_file(f"{scratch()}/u.txt", umask="0077")  # its new folder has no default ACL
    assert umasked.get_access_control()["permissions"] == "rw-------"
    sticky = filesystem.create_directory(f"{scratch()}/sticky", permissions="1777", umask="0000")
    assert sticky.get_access_control()["permissions"] == "rwxrwxrwt"


def test_recursive_acl_in_batches_with_continuation(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    base = scratch()
    for index in range(7):
        filesystem.get_file_client(f"{base}/d{index % 2}/f{index}.txt").upload_data(b"x", overwrite=True)
    folder = filesystem.get_directory_client(base)
    batches = []
    result = folder.set_access_control_recursive(acl=f"user::rwx,group::r-x,other::---,user:{VM_OID}:r-x", batch_size=2,
                                                 progress_hook=lambda change: batches.append(change))
    assert (result.counters.directories_successful, result.counters.files_successful,
            result.counters.failure_count) == (3, 7, 0)
    assert len(batches) == 5 and batches[0].continuation
    assert f"user:{VM_OID}:r-x" in filesystem.get_file_client(f"{base}/d1/f3.txt").get_access_control()["acl"]
    partial = folder.update_access_control_recursive(acl=f"user:{VM_OID}:rwx", batch_size=3, max_batches=1)
    assert partial.continuation and partial.counters.directories_successful + partial.counters.files_successful == 3
    rest = folder.update_access_control_recursive(acl=f"user:{VM_OID}:rwx", continuation=partial.continuation)
    assert rest.counters.directories_successful + rest.counters.files_successful == 7
    removed = folder.remove_access_control_recursive(acl=f"user:{VM_OID}")
    assert removed.counters.files_successful == 7
    assert VM_OID not in filesystem.get_file_client(f"{base}/d0/f0.txt").get_access_control()["acl"]


def test_get_paths_lists_children_or_everything_with_paging(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    base = scratch()
    for index in range(5):
        filesystem.get_file_client(f"{base}/f{index}.txt").upload_data(b"12345", overwrite=True)
    filesystem.get_file_client(f"{base}/sub/g.txt").upload_data(b"1", overwrite=True)
    children = list(filesystem.get_paths(base, recursive=False))
    assert [p.name for p in children] == [f"{base}/f{i}.txt" for i in range(5)] + [f"{base}/sub"]
    assert [(p.is_directory, p.content_length, p.permissions, p.owner) for p in children[-2:]] == [
        (False, 5, "rw-r-----", "$superuser"), (True, 0, "rwxr-x---", "$superuser")]
    assert children[0].creation_time is not None and children[0].last_modified is not None
    pages = list(filesystem.get_paths(base, max_results=2).by_page())
    assert [len(list(page)) for page in pages] == [2, 2, 2, 1]
    with pytest.raises(ResourceNotFoundError):
        list(filesystem.get_paths(f"{base}/none"))


def test_filesystems_through_the_sdk_and_raw_gen2(gen2: Gen2) -> None:
    service = gen2.service()
    created = service.create_file_system("made-here", metadata={"purpose": "test"})
    assert created.get_file_system_properties().metadata == {"purpose": "test"}
    assert [f.name for f in service.list_file_systems()] == ["made-here", FS]
    service.delete_file_system("made-here")
    gen2.admin_is_blob_owner()
    raw = gen2.call("PUT", gen2.url("raw-fs"), who="admin", params={"resource": "filesystem"},
                    headers={"x-ms-properties": "purpose=dGVzdA=="})
    assert raw.status_code == 201 and raw.headers["x-ms-namespace-enabled"] == "true"
    assert code(gen2.call("PUT", gen2.url("raw-fs"), who="admin",
                          params={"resource": "filesystem"})) == (409, "FilesystemAlreadyExists")
    head = gen2.call("HEAD", gen2.url("raw-fs"), who="admin", params={"resource": "filesystem"})
    assert head.headers["x-ms-properties"] == "purpose=dGVzdA=="
    listed = gen2.call("GET", gen2.url(), who="admin", params={"resource": "account"})
    assert listed.headers["Content-Type"] == "application/json;charset=utf-8"
    assert [f["name"] for f in listed.json()["filesystems"]] == [FS, "raw-fs"]
    assert set(listed.json()["filesystems"][0]) == {"etag", "lastModified", "name"}
    missing = gen2.call("GET", gen2.url("no-such-fs"), who="admin", params={"resource": "filesystem",
                                                                          "recursive": "false"})
    assert missing.json()["error"]["code"] == "FilesystemNotFound"
    assert missing.json()["error"]["message"].startswith("The specified filesystem does not exist.\nRequestId:")
    assert gen2.call("DELETE", gen2.url("raw-fs"), who="admin", params={"resource": "filesystem"}).status_code == 202


def test_properties_headers_and_metadata(gen2: Gen2) -> None:
    filesystem = gen2.service().get_file_system_client(FS)
    file = filesystem.get_file_client(f"{scratch()}/p.txt")
    file.upload_data(b"hello", overwrite=True, metadata={"team": "data"})
    file.set_metadata({"team": "lake", "stage": "raw"})  # through the SDK's BlobClient: the blob API
    properties = file.get_file_properties()
    assert properties.metadata == {"team": "lake", "stage": "raw"} and properties.owner == "$superuser"
    gen2.admin_is_blob_owner()
    head = gen2.call("HEAD", gen2.url(FS, file.path_name), who="admin")
    assert head.headers["x-ms-resource-type"] == "file" and head.headers["Content-Length"] == "5"
    assert "x-ms-acl" not in head.headers and head.headers["x-ms-permissions"] == "rw-r-----"
    assert sorted(head.headers["x-ms-properties"].split(",")) == ["stage=cmF3", "team=bGFrZQ=="]
    status = gen2.call("HEAD", gen2.url(FS, file.path_name), who="admin", params={"action": "getStatus"})
    assert "x-ms-properties" not in status.headers and status.headers["x-ms-owner"] == "$superuser"
    folder = gen2.call("HEAD", gen2.url(FS, "TestFolder"), who="admin")
    assert folder.headers["x-ms-resource-type"] == "directory" and "x-ms-properties" not in folder.headers
    root = gen2.acl("/")
    assert root == {"owner": "$superuser", "group": "$superuser", "permissions": "rwxr-x---",
                    "acl": "user::rwx,group::r-x,other::---"}
    assert gen2.service().get_directory_client(FS, "/").get_access_control()["acl"] == root["acl"]


def test_a_filesystem_made_with_a_token_belongs_to_its_creator(gen2: Gen2) -> None:
    """Microsoft's ACL page: the root's owner and group are the creator when it used OAuth, else $superuser."""
    gen2.grant("Storage Blob Data Owner")
    gen2.vm_service().create_file_system("vm-made")
    assert gen2.acl("/", filesystem="vm-made", who="vm")["owner"] == VM_OID
    assert gen2.acl("/", filesystem="vm-made", who="vm")["group"] == VM_OID
    assert LAKE in gen2.url()


def test_a_service_sas_works_on_the_dfs_endpoint_and_needs_o_to_give_a_path_away(gen2: Gen2) -> None:
    import datetime as dt

    from azure.storage.filedatalake import FileSystemClient, FileSystemSasPermissions, generate_file_system_sas

    def client(**permissions: bool) -> FileSystemClient:
        sas = generate_file_system_sas(LAKE, FS, gen2.key(), permission=FileSystemSasPermissions(**permissions),
                                       expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
        return FileSystemClient(gen2.url(), FS, credential=sas, connection_verify=gen2.ca)

    writer = client(read=True, write=True, create=True, list=True)
    file = writer.get_file_client("TestFolder/sas.txt")
    file.upload_data(b"via a SAS", overwrite=True)
    assert file.download_file().readall() == b"via a SAS"
    assert file.get_access_control()["owner"] == "$superuser"  # no identity behind a SAS
    with pytest.raises(HttpResponseError) as refused:
        file.set_access_control(owner=VM_OID)
    assert refused.value.error_code == "AuthorizationPermissionMismatch"
    owner = client(read=True, manage_ownership=True).get_file_client("TestFolder/sas.txt")
    owner.set_access_control(owner=VM_OID)
    assert file.get_access_control()["owner"] == VM_OID
    reader = client(read=True).get_file_client("TestFolder/denied.txt")
    with pytest.raises(HttpResponseError):
        reader.upload_data(b"no", overwrite=True)
