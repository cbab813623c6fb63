"""Official clients against the emulator: azure-identity and azure-mgmt-resource.

A client failing here is a bug in the emulator, not in the client (DESIGN.md §4).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientSecretCredential, CredentialUnavailableError, ManagedIdentityCredential
from azure.mgmt.resource.resources import ResourceManagementClient
from conformance_helpers import (
    ID1_CLIENT_ID,
    ID1_PRINCIPAL_ID,
    SYSTEM_CLIENT_ID,
    SYSTEM_PRINCIPAL_ID,
    World,
)

from lib.imds import decode_claims

ARM_SCOPE = "https://management.azure.com/.default"


def resource_client(world: World, credential: Any) -> ResourceManagementClient:
    return ResourceManagementClient(
        credential, world.profile.subscription_id, base_url=world.profile.endpoints["arm"],
        credential_scopes=[ARM_SCOPE], connection_verify=world.ca)


# -- ManagedIdentityCredential via AZURE_POD_IDENTITY_AUTHORITY_HOST -------------------------------------
def test_managed_identity_credential_system_assigned(world: World) -> None:
    credential = ManagedIdentityCredential()
    token = credential.get_token(ARM_SCOPE)
    assert token.expires_on > time.time() + 3600
    decoded = decode_claims(token.token)
    assert decoded["appid"] == SYSTEM_CLIENT_ID
    assert decoded["oid"] == SYSTEM_PRINCIPAL_ID
    assert decoded["aud"] in ("https://management.azure.com", "https://management.azure.com/")
    assert decoded["tid"] == world.profile.tenant_id
    # azure-identity caches: the second call is served from its cache, same token
    assert credential.get_token(ARM_SCOPE).token == token.token


def test_managed_identity_credential_user_assigned_by_client_id(world: World) -> None:
    world.create_and_assign_id1()
    token = ManagedIdentityCredential(client_id=ID1_CLIENT_ID).get_token(ARM_SCOPE)
    decoded = decode_claims(token.token)
    assert decoded["appid"] == ID1_CLIENT_ID
    assert decoded["oid"] == ID1_PRINCIPAL_ID
    assert decoded["xms_mirid"].endswith("/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1")


@pytest.mark.parametrize("selector", ["resource_id", "object_id"])
def test_managed_identity_credential_user_assigned_by_identity_config(world: World, selector: str) -> None:
    """azure-identity 1.2x: identity_config keys ``resource_id`` / ``object_id`` (sent to IMDS as msi_res_id /
    object_id by MSAL)."""
    world.create_and_assign_id1()
    value = world.identity_id() if selector == "resource_id" else ID1_PRINCIPAL_ID
    token = ManagedIdentityCredential(identity_config={selector: value}).get_token(ARM_SCOPE)
    assert decode_claims(token.token)["appid"] == ID1_CLIENT_ID


def test_managed_identity_credential_unknown_client_id_is_unavailable(world: World) -> None:
    """IMDS's 400 'Identity not found' is what azure-identity turns into CredentialUnavailableError."""
    with pytest.raises(CredentialUnavailableError) as raised:
        ManagedIdentityCredential(client_id="00000000-1111-2222-3333-444444444444").get_token(ARM_SCOPE)
    assert "Identity not found" in str(raised.value)


def test_managed_identity_credential_retries_an_injected_outage(world: World) -> None:
    injected = world.control("POST", "/faults", {"service": "imds", "status": 500, "count": 1})
    assert injected.status_code == 201
    token = ManagedIdentityCredential().get_token(ARM_SCOPE)
    assert decode_claims(token.token)["appid"] == SYSTEM_CLIENT_ID
    assert world.control("GET", "/faults").json() == {}  # the fault was met, and retried past


def test_managed_identity_token_reads_the_resource_group_after_the_grant(world: World) -> None:
    client = resource_client(world, ManagedIdentityCredential())
    with pytest.raises(HttpResponseError) as denied:
        client.resource_groups.get(world.profile.resource_group)
    assert denied.value.status_code == 403
    assert denied.value.error is not None and denied.value.error.code == "AuthorizationFailed"
    assert SYSTEM_PRINCIPAL_ID in str(denied.value)

    world.grant_reader(SYSTEM_PRINCIPAL_ID)
    group = client.resource_groups.get(world.profile.resource_group)
    assert group.name == world.profile.resource_group
    assert group.id == world.rg_scope
    assert group.location == world.profile.location
    assert group.properties is not None and group.properties.provisioning_state == "Succeeded"


def test_user_assigned_identity_reads_the_resource_group_after_the_grant(world: World) -> None:
    world.create_and_assign_id1()
    client = resource_client(world, ManagedIdentityCredential(client_id=ID1_CLIENT_ID))
    with pytest.raises(HttpResponseError) as denied:
        client.resource_groups.get(world.profile.resource_group)
    assert denied.value.status_code == 403
    assert denied.value.error is not None and denied.value.error.code == "AuthorizationFailed"
    world.grant_reader(ID1_PRINCIPAL_ID)
    assert client.resource_groups.get(world.profile.resource_group).name == world.profile.resource_group


# -- ClientSecretCredential against the emulated Entra -----------------------------------------------------
def _admin_credential(world: World, secret: str | None = None) -> ClientSecretCredential:
    return ClientSecretCredential(
        world.profile.tenant_id, world.profile.admin["clientId"], secret or world.profile.admin["clientSecret"],
        authority=world.profile.endpoints["login"], disable_instance_discovery=True, connection_verify=world.ca)


def test_client_secret_credential_gets_the_admin_token(world: World) -> None:
    token = _admin_credential(world).get_token(ARM_SCOPE)
    assert token.expires_on > time.time() + 600
    decoded = decode_claims(token.token)
    assert decoded["appid"] == world.profile.admin["clientId"]
    assert decoded["oid"] == world.profile.admin["objectId"]
    assert decoded["aud"] == "https://management.azure.com"  # the scope's resource: all before "/.default"


def test_client_secret_credential_with_a_wrong_secret_fails(world: World) -> None:
    with pytest.raises(ClientAuthenticationError) as raised:
        _admin_credential(world, secret="not-the-secret").get_token(ARM_SCOPE)
    assert "AADSTS7000215" in str(raised.value)


def test_admin_credential_with_resource_management_client(world: World) -> None:
    client = resource_client(world, _admin_credential(world))
    group = client.resource_groups.get(world.profile.resource_group)
    assert group.name == world.profile.resource_group
    assert [g.name for g in client.resource_groups.list()] == [world.profile.resource_group]
    assert client.resource_groups.check_existence(world.profile.resource_group) is True
    assert client.resource_groups.check_existence("no-such-rg") is False


def test_resource_management_client_unknown_group_is_404(world: World) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    client = resource_client(world, _admin_credential(world))
    with pytest.raises(ResourceNotFoundError) as raised:
        client.resource_groups.get("no-such-rg")
    assert raised.value.error is not None and raised.value.error.code == "ResourceGroupNotFound"
