"""The SAS matrix: service SAS in every signed-version form, minted by ARM or the SDK or by hand, and
each way a SAS must fail — expired, not yet valid, tampered, missing permission, another container,
unknown ``sv``, wrong key — plus user delegation SAS.

Hand-made SAS here sign the strings the REST reference documents, written out independently of the
emulator's own table (storage/sas.py), so a mistake there cannot hide behind the same mistake here.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from azure.storage.blob import BlobSasPermissions, generate_blob_sas, generate_container_sas
from blob_helpers import ACCOUNT, CONTAINER, HELLO, LAKE, STORAGE_API, Storage, error_detail, iso, sign, utc
from emu_helpers import SYSTEM_PRINCIPAL_ID, Azure


@pytest.fixture
def storage(world: Azure) -> Storage:
    return Storage(world)


def hand_sas(key: str, version: str, permissions: str, *, container: str = CONTAINER, blob: str | None = None,
             start: str = "", expiry: str | None = None, protocol: str = "", ip: str = "",
             canonical_container: str | None = None) -> str:
    """A service SAS signed as the reference's string-to-sign for ``version`` says."""
    expiry = expiry or iso(utc(hours=1))
    resource = "b" if blob else "c"
    canonical = f"/blob/{ACCOUNT}/{canonical_container or container}" + (f"/{blob}" if blob else "")
    if version >= "2020-12-06":
        fields = [permissions, start, expiry, canonical, "", ip, protocol, version, resource, "", "", "", "", "", "",
                  ""]
    elif version >= "2018-11-09":
        fields = [permissions, start, expiry, canonical, "", ip, protocol, version, resource, "", "", "", "", "", ""]
    else:
        fields = [permissions, start, expiry, canonical, "", ip, protocol, version, "", "", "", "", ""]
    signature = sign(key, "\n".join(fields))
    query = {"sv": version, "sr": resource, "sp": permissions, "se": expiry, "st": start, "spr": protocol,
             "sip": ip, "sig": signature}
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items() if v)


def list_service_sas(storage: Storage, body: dict, token: str = "admin", path_suffix: str = "/") -> object:
    return storage.azure.arm("POST", storage.account_id() + "/listServiceSas" + path_suffix, token=token,
                             api_version="2017-06-01", body=body)


TUTORIAL_BODY = {"canonicalizedResource": f"/blob/{ACCOUNT}/{CONTAINER}", "signedResource": "c",
                 "signedPermission": "rcw", "signedProtocol": "https"}


@pytest.mark.parametrize("version", ["2015-04-05", "2017-11-09", "2018-11-09", "2019-12-12", "2020-10-02",
                                     "2020-12-06", "2025-11-05", "2026-10-06"])
def test_every_signed_version_form_reads_and_lists(storage: Storage, version: str) -> None:
    token = hand_sas(storage.key(), version, "rl")
    assert storage.read_hello(sas=token, version=None).content == b"Hello world! :)"
    listed = storage.call("GET", storage.url(CONTAINER) + "?restype=container&comp=list", sas=token, version=None)
    assert listed.status_code == 200 and b"<Name>hello_world.txt</Name>" in listed.content


def test_arm_list_service_sas_as_the_tutorial_uploads_and_downloads(storage: Storage) -> None:
    response = list_service_sas(storage, {**TUTORIAL_BODY, "signedExpiry": iso(utc(hours=2))})
    assert response.status_code == 200, response.text
    token = response.json()["serviceSasToken"]
    assert token.startswith("sv=2015-04-05&sr=c&spr=https&se=") and "&sp=rcw&sig=" in token
    put = storage.call("PUT", storage.url(CONTAINER, "via-arm-sas.txt"), sas=token, data=b"uploaded with a SAS",
                       headers={"x-ms-blob-type": "BlockBlob"})
    assert put.status_code == 201, put.text
    assert storage.call("GET", storage.url(CONTAINER, "via-arm-sas.txt"), sas=token).content == b"uploaded with a SAS"


def _refusal(response: object, status: int, code: str) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["x-ms-error-code"] == code  # type: ignore[attr-defined]
    return error_detail(response)  # type: ignore[arg-type]


def test_expired_and_not_yet_valid(storage: Storage) -> None:
    key = storage.key()
    expired = hand_sas(key, "2026-10-06", "r", expiry=iso(utc(minutes=-5)))
    detail = _refusal(storage.read_hello(sas=expired), 403, "AuthenticationFailed")
    assert detail.startswith("Signature not valid in the specified time frame")
    early = hand_sas(key, "2026-10-06", "r", start=iso(utc(hours=1)), expiry=iso(utc(hours=2)))
    assert _refusal(storage.read_hello(sas=early), 403, "AuthenticationFailed").startswith("Signature not valid")
    minted_expired = list_service_sas(storage, {**TUTORIAL_BODY, "signedExpiry": "2017-09-23T00:00:00Z"})
    assert minted_expired.status_code == 200  # ARM signs it; the blob endpoint refuses it
    _refusal(storage.read_hello(sas=minted_expired.json()["serviceSasToken"]), 403, "AuthenticationFailed")


