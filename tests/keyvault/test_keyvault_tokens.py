"""The bad-token matrix on the vault: every forged, broken or misaddressed token refused with Key Vault's 401
(code Unauthorized, the challenge header, the vault's own text), none accepted, nothing written.

Forged tokens claim the admin's object id, who holds every secret permission in the vault's access
policies: any token that slipped through would read and write secrets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kv_helpers import VAULT, Vault
from test_bad_tokens import SKEW, Forge, _b64

from emulator.app import Emulator

MISSING = "Request is missing a Bearer or PoP token."
INVALID = "The bearer token is invalid"


class VaultForge(Forge):
    """The emulator-tests' forge, with Key Vault's audience in every token it makes."""

    def claims(self, **overrides: Any) -> dict[str, Any]:
        return super().claims(**{"aud": VAULT, **overrides})


CASES: list[tuple[str, Callable[[VaultForge], str | None], str]] = [
    ("no-header", lambda f: None, MISSING),
    ("basic-scheme", lambda f: "Basic YWRtaW46c2VjcmV0", MISSING),
    ("bearer-empty", lambda f: "Bearer ", MISSING),
    ("token-without-scheme", lambda f: f.real(), MISSING),
    ("alg-none", lambda f: "Bearer " + f.alg_none(), INVALID),
    ("alg-none-variant", lambda f: "Bearer " + f.alg_none_variants()[1], INVALID),
    ("forged-signature-real-kid", lambda f: "Bearer " + f.with_other_key(f.key.kid), INVALID),
    ("unknown-kid-other-key", lambda f: "Bearer " + f.with_other_key("not-a-published-kid"), "AKV10046"),
    ("unknown-kid-real-key", lambda f: "Bearer " + f.real(headers={"kid": "not-a-published-kid"}), "AKV10046"),
    ("embedded-jwk", lambda f: "Bearer " + f.embedded_jwk(), INVALID),
    ("rs512-real-key", lambda f: "Bearer " + f.real_key_other_alg("RS512"), INVALID),
    ("tampered-payload", lambda f: "Bearer " + f.tampered(), INVALID),
    ("signature-stripped", lambda f: "Bearer " + f.signature_stripped(), INVALID),
    ("signature-swapped", lambda f: "Bearer " + f.signature_from_other_token(), INVALID),
    ("hs256-with-public-key", lambda f: "Bearer " + f.hs256_with_public_key(), INVALID),
    ("expired", lambda f: "Bearer " + f.real(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200,
                                              exp=int(time.time()) - SKEW - 60),
     "[TokenExpired] Error validating token"),
    ("not-yet-valid", lambda f: "Bearer " + f.real(nbf=int(time.time()) + SKEW + 120, exp=int(time.time()) + 7200),
     "Token not yet valid"),
    ("audience-arm", lambda f: "Bearer " + f.real(aud="https://management.azure.com/"), "AKV10022"),
    ("audience-trailing-slash", lambda f: "Bearer " + f.real(aud="https://vault.azure.net/"), "AKV10022"),
    ("audience-lookalike", lambda f: "Bearer " + f.real(aud="https://vault.azure.net.evil.example"), "AKV10022"),
    ("imds-token-for-arm", lambda f: "Bearer " + f.azure.mi_token("https://management.azure.com/"), "AKV10022"),
    ("issuer-other-tenant", lambda f: "Bearer " + f.real(iss=f"https://sts.windows.net/{uuid.uuid4()}/"), "AKV10032"),
    ("issuer-evil", lambda f: "Bearer " + f.real(iss="https://evil.example/"), "AKV10032"),
    ("missing-exp", lambda f: "Bearer " + f.real(exp=None), INVALID),
    ("missing-oid", lambda f: "Bearer " + f.real(oid=None), INVALID),
    ("garbage", lambda f: "Bearer this-is-not-a-jwt", INVALID),
    ("garbage-base64-json-array", lambda f: "Bearer " + _b64(b"[]") + "." + _b64(b"[]") + ".x", INVALID),
]


@pytest.fixture
def forge(vault: Vault, emulator: Emulator) -> VaultForge:
    return VaultForge(emulator, vault)


def _send(vault: Vault, forge: VaultForge, build: Callable[[VaultForge], str | None], method: str, path: str,
          body: Any = None) -> Any:
    value = build(forge)
    return vault.kv(method, path, token=None, body=body, headers={} if value is None else {"Authorization": value})


def _assert_refused(vault: Vault, response: Any, text: str) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "Unauthorized" and text in error["message"], error
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://login.windows.net/{vault.tenant}", resource="https://vault.azure.net"')
    assert set(response.json()) == {"error"}


def test_positive_control_the_forge_makes_tokens_the_vault_accepts(vault: Vault, forge: VaultForge) -> None:
    vault.put_secret("app-secret", "value")
    for token in (forge.real(), forge.real(aud="cfa8b339-82a2-471a-a3c9-0fc0be7a4093"),
                  forge.real(exp=int(time.time()) - 60)):  # expired a minute ago: inside the skew
        response = vault.kv("GET", "/secrets/app-secret", token)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("case_id, build, text", CASES, ids=[c[0] for c in CASES])
def test_bad_token_refused_on_read(vault: Vault, forge: VaultForge, case_id: str,
                                   build: Callable[[VaultForge], str | None], text: str) -> None:
    vault.put_secret("app-secret", "value")
    _assert_refused(vault, _send(vault, forge, build, "GET", "/secrets/app-secret"), text)


@pytest.mark.parametrize("case_id, build, text", CASES, ids=[c[0] for c in CASES])
def test_bad_token_writes_nothing(vault: Vault, forge: VaultForge, case_id: str,
                                  build: Callable[[VaultForge], str | None], text: str) -> None:
    vault.put_secret("kept", "original")
    _assert_refused(vault, _send(vault, forge, build, "PUT", "/secrets/planted", {"value": "x"}), text)
    _assert_refused(vault, _send(vault, forge, build, "PUT", "/secrets/kept", {"value": "overwritten"}), text)
    _assert_refused(vault, _send(vault, forge, build, "DELETE", "/secrets/kept"), text)
    assert vault.secret_names() == ["kept"]
    assert vault.kv("GET", "/secrets/kept").json()["value"] == "original"
    assert vault.deleted_names() == []


def test_messages_quote_what_was_wrong(vault: Vault, forge: VaultForge) -> None:
    audience = vault.kv("GET", "/secrets", forge.real(aud="https://storage.azure.com/")).json()["error"]["message"]
    assert audience == ("AKV10022: Invalid audience. Expected https://vault.azure.net or "
                        "cfa8b339-82a2-471a-a3c9-0fc0be7a4093, found: https://storage.azure.com/.")
    issuer = vault.kv("GET", "/secrets", forge.real(iss="https://evil.example/")).json()["error"]["message"]
    assert issuer == (f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{vault.tenant}/, "
                      "found https://evil.example/.")
    expired = vault.kv("GET", "/secrets", forge.real(exp=int(time.time()) - 3600)).json()["error"]["message"]
    assert expired == "[TokenExpired] Error validating token: 'S2S12086'."


def test_a_remembered_token_still_expires(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verifier remembers tokens that passed, but checks their lifetime on every use."""
    import datetime as dt

    import jwt.api_jwt

    from emulator.core import tokens

    verifier = emulator.context.verifier
    vm = emulator.context.world.vm_system_identity
    issued = emulator.context.issuer.issue(vm, VAULT, lifetime=600)
    assert verifier.verify(issued.access_token, [VAULT])["oid"] == vm.object_id
    assert verifier.verify(issued.access_token, [VAULT])["exp"] == issued.expires_on  # remembered
    later = issued.expires_on + tokens.CLOCK_SKEW_SECONDS + 1

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return dt.datetime.fromtimestamp(later, tz)

    monkeypatch.setattr(tokens.time, "time", lambda: later)  # the cache's clock
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)  # PyJWT's clock
    with pytest.raises(tokens.TokenRejected) as refused:
        verifier.verify(issued.access_token, [VAULT])
    assert refused.value.reason == "expired"
    monkeypatch.undo()
    with pytest.raises(tokens.TokenRejected) as other:  # remembered for its audience only
        verifier.verify(issued.access_token, ["https://management.azure.com/"])
    assert other.value.reason == "audience"
