"""The bad-token matrix on Resource Manager: every forged, broken or misaddressed token refused with
ARM's 401 code and WWW-Authenticate challenge, none accepted, nothing written.

Forged tokens claim the admin's object id (Owner of the subscription), so any one that slipped
through would read the group and write a role assignment.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from emu_helpers import ARM, RA_API, SYSTEM_PRINCIPAL_ID, Azure, unverified_claims

from emulator.app import Emulator

SKEW = 300  # the five minutes of clock skew Entra-protected services tolerate


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


@functools.lru_cache(maxsize=1)
def _attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Forge:
    """Builds tokens for ``audience``: valid ones signed with the emulator's own key, and every kind of bad one."""

    def __init__(self, emulator: Emulator, azure: Azure, audience: str = ARM) -> None:
        self.key = emulator.context.issuer.key
        self.azure = azure
        self.audience = audience
        self.other_key = _attacker_key()

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "aud": self.audience, "iss": f"https://sts.windows.net/{self.azure.tenant}/", "iat": now, "nbf": now,
            "exp": now + 3600, "appid": self.azure.admin_client_id, "appidacr": "1", "idtyp": "app",
            "oid": self.azure.admin_oid, "sub": self.azure.admin_oid, "tid": self.azure.tenant, "ver": "1.0",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def real(self, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        """Signed with the emulator's real key and kid: valid unless ``overrides`` break a claim."""
        return jwt.encode(self.claims(**overrides), self.key.private_key, algorithm="RS256",
                          headers={"kid": self.key.kid, **(headers or {})})

    def with_other_key(self, kid: str | None) -> str:
        headers = {} if kid is None else {"kid": kid}
        return jwt.encode(self.claims(), self.other_key, algorithm="RS256", headers=headers)

    def embedded_jwk(self) -> str:
        """The attacker's own public key in the header (CVE-2018-0114 style), with the real kid."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.other_key.public_key()))
        return jwt.encode(self.claims(), self.other_key, algorithm="RS256",
                          headers={"kid": self.key.kid, "jwk": jwk})

    def real_key_other_alg(self, algorithm: str) -> str:
        return jwt.encode(self.claims(), self.key.private_key, algorithm=algorithm, headers={"kid": self.key.kid})

    def alg_none(self) -> str:
        return _segments({"alg": "none", "typ": "JWT", "kid": self.key.kid}, self.claims()) + "."

    def alg_none_variants(self) -> list[str]:
        return [_segments({"alg": alg, "typ": "JWT", "kid": self.key.kid}, self.claims()) + "."
                for alg in ("None", "NONE", "nOnE")]

    def hs256_with_public_key(self) -> str:
        """Classic algorithm confusion: HMAC keyed with the published RSA public key."""
        public_pem = self.key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": self.key.kid}, self.claims())
        signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(signature)

    def tampered(self) -> str:
        """A genuine IMDS token for the VM identity whose payload is edited to claim the admin's oid."""
        genuine = self.azure.mi_token(self.audience)
        header, _payload, signature = genuine.split(".")
        claims = unverified_claims(genuine)
        claims["oid"] = claims["sub"] = self.azure.admin_oid
        return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"

    def signature_stripped(self) -> str:
        return self.real().rsplit(".", 1)[0] + "."

    def signature_from_other_token(self) -> str:
        victim = self.real()
        other = self.with_other_key(self.key.kid)
        return victim.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]