@pytest.mark.parametrize("change", ["signature-character", "permission-widened", "expiry-extended",
                                    "signed-by-other-key", "signed-by-other-account"])
def test_tampered_or_wrongly_signed(storage: Storage, change: str) -> None:
    token = hand_sas(storage.key(), "2026-10-06", "r")
    fields = dict(part.split("=", 1) for part in token.split("&"))
    if change == "signature-character":
        signature = fields["sig"]
        fields["sig"] = ("B" if signature[0] != "B" else "C") + signature[1:]
    elif change == "permission-widened":
        fields["sp"] = "rwd"
    elif change == "expiry-extended":
        fields["se"] = quote(iso(utc(days=30)), safe="")
    elif change == "signed-by-other-key":
        fields = dict(part.split("=", 1) for part in hand_sas("a2V5" * 16, "2026-10-06", "r").split("&"))
    else:
        fields = dict(part.split("=", 1) for part in hand_sas(storage.key(LAKE), "2026-10-06", "r").split("&"))
    tampered = "&".join(f"{k}={v}" for k, v in fields.items())
    detail = _refusal(storage.read_hello(sas=tampered), 403, "AuthenticationFailed")
    assert detail.startswith("Signature did not match. String to sign used was ")
    assert storage.key() not in detail


def test_a_container_sas_does_not_open_another_container(storage: Storage) -> None:
    storage.admin_container().get_blob_client("x.txt").upload_blob(b"x")
    storage.service().create_container("other").upload_blob("secret.txt", b"secret")
    token = hand_sas(storage.key(), "2026-10-06", "rl")
    refused = storage.call("GET", storage.url("other", "secret.txt"), sas=token)
    assert _refusal(refused, 403, "AuthenticationFailed").startswith("Signature did not match")
    blob_sas = hand_sas(storage.key(), "2026-10-06", "r", blob="x.txt")
    assert storage.call("GET", storage.url(CONTAINER, "x.txt"), sas=blob_sas).status_code == 200
    _refusal(storage.read_hello(sas=blob_sas), 403, "AuthenticationFailed")  # another blob of the same container


@pytest.mark.parametrize(("permissions", "method", "blob", "params", "extra"), [
    ("r", "PUT", "new.txt", None, {"x-ms-blob-type": "BlockBlob"}),
    ("rw", "DELETE", HELLO, None, None),
    ("rw", "GET", None, {"restype": "container", "comp": "list"}, None),
    ("wl", "GET", HELLO, None, None),
    ("c", "PUT", HELLO, None, {"x-ms-blob-type": "BlockBlob"}),  # c creates, never overwrites
    ("rwdl", "PUT", None, {"restype": "container", "comp": "metadata"}, None),  # no service SAS changes a container
])
def test_missing_permission_per_operation(storage: Storage, permissions: str, method: str, blob: str | None,
                                          params: dict | None, extra: dict | None) -> None:
    token = hand_sas(storage.key(), "2026-10-06", permissions)
    url = storage.url(CONTAINER, blob)
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    response = storage.call(method, url, sas=token, headers=extra, data=b"x" if method == "PUT" else None)
    _refusal(response, 403, "AuthorizationPermissionMismatch")
    assert storage.admin_container().get_blob_client(HELLO).download_blob().readall() == b"Hello world! :)"
    assert not storage.admin_container().get_blob_client("new.txt").exists()


def test_create_permission_makes_new_blobs(storage: Storage) -> None:
    token = hand_sas(storage.key(), "2026-10-06", "c")
    created = storage.call("PUT", storage.url(CONTAINER, "fresh.txt"), sas=token, data=b"new",
                           headers={"x-ms-blob-type": "BlockBlob"})
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("version", ["2013-08-15", "2099-01-01", "banana", "2020-13-01", "2026-10-06-preview"])
def test_unknown_signed_versions_are_refused(storage: Storage, version: str) -> None:
    token = hand_sas(storage.key(), "2026-10-06", "r").replace("sv=2026-10-06", f"sv={version}")
    assert "sv=" in _refusal(storage.read_hello(sas=token), 403, "AuthenticationFailed").replace("(sv)", "sv=")


def test_protocol_ip_account_sas_and_sas_over_garbage_authorization(storage: Storage) -> None:
    key = storage.key()
    assert storage.read_hello(sas=hand_sas(key, "2026-10-06", "r", protocol="https")).status_code == 200
    _refusal(storage.read_hello(sas=hand_sas(key, "2026-10-06", "r", ip="10.1.2.3")), 403,
             "AuthorizationSourceIPMismatch")
    assert storage.read_hello(sas=hand_sas(key, "2026-10-06", "r", ip="127.0.0.0-127.0.0.255")).status_code == 200
    account_sas = "sv=2026-10-06&ss=b&srt=sco&sp=rl&se=2099-01-01T00:00:00Z&sig=abcd"
    assert "account SAS" in _refusal(storage.read_hello(sas=account_sas), 403, "AuthenticationFailed")
    valid = hand_sas(key, "2026-10-06", "r")
    response = storage.read_hello(sas=valid, headers={"Authorization": "Bearer garbage.garbage.garbage"})
    assert response.status_code == 200 and response.content == b"Hello world! :)"


