"""MSAL for Python against the emulator: its managed-identity client and client credentials.

`ManagedIdentityClient` finds the emulated IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST (the conftest
sets it); `ConfidentialClientApplication` talks to the emulated Entra with instance discovery off (MSAL
would otherwise ask login.microsoftonline.com whether the emulator's host is a known authority).
"""

from __future__ import annotations

from typing import Any

import msal
import pytest
import requests
from conformance_helpers import (
    ID1_CLIENT_ID,
    ID1_PRINCIPAL_ID,
    SYSTEM_CLIENT_ID,
    SYSTEM_PRINCIPAL_ID,
    World,
)

from lib.imds import decode_claims

ARM = "https://management.azure.com/"


def http(world: World) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy; the emulator's CA, not REQUESTS_CA_BUNDLE
    session.verify = world.ca
    return session


def managed_identity_client(world: World, identity: Any) -> msal.ManagedIdentityClient:
    return msal.ManagedIdentityClient(identity, http_client=http(world))


# -- ManagedIdentityClient ----------------------------------------------------------------------------------
def test_system_assigned(world: World) -> None:
    client = managed_identity_client(world, msal.SystemAssignedManagedIdentity())
    result = client.acquire_token_for_client(resource=ARM)
    assert "access_token" in result, result
    assert result["token_type"].lower() == "bearer" and result["expires_in"] > 3600
    decoded = decode_claims(result["access_token"])
    assert (decoded["appid"], decoded["oid"], decoded["aud"]) == (SYSTEM_CLIENT_ID, SYSTEM_PRINCIPAL_ID, ARM)
    again = client.acquire_token_for_client(resource=ARM)
    assert again["access_token"] == result["access_token"]  # from MSAL's cache
    assert again.get("token_source") == "cache"


@pytest.mark.parametrize("selector", ["client_id", "object_id", "resource_id"])
def test_user_assigned(world: World, selector: str) -> None:
    world.create_and_assign_id1()
    value = {"client_id": ID1_CLIENT_ID, "object_id": ID1_PRINCIPAL_ID, "resource_id": world.identity_id()}[selector]
    identity = msal.UserAssignedManagedIdentity(**{selector: value})
    result = managed_identity_client(world, identity).acquire_token_for_client(resource="https://vault.azure.net")
    assert "access_token" in result, result
    decoded = decode_claims(result["access_token"])
    assert (decoded["appid"], decoded["oid"]) == (ID1_CLIENT_ID, ID1_PRINCIPAL_ID)
    assert decoded["xms_mirid"].endswith("/userAssignedIdentities/ID1")


def test_an_identity_not_on_the_vm_is_refused(world: World) -> None:
    identity = msal.UserAssignedManagedIdentity(client_id=ID1_CLIENT_ID)  # exists nowhere yet
    result = managed_identity_client(world, identity).acquire_token_for_client(resource=ARM)
    assert "access_token" not in result
    assert result["error"] == "invalid_request" and "Identity not found" in result["error_description"]


def test_the_token_reads_the_resource_group_once_granted(world: World) -> None:
    token = managed_identity_client(world, msal.SystemAssignedManagedIdentity()).acquire_token_for_client(
        resource=ARM)["access_token"]
    url = f"{world.profile.endpoints['arm']}{world.rg_scope}"
    headers = {"Authorization": f"Bearer {token}"}
    assert world.http.get(url, params={"api-version": "2021-04-01"}, headers=headers, timeout=10).status_code == 403
    world.grant_reader(SYSTEM_PRINCIPAL_ID)
    assert world.http.get(url, params={"api-version": "2021-04-01"}, headers=headers, timeout=10).status_code == 200


# -- ConfidentialClientApplication (client credentials) -----------------------------------------------------
def admin_app(world: World, secret: str | None = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        world.profile.admin["clientId"], client_credential=secret or world.profile.admin["clientSecret"],
        authority=f"{world.profile.endpoints['login']}/{world.profile.tenant_id}", instance_discovery=False,
        http_client=http(world))


@pytest.mark.parametrize(("scope", "audience"), [
    ("https://management.azure.com/.default", "https://management.azure.com"),
    ("https://management.core.windows.net//.default", "https://management.core.windows.net/"),  # what az asks
    ("https://database.windows.net//.default", "https://database.windows.net/"),  # what SQL docs show
])
def test_client_credentials(world: World, scope: str, audience: str) -> None:
    app = admin_app(world)
    result = app.acquire_token_for_client(scopes=[scope])
    assert "access_token" in result, result
    decoded = decode_claims(result["access_token"])
    assert decoded["aud"] == audience and decoded["oid"] == world.profile.admin["objectId"]
    assert app.acquire_token_for_client(scopes=[scope])["access_token"] == result["access_token"]  # cached


def test_client_credentials_token_is_accepted_by_resource_manager(world: World) -> None:
    token = admin_app(world).acquire_token_for_client(
        scopes=["https://management.core.windows.net//.default"])["access_token"]
    response = world.http.get(f"{world.profile.endpoints['arm']}{world.rg_scope}", params={"api-version": "2021-04-01"},
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text


def test_client_credentials_with_a_wrong_secret(world: World) -> None:
    result = admin_app(world, secret="not-the-secret").acquire_token_for_client(
        scopes=["https://management.azure.com/.default"])
    assert "access_token" not in result
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]


def test_client_credentials_for_an_unknown_tenant(world: World) -> None:
    """MSAL reads the tenant's OIDC discovery when the app is made; an unknown tenant has none (AADSTS90002)."""
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.ConfidentialClientApplication(
            world.profile.admin["clientId"], client_credential=world.profile.admin["clientSecret"],
            authority=f"{world.profile.endpoints['login']}/00000000-0000-0000-0000-00000000dead",
            instance_discovery=False, http_client=http(world))