# (id, how to build the Authorization header value or None, expected 401 code)
CASES: list[tuple[str, Callable[[Forge], str | None], str]] = [
    ("no-header", lambda f: None, "AuthenticationFailed"),
    ("basic-scheme", lambda f: "Basic YWRtaW46c2VjcmV0", "AuthenticationFailed"),
    ("bearer-empty", lambda f: "Bearer ", "AuthenticationFailed"),
    ("token-without-scheme", lambda f: f.real(), "AuthenticationFailed"),
    ("alg-none", lambda f: "Bearer " + f.alg_none(), "InvalidAuthenticationToken"),
    ("alg-none-case-variants-0", lambda f: "Bearer " + f.alg_none_variants()[0], "InvalidAuthenticationToken"),
    ("alg-none-case-variants-1", lambda f: "Bearer " + f.alg_none_variants()[1], "InvalidAuthenticationToken"),
    ("alg-none-case-variants-2", lambda f: "Bearer " + f.alg_none_variants()[2], "InvalidAuthenticationToken"),
    ("forged-signature-real-kid", lambda f: "Bearer " + f.with_other_key(f.key.kid), "InvalidAuthenticationToken"),
    ("unknown-kid-other-key", lambda f: "Bearer " + f.with_other_key("not-a-published-kid"),
     "InvalidAuthenticationToken"),
    ("unknown-kid-real-key", lambda f: "Bearer " + f.real(headers={"kid": "not-a-published-kid"}),
     "InvalidAuthenticationToken"),
    ("no-kid", lambda f: "Bearer " + f.with_other_key(None), "InvalidAuthenticationToken"),
    ("embedded-jwk", lambda f: "Bearer " + f.embedded_jwk(), "InvalidAuthenticationToken"),
    ("rs512-real-key", lambda f: "Bearer " + f.real_key_other_alg("RS512"), "InvalidAuthenticationToken"),
    ("ps256-real-key", lambda f: "Bearer " + f.real_key_other_alg("PS256"), "InvalidAuthenticationToken"),
    ("tampered-payload", lambda f: "Bearer " + f.tampered(), "InvalidAuthenticationToken"),
    ("signature-stripped", lambda f: "Bearer " + f.signature_stripped(), "InvalidAuthenticationToken"),
    ("signature-swapped", lambda f: "Bearer " + f.signature_from_other_token(), "InvalidAuthenticationToken"),
    ("hs256-with-public-key", lambda f: "Bearer " + f.hs256_with_public_key(), "InvalidAuthenticationToken"),
    ("expired", lambda f: "Bearer " + f.real(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200,
                                              exp=int(time.time()) - SKEW - 60), "ExpiredAuthenticationToken"),
    ("not-yet-valid", lambda f: "Bearer " + f.real(nbf=int(time.time()) + SKEW + 120,
                                                    exp=int(time.time()) + 7200), "InvalidAuthenticationToken"),
    ("wrong-audience-vault", lambda f: "Bearer " + f.real(aud="https://vault.azure.net"),
     "InvalidAuthenticationTokenAudience"),
    ("wrong-audience-storage", lambda f: "Bearer " + f.real(aud="https://storage.azure.com/"),
     "InvalidAuthenticationTokenAudience"),
    ("imds-token-for-key-vault", lambda f: "Bearer " + f.azure.mi_token("https://vault.azure.net"),
     "InvalidAuthenticationTokenAudience"),
    ("audience-lookalike", lambda f: "Bearer " + f.real(aud="https://management.azure.com.evil.example/"),
     "InvalidAuthenticationTokenAudience"),
    ("wrong-issuer-other-tenant", lambda f: "Bearer " + f.real(iss=f"https://sts.windows.net/{uuid.uuid4()}/"),
     "InvalidAuthenticationTokenTenant"),
    ("wrong-issuer-evil", lambda f: "Bearer " + f.real(iss="https://evil.example/"),
     "InvalidAuthenticationTokenTenant"),
    ("missing-exp", lambda f: "Bearer " + f.real(exp=None), "InvalidAuthenticationToken"),
    ("missing-oid", lambda f: "Bearer " + f.real(oid=None), "InvalidAuthenticationToken"),
    ("garbage", lambda f: "Bearer this-is-not-a-jwt", "InvalidAuthenticationToken"),
    ("garbage-three-dots", lambda f: "Bearer a.b.c", "InvalidAuthenticationToken"),
    ("garbage-base64-json-array", lambda f: "Bearer " + _b64(b"[]") + "." + _b64(b"[]") + ".x",
     "InvalidAuthenticationToken"),
]


