"""RBAC data actions on the blob endpoint: deny → grant → allow → revoke, inherited from subscription,
resource group and account down to the container, and never sideways to another container."""

from __future__ import annotations

import pytest
from blob_helpers import CONTAINER, HELLO, Storage
from emu_helpers import RA_API, SYSTEM_PRINCIPAL_ID, Azure


@pytest.fixture
def storage(world: Azure) -> Storage:
    storage = Storage(world)
    storage.service().create_container("other").upload_blob("other.txt", b"other")
    return storage


def _status(storage: Storage, container: str, blob: str, token: str) -> tuple[int, str]:
    response = storage.call("GET", storage.url(container, blob), token=token)
    return response.status_code, response.headers.get("x-ms-error-code", "")


def _revoke(world: Azure, scope: str, name: str) -> None:
    response = world.arm("DELETE", world.assignment_path(scope, name), api_version=RA_API)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("level", ["subscription", "resource group", "account", "container"])
def test_deny_grant_allow_revoke_at_each_scope(storage: Storage, level: str) -> None:
    world = storage.azure
    scope = {"subscription": world.sub_scope, "resource group": world.rg_scope, "account": storage.account_id(),
             "container": storage.container_scope()}[level]
    token = storage.vm_token()
    assert _status(storage, CONTAINER, HELLO, token) == (403, "AuthorizationPermissionMismatch")
    name = world.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader", scope)
    assert _status(storage, CONTAINER, HELLO, token) == (200, "")  # the same token: roles are looked up per request
    other = _status(storage, "other", "other.txt", token)
    assert other == ((403, "AuthorizationPermissionMismatch") if level == "container" else (200, ""))
    _revoke(world, scope, name)
    assert _status(storage, CONTAINER, HELLO, token) == (403, "AuthorizationPermissionMismatch")


def test_management_roles_grant_no_data_access(storage: Storage) -> None:
    """Owner, Reader and Storage Account Contributor have actions, not data actions: no blob read with a token."""
    world = storage.azure
    token = storage.vm_token()
    for role in ("Reader", "Storage Account Contributor", "Owner"):
        name = world.grant(SYSTEM_PRINCIPAL_ID, role, storage.account_id())
        assert _status(storage, CONTAINER, HELLO, token) == (403, "AuthorizationPermissionMismatch"), role
        _revoke(world, storage.account_id(), name)


def test_container_operations_use_actions_and_writes_use_data_actions(storage: Storage) -> None:
    world = storage.azure
    token = storage.vm_token()
    world.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader", storage.account_id())
    created = storage.call("PUT", storage.url("made-by-vm") + "?restype=container", token=token)
    assert (created.status_code, created.headers["x-ms-error-code"]) == (403, "AuthorizationPermissionMismatch")
    listed = storage.call("GET", storage.url() + "?comp=list", token=token)
    assert listed.status_code == 200 and b"<Name>other</Name>" in listed.content
    write = storage.call("PUT", storage.url(CONTAINER, "w.txt"), token=token, data=b"w",
                         headers={"x-ms-blob-type": "BlockBlob"})
    assert write.status_code == 403
    world.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Contributor", storage.container_scope())
    assert storage.call("PUT", storage.url(CONTAINER, "w.txt"), token=token, data=b"w",
                        headers={"x-ms-blob-type": "BlockBlob"}).status_code == 201
    assert storage.call("DELETE", storage.url(CONTAINER, "w.txt"), token=token).status_code == 202
    assert storage.call("PUT", storage.url("made-by-vm") + "?restype=container", token=token).status_code == 403
    world.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Contributor", storage.account_id())
    assert storage.call("PUT", storage.url("made-by-vm") + "?restype=container", token=token).status_code == 201


def test_role_assignment_on_a_missing_container_scope_is_refused(storage: Storage) -> None:
    response = storage.azure.put_assignment(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader",
                                            storage.container_scope("no-such-container"))
    assert response.status_code == 404, response.text
