"""azure-keyvault-secrets end to end: SecretClient with the admin's ClientSecretCredential and with the VM's
ManagedIdentityCredential, every operation, and both access models deny → grant → allow → revoke."""

from __future__ import annotations

import re
import time

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from kv_helpers import VAULT_NAME, VM, Vault


def admin_client(vault: Vault) -> SecretClient:
    credential = ClientSecretCredential(vault.tenant, vault.admin_client_id, vault.admin_secret,
                                        authority=vault.login_url, disable_instance_discovery=True,
                                        connection_verify=vault.ca)
    return SecretClient(vault.url, credential, verify_challenge_resource=False, connection_verify=vault.ca)


def vm_client(vault: Vault) -> SecretClient:
    return SecretClient(vault.url, ManagedIdentityCredential(), verify_challenge_resource=False,
                        connection_verify=vault.ca)


def refused(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def test_every_operation_with_the_admin_client(vault: Vault) -> None:
    client = admin_client(vault)
    first = client.set_secret("db-password", "one", content_type="text/plain", tags={"env": "test"})
    assert re.fullmatch(r"[0-9a-f]{32}", first.properties.version)
    assert first.id == f"{vault.url}/secrets/db-password/{first.properties.version}"
    assert first.properties.vault_url == vault.url
    assert (first.value, first.properties.content_type, first.properties.tags) == ("one", "text/plain", {"env": "test"})
    assert first.properties.recovery_level == "Recoverable+Purgeable"
    assert first.properties.recoverable_days == 90
    second = client.set_secret("db-password", "two")
    assert client.get_secret("db-password").value == "two"
    assert client.get_secret("db-password", first.properties.version).value == "one"
    versions = {p.version for p in client.list_properties_of_secret_versions("db-password")}
    assert versions == {first.properties.version, second.properties.version}
    assert [p.name for p in client.list_properties_of_secrets()] == ["db-password"]
    listed = next(iter(client.list_properties_of_secrets()))
    assert listed.version is None  # a list names the secret, not a version

    expires = int(time.time()) + 3600
    updated = client.update_secret_properties("db-password", content_type="application/json",
                                              expires_on=_utc(expires), tags={"env": "prod"})
    assert updated.content_type == "application/json" and updated.tags == {"env": "prod"}
    assert int(updated.expires_on.timestamp()) == expires
    client.update_secret_properties("db-password", first.properties.version, enabled=False)
    error = refused(lambda: client.get_secret("db-password", first.properties.version))
    assert (error.status_code, error.error.code) == (403, "Forbidden")
    assert "disabled secret" in error.message
    assert client.get_secret("db-password").value == "two"  # only that version is disabled

    deleted = client.begin_delete_secret("db-password").result()
    assert deleted.recovery_id == f"{vault.url}/deletedsecrets/db-password"
    assert deleted.scheduled_purge_date > deleted.deleted_date
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("db-password")
    assert [d.name for d in client.list_deleted_secrets()] == ["db-password"]
    assert client.get_deleted_secret("db-password").name == "db-password"
    conflict = refused(lambda: client.set_secret("db-password", "three"))
    assert (conflict.status_code, conflict.error.code) == (409, "Conflict")
    recovered = client.begin_recover_deleted_secret("db-password").result()
    assert recovered.version == second.properties.version
    assert client.get_secret("db-password").value == "two"
    client.begin_delete_secret("db-password").result()
    client.purge_deleted_secret("db-password")
    assert list(client.list_deleted_secrets()) == []
    client.set_secret("db-password", "a new life")  # the name is free again after the purge
    assert len(list(client.list_properties_of_secret_versions("db-password"))) == 1


def _utc(epoch: int):
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def test_paging_follows_next_links(vault: Vault) -> None:
    client = admin_client(vault)
    for index in range(30):
        client.set_secret(f"s{index:02d}", "v")
    assert len(list(client.list_properties_of_secrets(max_page_size=7))) == 30
    assert len(list(client.list_properties_of_secrets())) == 30  # two pages of 25 and 5


def test_access_policy_deny_grant_allow_revoke(vault: Vault) -> None:
    admin_client(vault).set_secret("app-secret", "hello")
    client = vm_client(vault)
    denied = refused(lambda: client.get_secret("app-secret"))
    assert (denied.status_code, denied.error.code) == (403, "Forbidden")
    assert "does not have secrets get permission on key vault 'mi-workbook-kv;location=westus'" in denied.message
    assert f"oid={VM}" in denied.message
    vault.allow(VM, "get")
    assert client.get_secret("app-secret").value == "hello"
    listing = refused(lambda: list(client.list_properties_of_secrets()))  # "get" is not "list"
    assert "secrets list permission" in listing.message
    response = vault.policy("remove", VM)
    assert response.status_code == 200, response.text
    again = refused(lambda: client.get_secret("app-secret"))
    assert again.status_code == 403


def test_rbac_deny_grant_allow_revoke_and_policies_stop_counting(vault: Vault) -> None:
    admin = admin_client(vault)
    admin.set_secret("app-secret", "hello")
    vault.allow(VM, "get", "list")
    client = vm_client(vault)
    assert client.get_secret("app-secret").value == "hello"

    response = vault.rbac_mode(True)
    assert response.status_code == 200, response.text
    denied = refused(lambda: client.get_secret("app-secret"))  # the access policy no longer counts
    assert (denied.status_code, denied.error.code) == (403, "Forbidden")
    assert denied.response.json()["error"]["innererror"]["code"] == "ForbiddenByRbac"
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'" in denied.message
    assert "/providers/microsoft.keyvault/vaults/mi-workbook-kv/secrets/app-secret'" in denied.message
    admin_denied = refused(lambda: admin.get_secret("app-secret"))  # Owner is management, not data
    assert admin_denied.status_code == 403

    assignment = vault.grant_on_vault(VM, "Key Vault Secrets User")
    assert client.get_secret("app-secret").value == "hello"
    write = refused(lambda: client.set_secret("app-secret", "changed"))  # Secrets User reads only
    assert "setSecret/action" in write.message
    deleted = vault.arm("DELETE", vault.assignment_path(vault.vault_id, assignment), api_version="2022-04-01")
    assert deleted.status_code == 200, deleted.text
    assert refused(lambda: client.get_secret("app-secret")).status_code == 403


@pytest.mark.parametrize("role, can_list, can_get, can_set", [
    ("Reader", False, False, False),
    ("Key Vault Reader", True, False, False),
    ("Key Vault Secrets User", True, True, False),
    ("Key Vault Secrets Officer", True, True, True),
    ("Key Vault Administrator", True, True, True),
    ("Key Vault Contributor", False, False, False),
])
def test_rbac_roles_and_what_they_allow(vault: Vault, role: str, can_list: bool, can_get: bool,
                                        can_set: bool) -> None:
    admin_client(vault).set_secret("app-secret", "hello")
    assert vault.rbac_mode(True).status_code == 200
    vault.grant(VM, role, vault.rg_scope)  # granted on the resource group: inherited by the vault
    client = vm_client(vault)
    outcomes = []
    for attempt in (lambda: list(client.list_properties_of_secrets()), lambda: client.get_secret("app-secret"),
                    lambda: client.set_secret("new-one", "x")):
        try:
            attempt()
            outcomes.append(True)
        except HttpResponseError as exc:
            assert exc.status_code == 403 and exc.error.code == "Forbidden"
            outcomes.append(False)
    assert outcomes == [can_list, can_get, can_set]


def test_the_loopback_vault_needs_verify_challenge_resource_off(vault: Vault) -> None:
    """The SDK refuses a challenge for vault.azure.net from a host outside that domain, unless told not to."""
    strict = SecretClient(vault.url, ManagedIdentityCredential(), connection_verify=vault.ca)
    with pytest.raises(ValueError, match="verify_challenge_resource"):
        strict.get_secret("anything")


def test_a_token_for_the_slashed_resource_is_refused(vault: Vault) -> None:
    """IMDS issues it, Key Vault refuses it (AKV10022): the resource is https://vault.azure.net, no slash."""
    token = vault.mi_token("https://vault.azure.net/")
    response = vault.kv("GET", "/secrets", token)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("AKV10022: Invalid audience")
    assert "found: https://vault.azure.net/." in response.json()["error"]["message"]


def test_wrong_credential_surfaces_as_authentication_error(vault: Vault) -> None:
    credential = ClientSecretCredential(vault.tenant, vault.admin_client_id, "not-the-secret",
                                        authority=vault.login_url, disable_instance_discovery=True,
                                        connection_verify=vault.ca)
    client = SecretClient(vault.url, credential, verify_challenge_resource=False, connection_verify=vault.ca)
    with pytest.raises(ClientAuthenticationError):
        client.get_secret("anything")


def test_lib_target_gives_the_vault_url_and_client_options(vault: Vault) -> None:
    from lib.target import Target

    emulated = Target(name="emulator", endpoints={"keyvault": vault.url}, ca_bundle=vault.ca)
    assert emulated.vault_url("ignored") == vault.url + "/"
    assert emulated.keyvault_kwargs() == {"connection_verify": vault.ca, "verify_challenge_resource": False}
    azure = Target(name="azure", endpoints={})
    assert azure.vault_url("my-kv") == "https://my-kv.vault.azure.net/"
    assert azure.keyvault_kwargs() == {}  # on Azure the SDK keeps its challenge-resource check
    client = SecretClient(emulated.vault_url(VAULT_NAME), ManagedIdentityCredential(), **emulated.keyvault_kwargs())
    vault.put_secret("app-secret", "hello")
    vault.allow(VM, "get")
    assert client.get_secret("app-secret").value == "hello"
