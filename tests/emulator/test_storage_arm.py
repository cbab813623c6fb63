"""The storage resource provider on Resource Manager: account GET/list, listKeys, listServiceSas —
over REST and with azure-mgmt-storage, behind ARM's authentication and RBAC."""

from __future__ import annotations

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.storage.models import ServiceSasParameters
from blob_helpers import ACCOUNT, CONTAINER, LAKE, STORAGE_API, Storage, utc
from emu_helpers import ARM, SYSTEM_PRINCIPAL_ID, Azure


@pytest.fixture
def storage(world: Azure) -> Storage:
    return Storage(world)


def test_account_document_and_list(storage: Storage) -> None:
    response = storage.azure.arm("GET", storage.account_id(), api_version=STORAGE_API)
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["name"] == ACCOUNT and account["type"] == "Microsoft.Storage/storageAccounts"
    assert account["kind"] == "StorageV2" and account["properties"]["isHnsEnabled"] is False
    assert account["properties"]["primaryEndpoints"]["blob"] == f"{storage.endpoint}/{ACCOUNT}/"
    listed = storage.azure.arm("GET", storage.account_id().rsplit("/", 1)[0], api_version=STORAGE_API)
    assert sorted(a["name"] for a in listed.json()["value"]) == [LAKE, ACCOUNT]
    missing = storage.azure.arm("GET", storage.account_id("nosuchaccount"), api_version=STORAGE_API)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"
    old = storage.azure.arm("GET", storage.account_id(), api_version="2015-01-01")
    assert old.status_code == 400 and old.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_list_keys_needs_the_action_and_storage_account_contributor_has_it(storage: Storage) -> None:
    vm = storage.azure.mi_token(ARM)
    path = storage.account_id() + "/listKeys"
    denied = storage.azure.arm("POST", path, token=vm, api_version=STORAGE_API)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Storage/storageAccounts/listkeys/action" in denied.json()["error"]["message"]
    reader = storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Reader", storage.account_id())
    assert storage.azure.arm("GET", storage.account_id(), token=vm, api_version=STORAGE_API).status_code == 200
    assert storage.azure.arm("POST", path, token=vm, api_version=STORAGE_API).status_code == 403
    del reader
    storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Account Contributor", storage.account_id())
    keys = storage.azure.arm("POST", path, token=vm, api_version=STORAGE_API).json()["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"]
    assert [k["value"] for k in keys] == [storage.key(index=0), storage.key(index=1)]
    assert all(k["permissions"] == "FULL" for k in keys)


def test_azure_mgmt_storage_client(storage: Storage) -> None:
    profile = storage.profile
    credential = ClientSecretCredential(profile.tenant_id, profile.admin["clientId"], profile.admin["clientSecret"],
                                        authority=profile.endpoints["login"], disable_instance_discovery=True,
                                        connection_verify=profile.ca_bundle)
    client = StorageManagementClient(credential, profile.subscription_id, base_url=profile.endpoints["arm"],
                                     credential_scopes=[ARM + ".default"], connection_verify=profile.ca_bundle)
    account = client.storage_accounts.get_properties(profile.resource_group, ACCOUNT)
    assert account.name == ACCOUNT and account.primary_endpoints.blob.endswith(f"/{ACCOUNT}/")
    assert sorted(a.name for a in client.storage_accounts.list_by_resource_group(profile.resource_group)) == [
        LAKE, ACCOUNT]
    keys = client.storage_accounts.list_keys(profile.resource_group, ACCOUNT)["keys"]  # .keys is the mapping's
    assert keys[0]["value"] == storage.key()
    sas = client.storage_accounts.list_service_sas(profile.resource_group, ACCOUNT, ServiceSasParameters(
        canonicalized_resource=f"/blob/{ACCOUNT}/{CONTAINER}", resource="c", permissions="rl",
        protocols="https", shared_access_expiry_time=utc(hours=1))).service_sas_token
    assert sas.startswith("sv=2015-04-05&sr=c&spr=https&se=")
    assert storage.read_hello(sas=sas).content == b"Hello world! :)"
