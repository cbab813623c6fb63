"""Who the Blob endpoint lets in: the bad-token matrix, the bearer challenge, SharedKey, anonymous.

Forged tokens claim the admin's object id, and the admin holds Storage Blob Data Owner on the account
in every test here: any forged token that slipped through would read the blob and write one.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest
from blob_helpers import ACCOUNT, CONTAINER, HELLO, STORAGE, VERSION, Storage, error_detail, sign
from emu_helpers import Azure
from test_bad_tokens import Forge

from emulator.app import Emulator

SKEW = 300


@pytest.fixture
def storage(world: Azure) -> Storage:
    storage = Storage(world)
    world.grant(world.admin_oid, "Storage Blob Data Owner", storage.account_id())
    return storage


@pytest.fixture
def forge(world: Azure, emulator: Emulator) -> Forge:
    return Forge(emulator, world, audience=STORAGE)


# (id, token builder, the AuthenticationErrorDetail that says why)
CASES: list[tuple[str, Callable[[Forge], str], str]] = [
    ("alg-none", lambda f: f.alg_none(), "algorithm is not accepted"),
    ("alg-none-variant", lambda f: f.alg_none_variants()[1], "algorithm is not accepted"),
    ("forged-signature-real-kid", lambda f: f.with_other_key(f.key.kid), "signature does not match"),
    ("unknown-kid", lambda f: f.with_other_key("not-a-published-kid"), "Unable to match key"),
    ("no-kid", lambda f: f.with_other_key(None), "Unable to match key"),
    ("embedded-jwk", lambda f: f.embedded_jwk(), "signature does not match"),
    ("rs512-real-key", lambda f: f.real_key_other_alg("RS512"), "algorithm is not accepted"),
    ("hs256-with-public-key", lambda f: f.hs256_with_public_key(), "algorithm is not accepted"),
    ("tampered-payload", lambda f: f.tampered(), "signature does not match"),
    ("signature-stripped", lambda f: f.signature_stripped(), "signature does not match"),
    ("expired", lambda f: f.real(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200,
                                 exp=int(time.time()) - SKEW - 60),
     "Lifetime validation failed. The token is expired."),
    ("not-yet-valid", lambda f: f.real(nbf=int(time.time()) + SKEW + 120, exp=int(time.time()) + 7200),
     "Lifetime validation failed. The token is not yet valid."),
    ("audience-arm", lambda f: f.real(aud="https://management.azure.com/"), "Audience validation failed."),
    ("audience-vault", lambda f: f.azure.mi_token("https://vault.azure.net"), "Audience validation failed."),
    ("audience-other-account", lambda f: f.real(aud="https://otheraccount.blob.core.windows.net"),
     "Audience validation failed."),
    ("audience-lookalike", lambda f: f.real(aud="https://storage.azure.com.evil.example/"),
     "Audience validation failed."),
    ("issuer-other-tenant", lambda f: f.real(iss=f"https://sts.windows.net/{uuid.uuid4()}/"),
     "Issuer validation failed."),
    ("missing-oid", lambda f: f.real(oid=None), "missing a required claim"),
    ("garbage", lambda f: "this-is-not-a-jwt", "not a well-formed JWT"),
]


def test_positive_control_forged_tokens_signed_with_the_real_key_pass(storage: Storage, forge: Forge) -> None:
    for audience in (STORAGE, "https://storage.azure.com", "e406a681-f3d4-42a8-90b6-c2b029497af1",
                     f"https://{ACCOUNT}.blob.core.windows.net", f"https://{ACCOUNT}.blob.core.windows.net/"):
        response = storage.read_hello(forge.real(aud=audience))
        assert response.status_code == 200, (audience, response.text)
    assert storage.read_hello(forge.real(exp=int(time.time()) - 60)).status_code == 200  # within the skew


@pytest.mark.parametrize("case_id, build, detail", CASES, ids=[c[0] for c in CASES])
def test_bad_token_refused_with_challenge_and_detail(storage: Storage, forge: Forge, case_id: str,
                                                     build: Callable[[Forge], str], detail: str) -> None:
    response = storage.read_hello(build(forge))
    assert response.status_code == 401, response.text
    assert response.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
    assert response.headers["WWW-Authenticate"] == (
        f"Bearer authorization_uri=https://login.microsoftonline.com/{storage.azure.tenant}/oauth2/authorize "
        "resource_id=https://storage.azure.com")
    assert detail in error_detail(response)
    assert b"Hello world" not in response.content
    written = storage.call("PUT", storage.url(CONTAINER, f"forged-{case_id}.txt"), token=build(forge),
                           headers={"x-ms-blob-type": "BlockBlob"}, data=b"forged")
    assert written.status_code == 401
    assert storage.read_hello(forge.real()).status_code == 200
    assert storage.call("HEAD", storage.url(CONTAINER, f"forged-{case_id}.txt"),
                        token=forge.real()).status_code == 404


def test_versions_before_the_challenge_get_403_and_bearer_needs_2017_11_09(storage: Storage, forge: Forge) -> None:
    old = storage.read_hello(forge.real(exp=int(time.time()) - 3600), version="2019-07-07")
    assert old.status_code == 403 and old.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" not in old.headers
    assert "expired" in error_detail(old)
    for version in ("2017-04-17", None):  # no x-ms-version: Azure assumes 2009-09-19
        response = storage.read_hello(forge.real(), version=version)
        assert response.status_code == 403, response.text
        assert error_detail(response) == "Authentication scheme Bearer is not supported in this version."
    assert storage.read_hello(forge.real(), version="2017-11-09").status_code == 200


def test_anonymous_and_malformed_authorization(storage: Storage) -> None:
    anonymous = storage.read_hello()
    assert anonymous.status_code == 401
    assert anonymous.headers["x-ms-error-code"] == "NoAuthenticationInformation"
    assert storage.azure.tenant in anonymous.headers["WWW-Authenticate"]
    assert storage.read_hello(version="2019-02-02").status_code == 404  # older versions hide the resource
    for value in ("Bearer", "Bearer   ", "Basic YWRtaW46c2VjcmV0", "SharedKey no-colon", "Token abc"):
        response = storage.call("GET", storage.url(CONTAINER, HELLO), headers={"Authorization": value})
        assert response.status_code == 400, value
        assert response.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"


def test_rbac_failure_is_authorization_permission_mismatch_not_401(storage: Storage) -> None:
    response = storage.read_hello(storage.vm_token())
    assert response.status_code == 403
    assert response.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
    assert "WWW-Authenticate" not in response.headers


# -- SharedKey, as connection strings sign ----------------------------------------------------------------
def _shared_key_get(storage: Storage, key: str, *, account: str = ACCOUNT, date: str | None = None,
                    extra: dict[str, str] | None = None, tamper: dict[str, str] | None = None) -> Any:
    date = date or formatdate(usegmt=True)
    headers = {"x-ms-date": date, "x-ms-version": VERSION, **(extra or {})}
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
    path = f"/{ACCOUNT}/{CONTAINER}/{HELLO}"
    text = "GET\n" + "\n" * 11 + canonical_headers + f"/{account}{path}"
    headers["Authorization"] = f"SharedKey {account}:{sign(key, text)}"
    headers.update(tamper or {})
    return storage.http.get(storage.endpoint + path, headers=headers, timeout=10)


def test_shared_key_signed_by_hand_with_either_key(storage: Storage) -> None:
    for index in (0, 1):
        response = _shared_key_get(storage, storage.key(index=index))
        assert response.status_code == 200, response.text
        assert response.content == b"Hello world! :)"


@pytest.mark.parametrize("case", ["wrong-key", "other-account-key", "header-changed-after-signing",
                                  "other-account-name", "date-too-old", "no-date", "shared-key-lite"])
def test_shared_key_refusals(storage: Storage, case: str) -> None:
    key = storage.key()
    if case == "wrong-key":
        response = _shared_key_get(storage, base64.b64encode(b"k" * 64).decode())
    elif case == "other-account-key":
        response = _shared_key_get(storage, storage.key("miworkbooklake"))
    elif case == "header-changed-after-signing":
        response = _shared_key_get(storage, key, extra={"x-ms-meta-a": "1"}, tamper={"x-ms-meta-a": "2"})
    elif case == "other-account-name":
        response = _shared_key_get(storage, storage.key("miworkbooklake"), account="miworkbooklake")
    elif case == "date-too-old":
        response = _shared_key_get(storage, key, date=formatdate(time.time() - 3600, usegmt=True))
    elif case == "no-date":
        response = storage.http.get(storage.url(CONTAINER, HELLO), timeout=10, headers={
            "x-ms-version": VERSION, "Authorization": f"SharedKey {ACCOUNT}:{sign(key, 'x')}"})
    else:
        response = storage.http.get(storage.url(CONTAINER, HELLO), timeout=10, headers={
            "x-ms-version": VERSION, "x-ms-date": formatdate(usegmt=True),
            "Authorization": f"SharedKeyLite {ACCOUNT}:{sign(key, 'x')}"})
    assert response.status_code == 403, response.text
    assert response.headers["x-ms-error-code"] == "AuthenticationFailed"
    assert b"Hello world" not in response.content
    if case in ("wrong-key", "header-changed-after-signing"):
        assert "Server used following string to sign" in error_detail(response)
        assert key not in response.text


def test_shared_key_header_order_matches_the_sdk(storage: Storage) -> None:
    """Metadata names with underscores and digits sort as the service (and the SDK) sort them."""
    container = storage.admin_container()
    metadata = {"a_b": "1", "ab": "2", "a1": "3", "Zeta": "4", "x_y_z": "5"}
    container.upload_blob("ordered.txt", b"x", metadata=metadata)
    assert container.get_blob_client("ordered.txt").get_blob_properties().metadata == metadata


def test_header_order_agrees_with_the_sdks_emulation_of_the_service() -> None:
    import random

    from azure.storage.blob._shared.authentication import _storage_header_sort

    from emulator.services.storage.sharedkey import canonicalized_headers

    chooser = random.Random(7)
    for _ in range(300):
        names = {"x-ms-" + "".join(chooser.choice("ab_-09z") for _ in range(chooser.randint(1, 6)))
                 for _ in range(6)}
        expected = [name for name, _ in _storage_header_sort([(n, "v") for n in names])]
        ours = [line.split(":")[0] for line in canonicalized_headers((n, "v") for n in names).splitlines()]
        assert ours == expected, names