def test_list_service_sas_refusals(storage: Storage) -> None:
    expiry = {"signedExpiry": iso(utc(hours=1))}
    vm = storage.azure.mi_token("https://management.azure.com/")
    denied = list_service_sas(storage, {**TUTORIAL_BODY, **expiry}, token=vm)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Storage/storageAccounts/listServiceSas/action" in denied.json()["error"]["message"]
    for body in ({**TUTORIAL_BODY}, {**TUTORIAL_BODY, **expiry, "canonicalizedResource": f"/blob/{LAKE}/x"},
                 {**TUTORIAL_BODY, **expiry, "signedResource": "b"},
                 {**TUTORIAL_BODY, **expiry, "signedPermission": "rz"},
                 {**TUTORIAL_BODY, "signedExpiry": "next tuesday"},
                 {**TUTORIAL_BODY, **expiry, "canonicalizedResource": f"/file/{ACCOUNT}/share"}):
        response = list_service_sas(storage, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "InvalidValuesForRequestParameters"
    missing = storage.azure.arm("POST", storage.account_id().replace(ACCOUNT, "nosuchaccount") + "/listServiceSas",
                                api_version=STORAGE_API, body={**TUTORIAL_BODY, **expiry})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "StorageAccountNotFound"
    storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Account Contributor", storage.account_id())
    assert list_service_sas(storage, {**TUTORIAL_BODY, **expiry}, token=vm).status_code == 200


def test_sdk_sas_with_key2_and_blob_sas(storage: Storage) -> None:
    token = generate_container_sas(ACCOUNT, CONTAINER, account_key=storage.key(index=1), permission="r",
                                   expiry=utc(hours=1))
    assert storage.read_hello(sas=token).status_code == 200
    blob_token = generate_blob_sas(ACCOUNT, CONTAINER, HELLO, account_key=storage.key(),
                                   permission=BlobSasPermissions(read=True), expiry=utc(hours=1))
    assert storage.read_hello(sas=blob_token).status_code == 200


def test_user_delegation_key_needs_a_bearer_and_the_role(storage: Storage) -> None:
    start, expiry, too_late = iso(utc()), iso(utc(hours=1)), iso(utc(days=8))
    body = f"<?xml version='1.0'?><KeyInfo><Start>{start}</Start><Expiry>{expiry}</Expiry></KeyInfo>"
    url = storage.url() + "/?restype=service&comp=userdelegationkey"
    vm = storage.vm_token()
    _refusal(storage.call("POST", url, token=vm, data=body), 403, "AuthorizationPermissionMismatch")
    storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader", storage.account_id())
    key = storage.call("POST", url, token=vm, data=body)
    assert key.status_code == 200, key.text
    assert f"<SignedOid>{SYSTEM_PRINCIPAL_ID}</SignedOid>" in key.text
    too_long = body.replace(expiry, too_late)
    _refusal(storage.call("POST", url, token=vm, data=too_long), 400, "InvalidXmlNodeValue")
    _refusal(storage.call("POST", url, token=vm, data="<KeyInfo><Start>x"), 400, "InvalidXmlDocument")
    _refusal(storage.call("POST", url, token=vm, data='<!DOCTYPE x [<!ENTITY a "b">]><KeyInfo/>'), 400,
             "InvalidXmlDocument")
    sas = hand_sas(storage.key(), "2026-10-06", "r")
    _refusal(storage.call("POST", url, sas=sas, data=body), 403, "AuthenticationFailed")


def test_tampered_user_delegation_sas(storage: Storage, emulator_env: dict[str, str]) -> None:
    from azure.identity import ManagedIdentityCredential

    storage.azure.grant(SYSTEM_PRINCIPAL_ID, "Storage Blob Data Reader", storage.account_id())
    key = storage.service(ManagedIdentityCredential()).get_user_delegation_key(utc(), utc(hours=1))
    token = generate_blob_sas(ACCOUNT, CONTAINER, HELLO, user_delegation_key=key, permission="r",
                              expiry=utc(hours=1))
    assert storage.read_hello(sas=token).status_code == 200
    fields = dict(part.split("=", 1) for part in token.split("&"))
    for name, value in (("skoid", storage.azure.admin_oid), ("ske", quote(iso(utc(days=6)), safe="")),
                        ("sp", "rwd")):
        tampered = "&".join(f"{k}={value if k == name else v}" for k, v in fields.items())
        detail = _refusal(storage.read_hello(sas=tampered), 403, "AuthenticationFailed")
        assert detail.startswith("Signature did not match"), name
