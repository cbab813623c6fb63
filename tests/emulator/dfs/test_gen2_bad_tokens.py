"""The bad-token matrix on the DFS endpoint: every forged, broken or misaddressed token refused with 401, Gen2's
JSON and the bearer challenge; none accepted, nothing written.

Forged tokens claim the admin's object id, and the admin holds Storage Blob Data Owner on the account here:
any forged token that slipped through would read the file and write one. The token makers are the Resource
Manager matrix's (tests/emulator/test_bad_tokens.py), with the storage audience.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from dfs_helpers import FS, HELLO, LAKE, STORAGE, Gen2
from test_bad_tokens import SKEW, Forge

from emulator.app import Emulator


@pytest.fixture
def forge(gen2: Gen2, emulator: Emulator) -> Forge:
    gen2.admin_is_blob_owner()
    return Forge(emulator, gen2.azure, audience=STORAGE)


# (id, token builder, what the message says)
CASES: list[tuple[str, Callable[[Forge], str], str]] = [
    ("alg-none", lambda f: f.alg_none(), "algorithm is not accepted"),
    ("alg-none-variant", lambda f: f.alg_none_variants()[2], "algorithm is not accepted"),
    ("forged-signature-real-kid", lambda f: f.with_other_key(f.key.kid), "signature does not match"),
    ("unknown-kid", lambda f: f.with_other_key("not-a-published-kid"), "Unable to match key"),
    ("no-kid", lambda f: f.with_other_key(None), "Unable to match key"),
    ("embedded-jwk", lambda f: f.embedded_jwk(), "signature does not match"),
    ("ps256-real-key", lambda f: f.real_key_other_alg("PS256"), "algorithm is not accepted"),
    ("hs256-with-public-key", lambda f: f.hs256_with_public_key(), "algorithm is not accepted"),
    ("signature-stripped", lambda f: f.signature_stripped(), "signature does not match"),
    ("signature-swapped", lambda f: f.signature_from_other_token(), "signature does not match"),
    ("expired", lambda f: f.real(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200,
                                 exp=int(time.time()) - SKEW - 60), "The token is expired."),
    ("not-yet-valid", lambda f: f.real(nbf=int(time.time()) + SKEW + 120, exp=int(time.time()) + 7200),
     "The token is not yet valid."),
    ("audience-arm", lambda f: f.real(aud="https://management.azure.com/"), "Audience validation failed."),
    ("audience-datalake-gen1", lambda f: f.real(aud="https://datalake.azure.net/"), "Audience validation failed."),
    ("audience-other-account", lambda f: f.real(aud="https://other.dfs.core.windows.net"),
     "Audience validation failed."),
    ("imds-token-for-key-vault", lambda f: f.azure.mi_token("https://vault.azure.net"), "Audience validation failed."),
    ("issuer-other-tenant", lambda f: f.real(iss=f"https://sts.windows.net/{uuid.uuid4()}/"),
     "Issuer validation failed."),
    ("missing-oid", lambda f: f.real(oid=None), "missing a required claim"),
    ("garbage", lambda f: "this-is-not-a-jwt", "not a well-formed JWT"),
    ("garbage-three-dots", lambda f: "a.b.c", "not a well-formed JWT"),
]


def _send(gen2: Gen2, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return gen2.call(method, gen2.url(FS, path), who=None, headers={"Authorization": f"Bearer {token}",
                                                                    **kwargs.pop("headers", {})}, **kwargs)


def test_positive_control_the_forge_makes_tokens_the_dfs_endpoint_accepts(gen2: Gen2, forge: Forge) -> None:
    for audience in ("https://storage.azure.com/", "https://storage.azure.com", "e406a681-f3d4-42a8-90b6-c2b029497af1",
                     f"https://{LAKE}.dfs.core.windows.net", f"https://{LAKE}.dfs.core.windows.net/"):
        response = _send(gen2, "GET", HELLO, forge.real(aud=audience))
        assert response.status_code == 200, (audience, response.text)


@pytest.mark.parametrize("case_id, build, words", CASES, ids=[c[0] for c in CASES])
def test_bad_token_refused_and_nothing_written(gen2: Gen2, forge: Forge, case_id: str,
                                               build: Callable[[Forge], str], words: str) -> None:
    token = build(forge)
    read = _send(gen2, "GET", HELLO, token)
    assert read.status_code == 401, read.text
    assert read.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
    assert read.json()["error"]["code"] == "InvalidAuthenticationInfo" and words in read.json()["error"]["message"]
    assert read.headers["WWW-Authenticate"] == (
        f"Bearer authorization_uri=https://login.microsoftonline.com/{gen2.azure.tenant}/oauth2/authorize "
        "resource_id=https://storage.azure.com")
    assert b"Hello world" not in read.content
    created = _send(gen2, "PUT", f"forged-{case_id}.txt", token, params={"resource": "file"})
    acl = _send(gen2, "PATCH", "TestFolder", token, params={"action": "setAccessControl"},
                headers={"x-ms-acl": "user::rwx,group::rwx,other::rwx"})
    assert (created.status_code, acl.status_code) == (401, 401)
    assert _send(gen2, "HEAD", f"forged-{case_id}.txt", forge.real()).status_code == 404
    assert gen2.acl("TestFolder")["acl"] == "user::rwx,group::r-x,other::---"


def test_no_token_and_a_malformed_header(gen2: Gen2) -> None:
    anonymous = gen2.call("GET", gen2.url(FS, HELLO), who=None)
    assert anonymous.status_code == 401 and anonymous.headers["x-ms-error-code"] == "NoAuthenticationInformation"
    assert gen2.azure.tenant in anonymous.headers["WWW-Authenticate"]
    for value in ("Bearer", "Basic YWRtaW46c2VjcmV0", "Token abc"):
        refused = gen2.call("GET", gen2.url(FS, HELLO), who=None, headers={"Authorization": value})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "InvalidAuthenticationInfo")


def test_x_ms_version_is_required_and_checked_before_anything_else(gen2: Gen2, forge: Forge) -> None:
    missing = _send(gen2, "GET", HELLO, forge.real(), version=None)
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "MissingRequiredHeader")
    old = _send(gen2, "GET", HELLO, forge.real(), version="2017-11-09")
    assert (old.status_code, old.json()["error"]["code"]) == (400, "UnsupportedRestVersion")
    malformed = _send(gen2, "GET", HELLO, forge.real(), version="yesterday")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "InvalidHeaderValue")
    assert _send(gen2, "GET", HELLO, forge.real(), version="2018-11-09").status_code == 200