@pytest.fixture
def forge(world: Azure, emulator: Emulator) -> Forge:
    return Forge(emulator, world)


def _authorization(forge: Forge, build: Callable[[Forge], str | None]) -> dict[str, str]:
    value = build(forge)
    return {} if value is None else {"Authorization": value}


def assert_refused(response: Any, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization_uri="https://login.windows.net/"'), challenge
    assert 'error="invalid_token"' in challenge


def test_positive_control_the_forge_makes_tokens_arm_accepts(world: Azure, forge: Forge) -> None:
    """Without this, every refusal below could be the forge's fault rather than the verifier's."""
    response = world.arm("GET", world.rg_scope, token=forge.real())
    assert response.status_code == 200, response.text
    within_skew = forge.real(exp=int(time.time()) - 60)  # expired a minute ago: inside the 5-minute skew
    assert world.arm("GET", world.rg_scope, token=within_skew).status_code == 200
    almost_valid = forge.real(nbf=int(time.time()) + 60)
    assert world.arm("GET", world.rg_scope, token=almost_valid).status_code == 200
    for audience in ("https://management.azure.com", "https://management.core.windows.net/"):
        assert world.arm("GET", world.rg_scope, token=forge.real(aud=audience)).status_code == 200


@pytest.mark.parametrize("case_id, build, code", CASES, ids=[c[0] for c in CASES])
def test_bad_token_refused_on_read(world: Azure, forge: Forge, case_id: str,
                                   build: Callable[[Forge], str | None], code: str) -> None:
    response = world.arm("GET", world.rg_scope, token=None, headers=_authorization(forge, build))
    assert_refused(response, code)
    assert set(response.json()) == {"error"}  # nothing of the resource group leaks


@pytest.mark.parametrize("case_id, build, code", CASES, ids=[c[0] for c in CASES])
def test_bad_token_writes_nothing(world: Azure, forge: Forge, case_id: str,
                                  build: Callable[[Forge], str | None], code: str) -> None:
    before = world.assignment_ids()
    name = str(uuid.uuid4())
    path = world.assignment_path(world.rg_scope, name)
    body = {"properties": {"roleDefinitionId": world.role_definition_id("Owner"),
                           "principalId": SYSTEM_PRINCIPAL_ID, "principalType": "ServicePrincipal"}}
    response = world.arm("PUT", path, token=None, api_version=RA_API, body=body,
                         headers=_authorization(forge, build))
    assert_refused(response, code)
    assert world.assignment_ids() == before
    assert world.arm("GET", path, api_version=RA_API).status_code == 404
    # and the VM identity did not become Owner
    assert world.get_rg(world.mi_token(ARM)).status_code == 403


def test_refusal_messages_quote_what_was_wrong(world: Azure, forge: Forge) -> None:
    audience = world.arm("GET", world.rg_scope, token=forge.real(aud="https://vault.azure.net"))
    assert "'https://vault.azure.net'" in audience.json()["error"]["message"]
    issuer = world.arm("GET", world.rg_scope, token=forge.real(iss="https://evil.example/"))
    assert "'https://evil.example/'" in issuer.json()["error"]["message"]
    assert world.tenant in issuer.json()["error"]["message"]
    expired = world.arm("GET", world.rg_scope, token=forge.real(exp=int(time.time()) - 3600))
    assert "expiry" in expired.json()["error"]["message"]
    missing = world.arm("GET", world.rg_scope, token=None)
    assert "Authorization" in missing.json()["error"]["message"]


def test_auth_is_checked_before_api_version_and_rbac(world: Azure, forge: Forge) -> None:
    """A bad token with no api-version still gets the 401, not a 400 that would leak the route's shape."""
    response = world.arm("GET", world.rg_scope, token=forge.alg_none(), api_version=None)
    assert_refused(response, "InvalidAuthenticationToken")
