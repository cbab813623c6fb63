"""Microsoft's own Gen1 client, azure-datalake-store 1.0 (AzureDLFileSystem), against the emulated account.

The VM's identity authenticates through azure-identity's ManagedIdentityCredential (the SDK asks it
for ``https://datalake.azure.net//.default``, i.e. the resource with its trailing slash). The SDK
builds ``https://<store>.azuredatalakestore.net/``; pointing it at the emulator takes one attribute,
``fs.azure.url``. It skips the redirect (``write=true``, ``read=true``, ``append=true``), sends
``OP=``/``recursive=True``/``api-version=2018-09-01``, writes in 4 MB appends and lists in pages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from azure.datalake.store import core, exceptions
from conformance_helpers import SYSTEM_PRINCIPAL_ID, World

GEN1 = "https://datalake.azure.net/"


def _admin_acl(world: World, path: str, spec: str) -> None:
    token = world.http.post(
        f"{world.profile.endpoints['login']}/{world.profile.tenant_id}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": world.profile.admin["clientId"],
              "client_secret": world.profile.admin["clientSecret"], "resource": GEN1}, timeout=10,
    ).json()["access_token"]
    response = world.http.put(f"{world.profile.endpoints['datalake']}/webhdfs/v1{path}", timeout=10,
                              params={"op": "MODIFYACLENTRIES", "aclspec": spec},
                              headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.fixture
def adl(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from azure.identity import ManagedIdentityCredential

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", world.ca)  # the SDK's own requests session trusts the emulator's CA
    credential = ManagedIdentityCredential()
    fs = core.AzureDLFileSystem(token_credential=credential, store_name="miworkbookadls")
    assert fs.azure.url == "https://miworkbookadls.azuredatalakestore.net/"
    fs.azure.url = world.profile.endpoints["datalake"] + "/"
    yield fs
    credential.close()


def test_sdk_is_refused_then_works_after_the_tutorials_grant(world: World, adl: object) -> None:
    fs = adl
    with pytest.raises(exceptions.PermissionError):
        fs.ls("/")  # type: ignore[attr-defined]
    _admin_acl(world, "/", f"user:{SYSTEM_PRINCIPAL_ID}:r-x")
    _admin_acl(world, "/TestFolder", f"user:{SYSTEM_PRINCIPAL_ID}:rwx,default:user:{SYSTEM_PRINCIPAL_ID}:rwx")
    assert fs.ls("/") == ["TestFolder"]  # type: ignore[attr-defined]
    assert fs.azure.AccessToken is not None  # type: ignore[attr-defined]
    listing = fs.ls("/TestFolder", detail=True)  # type: ignore[attr-defined]
    assert [(f["name"], f["type"], f["length"]) for f in listing] == [("TestFolder/hello_world.txt", "FILE", 15)]


def test_sdk_writes_reads_moves_and_removes(world: World, adl: object) -> None:
    fs = adl
    _admin_acl(world, "/", f"user:{SYSTEM_PRINCIPAL_ID}:r-x")
    _admin_acl(world, "/TestFolder", f"user:{SYSTEM_PRINCIPAL_ID}:rwx,default:user:{SYSTEM_PRINCIPAL_ID}:rwx")
    payload = os.urandom(9 * 1024 * 1024 + 123)  # three 4 MB appends
    with fs.open("/TestFolder/sdk/big.bin", "wb") as handle:  # type: ignore[attr-defined]
        handle.write(payload)
    assert fs.info("/TestFolder/sdk/big.bin")["length"] == len(payload)  # type: ignore[attr-defined]
    assert fs.cat("/TestFolder/sdk/big.bin") == payload  # type: ignore[attr-defined]
    assert fs.head("/TestFolder/sdk/big.bin", 10) == payload[:10]  # type: ignore[attr-defined]
    assert fs.tail("/TestFolder/sdk/big.bin", 10) == payload[-10:]  # type: ignore[attr-defined]
    with fs.open("/TestFolder/sdk/big.bin", "ab") as handle:  # type: ignore[attr-defined]
        handle.write(b"tail")
    assert fs.tail("/TestFolder/sdk/big.bin", 4) == b"tail"  # type: ignore[attr-defined]
    fs.mkdir("/TestFolder/sdk/moved")  # type: ignore[attr-defined]
    fs.mv("/TestFolder/sdk/big.bin", "/TestFolder/sdk/moved/big.bin")  # type: ignore[attr-defined]
    assert fs.walk("/TestFolder/sdk") == ["TestFolder/sdk/moved/big.bin"]  # type: ignore[attr-defined]
    assert fs.du("/TestFolder/sdk", total=True, deep=True) == len(payload) + 4  # type: ignore[attr-defined]
    acl = fs.get_acl_status("/TestFolder/sdk/moved/big.bin")  # type: ignore[attr-defined]
    assert acl["owner"] == SYSTEM_PRINCIPAL_ID
    assert f"user:{SYSTEM_PRINCIPAL_ID}:rwx" in acl["entries"]
    fs.chmod("/TestFolder/sdk/moved/big.bin", "0750")  # type: ignore[attr-defined]
    assert fs.info("/TestFolder/sdk/moved/big.bin")["permission"] == "750"  # type: ignore[attr-defined]
    fs.rm("/TestFolder/sdk", recursive=True)  # type: ignore[attr-defined]
    assert not fs.exists("/TestFolder/sdk")  # type: ignore[attr-defined]


def test_sdk_sees_gen1s_refusals(world: World, adl: object) -> None:
    fs = adl
    _admin_acl(world, "/", f"user:{SYSTEM_PRINCIPAL_ID}:r-x")
    with pytest.raises(exceptions.PermissionError), fs.open("/outside.txt", "wb") as handle:  # type: ignore[attr-defined]
        handle.write(b"root is r-x only")
    with pytest.raises(exceptions.FileNotFoundError):
        fs.info("/nothing-here")  # type: ignore[attr-defined]
