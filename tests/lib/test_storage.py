"""lib.storage: account URLs per target, Azure's XML errors read, SAS masked."""

from __future__ import annotations

import pytest
import requests

from lib import storage
from lib import target as targets


def test_emulator_account_and_urls(emulator, emulator_env):
    chosen = targets.resolve("emulator")
    assert storage.default_account(chosen) == "miworkbookstore"
    assert storage.default_account(chosen, hierarchical=True) == "miworkbooklake"
    assert storage.account_url(chosen, "miworkbookstore") == emulator.profile.endpoints["blob"] + "/miworkbookstore"
    assert storage.container_scope(chosen, "a", "c").endswith(
        "/resourceGroups/mi-workbook-rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c")


def test_datalake_urls_and_accounts(emulator, emulator_env, monkeypatch):
    chosen = targets.resolve("emulator")
    assert storage.datalake_account(chosen) == "miworkbooklake"
    assert storage.datalake_account(chosen, "other") == "other"
    assert storage.dfs_url(chosen, "miworkbooklake") == emulator.profile.endpoints["dfs"] + "/miworkbooklake"
    azure = targets.Target(name="azure", endpoints={}, subscription_id="s", resource_group="rg")
    assert storage.dfs_url(azure, "acct") == "https://acct.dfs.core.windows.net"
    monkeypatch.delenv("WORKBOOK_DATALAKE_ACCOUNT", raising=False)
    with pytest.raises(storage.StorageConfigError, match="WORKBOOK_DATALAKE_ACCOUNT"):
        storage.datalake_account(azure)
    monkeypatch.setenv("WORKBOOK_DATALAKE_ACCOUNT", "lake")
    assert storage.datalake_account(azure) == "lake"


def test_datalake_error_from_a_refusal(emulator, emulator_env):
    url = f"{emulator.profile.endpoints['dfs']}/miworkbooklake/mi-workbook-fs/TestFolder/hello_world.txt"
    refused = requests.get(url, headers={"x-ms-version": "2021-08-06"}, verify=emulator.profile.ca_bundle, timeout=10)
    error = storage.datalake_error(refused)
    assert error is not None and (error.status, error.code) == (401, "NoAuthenticationInformation")
    assert error.message.startswith("Server failed to authenticate") and "\n" not in error.message
    head = requests.head(url, headers={"x-ms-version": "2021-08-06"}, verify=emulator.profile.ca_bundle, timeout=10)
    assert storage.datalake_error(head) == storage.BlobError(401, "NoAuthenticationInformation", "")
    answered = requests.get(emulator.profile.endpoints["imds"] + "/metadata/instance?api-version=2021-02-01",
                            headers={"Metadata": "true"}, timeout=10)
    assert answered.status_code == 200 and storage.datalake_error(answered) is None


def test_azure_urls_and_account_from_environment(monkeypatch):
    azure = targets.Target(name="azure", endpoints={}, subscription_id="s", resource_group="rg")
    assert storage.account_url(azure, "acct") == "https://acct.blob.core.windows.net"
    monkeypatch.delenv("WORKBOOK_STORAGE_ACCOUNT", raising=False)
    with pytest.raises(storage.StorageConfigError, match="WORKBOOK_STORAGE_ACCOUNT"):
        storage.default_account(azure)
    monkeypatch.setenv("WORKBOOK_STORAGE_ACCOUNT", "mine")
    assert storage.default_account(azure) == "mine"


def test_blob_error_from_a_refusal(emulator, emulator_env):
    url = f"{emulator.profile.endpoints['blob']}/miworkbookstore/mi-workbook/hello_world.txt"
    refused = requests.get(url, headers={"x-ms-version": "2021-08-06", "Authorization": "Bearer x.y.z"},
                           verify=emulator.profile.ca_bundle, timeout=10)
    error = storage.blob_error(refused)
    assert error is not None and error.status == 401 and error.code == "InvalidAuthenticationInfo"
    assert error.message.startswith("Server failed to authenticate") and "\n" not in error.message
    assert "well-formed" in error.detail and str(error).startswith("401 InvalidAuthenticationInfo (")
    assert storage.blob_error(requests.get(emulator.profile.control + "/nothing", timeout=10)) is not None


def test_mask_sas_keeps_four_characters_of_the_signature():
    masked = storage.mask_sas("?sv=2015-04-05&sr=c&sig=abcdefghijklmnop%3D&sp=r")
    assert masked == "sv=2015-04-05&sr=c&sig=abcd…&sp=r"
    assert "efgh" not in masked
