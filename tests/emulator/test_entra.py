"""The emulated Entra ID: OIDC discovery, JWKS, and the client-credentials grant for the admin app."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from emu_helpers import ARM, Azure, unverified_claims

from emulator.app import Emulator


def token_v2(world: Azure, tenant: str | None = None, **fields: str | None) -> Any:
    form: dict[str, str | None] = {"grant_type": "client_credentials", "client_id": world.admin_client_id,
                                   "client_secret": world.admin_secret, "scope": ARM + ".default"}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    return world.http.post(f"{world.login_url}/{tenant or world.tenant}/oauth2/v2.0/token", data=form, timeout=10)


def token_v1(world: Azure, **fields: str) -> Any:
    form = {"grant_type": "client_credentials", "client_id": world.admin_client_id,
            "client_secret": world.admin_secret, "resource": ARM}
    form.update(fields)
    return world.http.post(f"{world.login_url}/{world.tenant}/oauth2/token", data=form, timeout=10)


def assert_oauth_error(response: Any, status: int, error: str, aadsts: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["error_codes"] == [aadsts]
    assert body["error_description"].startswith(f"AADSTS{aadsts}:")
    assert "access_token" not in body
    return body


# -- discovery and keys -------------------------------------------------------------------------------
@pytest.mark.parametrize("tenant_kind", ["id", "domain"])
def test_discovery_v2(world: Azure, tenant_kind: str) -> None:
    tenant = world.tenant if tenant_kind == "id" else "workbook.onmicrosoft.com"
    response = world.http.get(f"{world.login_url}/{tenant}/v2.0/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == f"https://login.microsoftonline.com/{world.tenant}/v2.0"
    assert config["token_endpoint"] == f"{world.login_url}/{world.tenant}/oauth2/v2.0/token"
    assert config["jwks_uri"] == f"{world.login_url}/{world.tenant}/discovery/v2.0/keys"
    assert config["authorization_endpoint"].startswith(world.login_url + "/")
    assert "RS256" in config["id_token_signing_alg_values_supported"]


def test_discovery_v1(world: Azure) -> None:
    response = world.http.get(f"{world.login_url}/{world.tenant}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == f"https://sts.windows.net/{world.tenant}/"
    assert config["token_endpoint"] == f"{world.login_url}/{world.tenant}/oauth2/token"
    assert config["jwks_uri"] == f"{world.login_url}/{world.tenant}/discovery/keys"


@pytest.mark.parametrize("path", ["discovery/keys", "discovery/v2.0/keys"])
def test_jwks_publishes_the_signing_key(world: Azure, emulator: Emulator, path: str) -> None:
    response = world.http.get(f"{world.login_url}/{world.tenant}/{path}", timeout=10)
    assert response.status_code == 200
    keys = response.json()["keys"]
    kid = emulator.context.issuer.key.kid
    matching = [k for k in keys if k["kid"] == kid]
    assert len(matching) == 1
    key = matching[0]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["n"] and key["e"]
    assert "d" not in key and "p" not in key and "q" not in key  # never the private parts
    # the published key verifies what the issuer signs, and only that
    token = world.mi_token(ARM)
    assert jwt.get_unverified_header(token)["kid"] == kid
    public = jwt.PyJWK(key).key
    assert jwt.decode(token, public, algorithms=["RS256"], audience=ARM)["aud"] == ARM


@pytest.mark.parametrize("path", ["v2.0/.well-known/openid-configuration", ".well-known/openid-configuration",
                                  "discovery/v2.0/keys"])
def test_discovery_unknown_tenant(world: Azure, path: str) -> None:
    response = world.http.get(f"{world.login_url}/00000000-0000-0000-0000-00000000dead/{path}", timeout=10)
    assert_oauth_error(response, 400, "invalid_request", 90002)


# -- client credentials ----------------------------------------------------------------------------------
def test_client_credentials_v2(world: Azure) -> None:
    response = token_v2(world)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and 3000 <= body["expires_in"] <= 3600
    claims = unverified_claims(body["access_token"])
    assert claims["aud"] == ARM.rstrip("/")  # "X/.default" is resource "X": the slash goes with "/.default"
    assert claims["appid"] == world.admin_client_id
    assert claims["oid"] == world.admin_oid
    assert claims["tid"] == world.tenant
    assert claims["iss"] == f"https://sts.windows.net/{world.tenant}/"
    assert "xms_mirid" not in claims  # an app registration, not a managed identity


def test_client_credentials_v2_with_tenant_domain(world: Azure) -> None:
    response = token_v2(world, tenant="workbook.onmicrosoft.com")
    assert response.status_code == 200, response.text
    assert unverified_claims(response.json()["access_token"])["tid"] == world.tenant


def test_client_credentials_v1(world: Azure) -> None:
    response = token_v1(world)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["resource"] == ARM
    for field in ("expires_in", "expires_on", "not_before"):
        assert isinstance(body[field], str) and body[field].isdigit()
    assert unverified_claims(body["access_token"])["aud"] == ARM


def test_bad_secret(world: Azure) -> None:
    body = assert_oauth_error(token_v2(world, client_secret="wrong"), 401, "invalid_client", 7000215)
    assert world.admin_client_id in body["error_description"]
    assert_oauth_error(token_v1(world, client_secret="wrong"), 401, "invalid_client", 7000215)


def test_unknown_client(world: Azure) -> None:
    ghost = "11111111-2222-3333-4444-555555555555"
    body = assert_oauth_error(token_v2(world, client_id=ghost), 400, "unauthorized_client", 700016)
    assert ghost in body["error_description"]


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", "urn:bogus"])
def test_unsupported_grant(world: Azure, grant: str) -> None:
    assert_oauth_error(token_v2(world, grant_type=grant), 400, "unsupported_grant_type", 70003)


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret", "scope"])
def test_missing_parameter(world: Azure, missing: str) -> None:
    body = assert_oauth_error(token_v2(world, **{missing: None}), 400, "invalid_request", 900144)
    assert "parameter" in body["error_description"]


@pytest.mark.parametrize("scope", ["https://management.azure.com/user_impersonation", "https://management.azure.com/"])
def test_invalid_scope(world: Azure, scope: str) -> None:
    assert_oauth_error(token_v2(world, scope=scope), 400, "invalid_scope", 1002012)


def test_unknown_resource(world: Azure) -> None:
    body = assert_oauth_error(token_v2(world, scope="https://no-such-api.example.com/.default"),
                              400, "invalid_resource", 500011)
    assert "named https://no-such-api.example.com was not found" in body["error_description"]
    assert_oauth_error(token_v1(world, resource="https://no-such-api.example.com/"), 400, "invalid_resource", 500011)


def test_unknown_tenant(world: Azure) -> None:
    body = assert_oauth_error(token_v2(world, tenant="contoso.onmicrosoft.com"), 400, "invalid_request", 90002)
    assert "contoso.onmicrosoft.com" in body["error_description"]


def test_json_body_is_not_a_form(world: Azure) -> None:
    response = world.http.post(f"{world.login_url}/{world.tenant}/oauth2/v2.0/token", timeout=10,
                               json={"grant_type": "client_credentials", "client_id": world.admin_client_id,
                                     "client_secret": world.admin_secret, "scope": ARM + ".default"})
    assert_oauth_error(response, 400, "invalid_request", 900144)


def test_token_endpoint_is_post_only(world: Azure) -> None:
    response = world.http.get(f"{world.login_url}/{world.tenant}/oauth2/v2.0/token", timeout=10)
    assert response.status_code == 405
    assert "access_token" not in response.text


def test_admin_token_accepted_by_arm(world: Azure) -> None:
    token = token_v2(world).json()["access_token"]
    response = world.arm("GET", world.rg_scope, token=token)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == world.rg
    v1 = token_v1(world).json()["access_token"]
    assert world.arm("GET", world.rg_scope, token=v1).status_code == 200


def test_admin_token_for_another_resource_refused_by_arm(world: Azure) -> None:
    token = token_v2(world, scope="https://vault.azure.net/.default").json()["access_token"]
    response = world.arm("GET", world.rg_scope, token=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


# -- never a 500 --------------------------------------------------------------------------------------------
LOGIN_GARBAGE: list[tuple[str, str, bytes | None, str | None]] = [
    ("POST", "/{tenant}/oauth2/v2.0/token", b"\xff\xfe=\x00&&&", "application/x-www-form-urlencoded"),
    ("POST", "/{tenant}/oauth2/v2.0/token", b"grant_type=client_credentials&grant_type=password",
     "application/x-www-form-urlencoded"),
    ("POST", "/{tenant}/oauth2/v2.0/token", b"scope=" + b"%" * 10, "application/x-www-form-urlencoded"),
    ("POST", "/{tenant}/oauth2/v2.0/token", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--",
     "multipart/form-data; boundary=x"),
    ("POST", "/{tenant}/oauth2/v2.0/token", b"[" * 100000, "application/json"),
    ("POST", "/{tenant}/oauth2/v2.0/token", None, None),
    ("POST", "/{tenant}/oauth2/token", b"grant_type=client_credentials&client_id=x&client_secret=y",
     "application/x-www-form-urlencoded"),
    ("POST", "/%00/oauth2/v2.0/token", b"", "application/x-www-form-urlencoded"),
    ("GET", "/{tenant}/v2.0/.well-known/openid-configuration/extra", None, None),
    ("GET", "/" + "a" * 3000 + "/discovery/keys", None, None),
    ("PUT", "/{tenant}/discovery/keys", b"{}", "application/json"),
    ("DELETE", "/{tenant}/oauth2/v2.0/token", None, None),
    ("GET", "/", None, None),
]


@pytest.mark.parametrize("method, path, body, content_type", LOGIN_GARBAGE)
def test_login_garbage_never_500(world: Azure, method: str, path: str, body: bytes | None,
                                 content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = world.http.request(method, world.login_url + path.format(tenant=world.tenant), data=body,
                                  headers=headers, timeout=10)
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    assert response.status_code >= 400
    assert response.json()["error"]
    assert "access_token" not in response.text
