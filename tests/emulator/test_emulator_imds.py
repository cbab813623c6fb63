"""The emulated IMDS against every rule of reference/imds.md.

(Named test_emulator_imds.py, not test_imds.py: tests/lib/test_imds.py exists and pytest's default
import mode refuses two test modules with one basename.)
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from emu_helpers import (
    ARM,
    ID1_CLIENT_ID,
    ID1_PRINCIPAL_ID,
    IMDS_API,
    INSTANCE_API,
    SYSTEM_CLIENT_ID,
    SYSTEM_PRINCIPAL_ID,
    VM_ID,
    Azure,
    HeldClock,
    imds_model,
    unverified_claims,
)

from emulator.app import Emulator
from emulator.core.settings import Settings
from emulator.services.imds.models import Throttle

NOT_FOUND = {"error": "invalid_request", "error_description": "Identity not found"}
MULTIPLE = {"error": "invalid_request",
            "error_description": "Multiple user assigned identities exist, please specify the clientId / "
                                 "resourceId of the identity in the token request"}


def assert_invalid_request(response: Any, description: str | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Server"].startswith("IMDS/")
    body = response.json()
    assert body["error"] == "invalid_request", body
    assert isinstance(body["error_description"], str) and body["error_description"]
    if description is not None:
        assert body["error_description"] == description
    return body


def mirid_system(azure: Azure) -> str:
    return (f"/subscriptions/{azure.sub}/resourcegroups/{azure.rg}"
            f"/providers/Microsoft.Compute/virtualMachines/{azure.vm_name}")


def mirid_user(azure: Azure, name: str = "ID1") -> str:
    return (f"/subscriptions/{azure.sub}/resourcegroups/{azure.rg}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


# -- success shape ------------------------------------------------------------------------------------
@pytest.mark.parametrize("resource", ["https://management.azure.com/", "https://management.azure.com",
                                      "https://storage.azure.com/", "https://vault.azure.net"])
def test_token_success_shape(world: Azure, resource: str) -> None:
    before = int(time.time())
    response = world.token_response(resource)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Server"].startswith("IMDS/")
    body = response.json()
    for field in ("access_token", "refresh_token", "expires_in", "expires_on", "not_before", "resource",
                  "token_type", "client_id"):
        assert isinstance(body[field], str), (field, body[field])
    assert body["resource"] == resource  # verbatim, trailing slash or not
    assert body["token_type"] == "Bearer"
    assert body["client_id"] == SYSTEM_CLIENT_ID
    assert body["refresh_token"] == ""
    expires_on, not_before, expires_in = int(body["expires_on"]), int(body["not_before"]), int(body["expires_in"])
    assert not_before <= int(time.time()) + 1
    assert abs((expires_on - int(time.time())) - expires_in) <= 2
    assert 23 * 3600 <= expires_on - not_before <= 24 * 3600  # real tokens live about 24 h
    claims = unverified_claims(body["access_token"])
    assert claims["aud"] == resource
    assert claims["exp"] == expires_on and claims["nbf"] == not_before
    assert claims["nbf"] >= before - 86400  # a cached token is fine, but it is still valid now
    assert claims["exp"] > time.time()


def _jwks_key(azure: Azure, kid: str) -> Any:
    """Follow OIDC discovery on the emulated Entra to the JWKS and pick the key by kid."""
    config = azure.http.get(f"{azure.login_url}/{azure.tenant}/.well-known/openid-configuration", timeout=10)
    assert config.status_code == 200
    jwks_uri = config.json()["jwks_uri"]
    assert jwks_uri.startswith(azure.login_url + "/")
    jwks = azure.http.get(jwks_uri, timeout=10)
    assert jwks.status_code == 200
    keys = jwt.PyJWKSet.from_dict(jwks.json())
    return keys[kid].key


def test_system_assigned_token_claims_and_signature(world: Azure) -> None:
    token = world.mi_token(ARM)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"]
    key = _jwks_key(world, header["kid"])
    issuer = f"https://sts.windows.net/{world.tenant}/"
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=ARM, issuer=issuer,
                        options={"require": ["exp", "nbf", "iat", "aud", "iss"]})
    assert claims["aud"] == ARM
    assert claims["iss"] == issuer
    assert claims["idp"] == issuer
    assert claims["appid"] == SYSTEM_CLIENT_ID
    assert claims["appidacr"] == "2"
    assert claims["oid"] == SYSTEM_PRINCIPAL_ID
    assert claims["sub"] == SYSTEM_PRINCIPAL_ID
    assert claims["tid"] == world.tenant
    assert claims["ver"] == "1.0"
    assert claims["idtyp"] == "app"
    assert claims["xms_mirid"] == mirid_system(world)
    assert "/resourcegroups/" in claims["xms_mirid"] and "/resourceGroups/" not in claims["xms_mirid"]
    for opaque in ("aio", "uti", "rh"):
        assert isinstance(claims[opaque], str) and claims[opaque]
    assert claims["iat"] <= claims["nbf"] + 1 and claims["nbf"] < claims["exp"]


def test_token_signature_does_not_verify_with_another_key(world: Azure) -> None:
    """The signature check above is meaningful: a different RSA key must not verify the token."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    token = world.mi_token(ARM)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other, algorithms=["RS256"], audience=ARM)


def test_user_assigned_token_claims(world: Azure) -> None:
    world.create_identity("ID1")
    world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")
    response = world.token_response(ARM, client_id=ID1_CLIENT_ID)
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == ID1_CLIENT_ID
    claims = unverified_claims(response.json()["access_token"])
    assert claims["appid"] == ID1_CLIENT_ID
    assert claims["oid"] == claims["sub"] == ID1_PRINCIPAL_ID
    assert claims["xms_mirid"] == mirid_user(world)


# -- the 400s ----------------------------------------------------------------------------------------
def test_no_metadata_header(world: Azure) -> None:
    response = world.imds(params={"api-version": IMDS_API, "resource": ARM}, headers={})
    assert_invalid_request(response, "Required metadata header not specified")


@pytest.mark.parametrize("value", ["false", "False", "", "yes", "1"])
def test_metadata_header_not_true(world: Azure, value: str) -> None:
    response = world.imds(params={"api-version": IMDS_API, "resource": ARM}, headers={"Metadata": value})
    assert_invalid_request(response, "Required metadata header not specified")


def test_header_less_probe_is_answered_at_once_with_the_400(world: Azure) -> None:
    """DefaultAzureCredential's probe: the GET without Metadata, ~1 s timeout; any HTTP answer is 'available'."""
    started = time.monotonic()
    response = world.http.get(world.imds_url + "/metadata/identity/oauth2/token", timeout=1)
    elapsed = time.monotonic() - started
    assert_invalid_request(response, "Required metadata header not specified")
    assert elapsed < 1.0  # sanity bound only (the client would have given up), not a performance claim


def test_resource_missing(world: Azure) -> None:
    assert_invalid_request(world.imds(params={"api-version": IMDS_API}),
                           "Required query variable 'resource' is missing")
    assert_invalid_request(world.imds(params={"api-version": IMDS_API, "resource": ""}),
                           "Required query variable 'resource' is missing")


def test_unknown_resource(world: Azure) -> None:
    resource = "https://no-such-resource.example.com/"
    response = world.token_response(resource)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_resource"
    assert body["error_description"].startswith(
        f"AADSTS500011: The resource principal named {resource} was not found in the tenant named {world.tenant}.")


@pytest.mark.parametrize("selector, value", [
    ("client_id", "00000000-1111-2222-3333-444444444444"),
    ("object_id", "00000000-1111-2222-3333-444444444444"),
    ("msi_res_id", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/x/providers/"
                   "Microsoft.ManagedIdentity/userAssignedIdentities/nope"),
    ("mi_res_id", "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/x/providers/"
                  "Microsoft.ManagedIdentity/userAssignedIdentities/nope"),
])
def test_selector_matching_nothing(world: Azure, selector: str, value: str) -> None:
    response = world.token_response(ARM, **{selector: value})
    assert response.status_code == 400
    assert response.json() == NOT_FOUND


def test_identity_that_exists_but_is_not_assigned_to_the_vm_is_not_found(world: Azure) -> None:
    world.create_identity("ID1")  # exists in the directory, not on the VM
    for selector, value in (("client_id", ID1_CLIENT_ID), ("object_id", ID1_PRINCIPAL_ID),
                            ("msi_res_id", world.identity_id("ID1"))):
        response = world.token_response(ARM, **{selector: value})
        assert response.status_code == 400, selector
        assert response.json() == NOT_FOUND


def test_multiple_user_assigned_identities(world: Azure) -> None:
    """Two user-assigned identities and the system one off, set up by the real ARM admin calls."""
    for name in ("ID1", "ID2"):
        assert world.put_identity(name).status_code == 201
    vm = world.set_vm_identity("UserAssigned", "ID1", "ID2")
    assert vm["identity"]["type"] == "UserAssigned"
    assert len(vm["identity"]["userAssignedIdentities"]) == 2
    response = world.token_response(ARM)
    assert response.status_code == 400
    assert response.json() == MULTIPLE
    # ... and a selector resolves it; the system-assigned identity is gone.
    id2_client = world.arm("GET", world.identity_id("ID2"), api_version="2023-01-31").json()["properties"]["clientId"]
    chosen = world.token_response(ARM, client_id=id2_client)
    assert chosen.status_code == 200 and chosen.json()["client_id"] == id2_client
    gone = world.token_response(ARM, client_id=SYSTEM_CLIENT_ID)
    assert gone.status_code == 400 and gone.json() == NOT_FOUND


# -- selectors and default identity -----------------------------------------------------------------
@pytest.mark.parametrize("selector", ["client_id", "object_id", "msi_res_id", "mi_res_id",
                                      "msi_res_id_lowercase_rg"])
def test_selectors_choose_id1(world: Azure, selector: str) -> None:
    created = world.create_identity("ID1")
    assert created["properties"]["clientId"] == ID1_CLIENT_ID
    world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")
    value = {"client_id": ID1_CLIENT_ID, "object_id": ID1_PRINCIPAL_ID, "msi_res_id": created["id"],
             "mi_res_id": created["id"], "msi_res_id_lowercase_rg": mirid_user(world)}[selector]
    name = "msi_res_id" if selector == "msi_res_id_lowercase_rg" else selector
    response = world.token_response(ARM, **{name: value})
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == ID1_CLIENT_ID
    claims = unverified_claims(response.json()["access_token"])
    assert (claims["appid"], claims["oid"]) == (ID1_CLIENT_ID, ID1_PRINCIPAL_ID)
    # the system-assigned identity is still the default, and still selectable
    assert world.token_response(ARM).json()["client_id"] == SYSTEM_CLIENT_ID
    assert world.token_response(ARM, client_id=SYSTEM_CLIENT_ID).json()["client_id"] == SYSTEM_CLIENT_ID


def test_default_is_system_assigned_when_enabled(world: Azure) -> None:
    response = world.token_response(ARM)
    assert response.status_code == 200
    assert response.json()["client_id"] == SYSTEM_CLIENT_ID


def test_default_is_the_only_user_assigned_when_system_is_off(world: Azure) -> None:
    world.create_identity("ID1")
    world.set_vm_identity("UserAssigned", "ID1")
    response = world.token_response(ARM)
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == ID1_CLIENT_ID
    assert unverified_claims(response.json()["access_token"])["xms_mirid"] == mirid_user(world)


def test_no_identity_at_all(world: Azure) -> None:
    world.set_vm_identity("None")
    response = world.token_response(ARM)
    assert response.status_code == 400
    assert response.json() == NOT_FOUND


def test_two_selectors_refused(world: Azure) -> None:
    world.create_identity("ID1")
    world.set_vm_identity("SystemAssigned, UserAssigned", "ID1")
    response = world.token_response(ARM, client_id=ID1_CLIENT_ID, object_id=ID1_PRINCIPAL_ID)
    assert_invalid_request(response)
    response = world.token_response(ARM, client_id=ID1_CLIENT_ID, msi_res_id=world.identity_id("ID1"))
    assert_invalid_request(response)


# -- SSRF guards, verbs, query -----------------------------------------------------------------------
def test_x_forwarded_for_refused(world: Azure) -> None:
    response = world.imds(params={"api-version": IMDS_API, "resource": ARM},
                          headers={"Metadata": "true", "X-Forwarded-For": "203.0.113.7"})
    body = assert_invalid_request(response)
    assert "access_token" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_verbs_are_405(world: Azure, method: str) -> None:
    response = world.imds(params={"api-version": IMDS_API, "resource": ARM}, method=method)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "access_token" not in response.text


@pytest.mark.parametrize("duplicated", ["resource", "api-version", "client_id"])
def test_duplicate_query_parameter_refused(world: Azure, duplicated: str) -> None:
    params = [("api-version", IMDS_API), ("resource", ARM)]
    extra = {"resource": ("resource", "https://storage.azure.com/"), "api-version": ("api-version", IMDS_API),
             "client_id": ("client_id", SYSTEM_CLIENT_ID)}[duplicated]
    params.append(extra)
    if duplicated == "client_id":
        params.append(extra)
    body = assert_invalid_request(world.imds(params=params))
    assert duplicated in body["error_description"]


@pytest.mark.parametrize("version", [None, "", "2099-01-01", "latest", "2018-02-01x"])
def test_bad_or_missing_api_version_on_token_endpoint(world: Azure, version: str | None) -> None:
    params = {"resource": ARM}
    if version is not None:
        params["api-version"] = version
    body = assert_invalid_request(world.imds(params=params))
    assert "api-version" in body["error_description"]


@pytest.mark.parametrize("version", ["2018-02-01", "2019-08-01", "2019-11-01"])
def test_documented_api_versions_accepted(world: Azure, version: str) -> None:
    response = world.imds(params={"api-version": version, "resource": ARM})
    assert response.status_code == 200, response.text


# -- throttling --------------------------------------------------------------------------------------
def test_throttling_over_20_per_second(world: Azure, fresh: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = HeldClock()
    monkeypatch.setattr(imds_model(fresh).throttle, "clock", clock)
    assert world.control("POST", "/settings", {"imdsThrottling": True}).json()["imdsThrottling"] is True
    statuses = []
    for _ in range(25):  # all in one second of the throttle's clock
        response = world.token_response(ARM)
        statuses.append((response.status_code, response.json().get("error")))
    assert statuses[:20] == [(200, None)] * 20
    assert statuses[20:] == [(429, "too_many_requests")] * 5
    clock.advance(1.0)
    assert world.token_response(ARM).status_code == 200, "a second later the window has moved on"


def test_no_throttling_when_switched_off(world: Azure) -> None:
    assert world.control("POST", "/settings", {"imdsThrottling": True}).status_code == 200
    assert world.control("POST", "/settings", {"imdsThrottling": False}).json()["imdsThrottling"] is False
    statuses = [world.token_response(ARM).status_code for _ in range(45)]
    assert statuses == [200] * 45


def test_concurrency_limit_of_the_throttle() -> None:
    """5 at once, the rule itself (test_hardening_imds.py triggers it over HTTP with requests held in flight)."""
    throttle = Throttle(Settings(imds_rate_per_second=1000, imds_max_concurrent=5))
    assert [throttle.enter() for _ in range(5)] == [True] * 5
    assert throttle.enter() is False
    throttle.leave()
    assert throttle.enter() is True
    off = Throttle(Settings(imds_throttling=False, imds_max_concurrent=1))
    assert [off.enter() for _ in range(10)] == [True] * 10


# -- fault injection -----------------------------------------------------------------------------------
@pytest.mark.parametrize("status, error", [(404, "not_found"), (410, "gone"), (429, "too_many_requests"),
                                           (500, "unknown")])
def test_injected_faults_then_success(world: Azure, status: int, error: str) -> None:
    injected = world.control("POST", "/faults", {"service": "imds", "status": status, "count": 3})
    assert injected.status_code == 201, injected.text
    for _ in range(3):
        response = world.token_response(ARM)
        assert response.status_code == status
        assert response.json()["error"] == error
        assert "Retry-After" not in response.headers
        assert response.headers["Server"].startswith("IMDS/")
    response = world.token_response(ARM)
    assert response.status_code == 200, response.text
    assert world.control("GET", "/faults").json() == {}


def test_injected_fault_with_retry_after(world: Azure) -> None:
    world.control("POST", "/faults", {"service": "imds", "status": 429, "count": 1, "retryAfter": 7})
    response = world.token_response(ARM)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert world.token_response(ARM).status_code == 200


def test_faults_also_hit_instance_metadata_and_clear(world: Azure) -> None:
    world.control("POST", "/faults", {"service": "imds", "status": 503, "count": 5})
    assert world.imds("/metadata/instance", params={"api-version": INSTANCE_API}).status_code == 503
    assert world.control("DELETE", "/faults").status_code == 204
    assert world.imds("/metadata/instance", params={"api-version": INSTANCE_API}).status_code == 200
    assert world.token_response(ARM).status_code == 200


# -- instance metadata -------------------------------------------------------------------------------
def _leaves(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{path}/{key}")]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, f"{path}/{i}")]
    return [(path, node)]


def test_instance_metadata_document(world: Azure) -> None:
    response = world.imds("/metadata/instance", params={"api-version": INSTANCE_API})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Server"].startswith("IMDS/")
    document = response.json()
    compute = document["compute"]
    assert compute["subscriptionId"] == world.sub
    assert compute["resourceGroupName"] == world.rg
    assert compute["name"] == world.vm_name
    assert compute["vmId"] == VM_ID
    assert compute["location"] == world.location
    assert compute["resourceId"] == world.vm_id
    for path, value in _leaves(document):
        assert isinstance(value, str), (path, value)


@pytest.mark.parametrize("leaf", ["subscriptionId", "resourceGroupName", "name", "vmId", "location",
                                  "resourceId"])
def test_instance_leaf_as_text(world: Azure, leaf: str) -> None:
    document = world.imds("/metadata/instance", params={"api-version": INSTANCE_API}).json()
    response = world.imds(f"/metadata/instance/compute/{leaf}",
                          params={"api-version": INSTANCE_API, "format": "text"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == document["compute"][leaf]


def test_instance_nested_list_leaf(world: Azure) -> None:
    response = world.imds("/metadata/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress",
                          params={"api-version": INSTANCE_API, "format": "text"})
    assert response.status_code == 200 and response.text


def test_instance_non_leaf_as_text_is_400(world: Azure) -> None:
    response = world.imds("/metadata/instance/compute", params={"api-version": INSTANCE_API, "format": "text"})
    assert response.status_code == 400
    assert "error" in response.json()


def test_instance_unknown_format_is_400(world: Azure) -> None:
    response = world.imds("/metadata/instance", params={"api-version": INSTANCE_API, "format": "xml"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/metadata/instance/compute/noSuchLeaf", "/metadata/instance/nothing",
                                  "/metadata/instance/network/interface/7",
                                  "/metadata/instance/network/interface/%C2%B2",
                                  "/metadata/instance/compute/vmId/deeper"])
def test_instance_unknown_leaf_is_404(world: Azure, path: str) -> None:
    response = world.imds(path, params={"api-version": INSTANCE_API, "format": "text"})
    assert response.status_code == 404, response.text
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize("version", [None, "2099-01-01", "nonsense"])
def test_instance_bad_api_version(world: Azure, version: str | None) -> None:
    params = {} if version is None else {"api-version": version}
    response = world.imds("/metadata/instance", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == ("Bad request. api-version is invalid or was not specified in the request. "
                             "For more information refer to aka.ms/azureimds")
    newest = body["newest-versions"]
    assert isinstance(newest, list) and newest and all(isinstance(v, str) for v in newest)
    assert newest == sorted(newest, reverse=True)
    for listed in newest:  # the versions it advertises actually work
        assert world.imds("/metadata/instance", params={"api-version": listed}).status_code == 200


def test_instance_needs_metadata_header(world: Azure) -> None:
    response = world.imds("/metadata/instance", params={"api-version": INSTANCE_API}, headers={})
    assert_invalid_request(response, "Required metadata header not specified")


def test_metadata_versions(world: Azure) -> None:
    response = world.imds("/metadata/versions")
    assert response.status_code == 200
    versions = response.json()["apiVersions"]
    assert INSTANCE_API in versions and IMDS_API in versions
    assert all(isinstance(v, str) for v in versions)


def test_unknown_imds_path_is_404(world: Azure) -> None:
    response = world.imds("/metadata/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]


# -- never a 500 --------------------------------------------------------------------------------------------
IMDS_GARBAGE = [
    ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%FF%FE", {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
            "&client_id=%00", {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
            "&msi_res_id=" + "a" * 4000, {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + "%20" * 50, {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&&&=&resource", {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token?api-version=%E2%98%83&resource=x", {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token/extra?api-version=2018-02-01", {"Metadata": "true"}),
    ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/",
     {"Metadata": "\u00e9true".encode().decode("latin-1")}),
    ("GET", "/metadata/instance/%00?api-version=2021-02-01", {"Metadata": "true"}),
    ("GET", "/metadata/instance/compute/tagsList/-1?api-version=2021-02-01", {"Metadata": "true"}),
    ("GET", "/metadata/instance/network/interface/99999999999999999999999?api-version=2021-02-01",
     {"Metadata": "true"}),
    ("GET", "/metadata/instance/network/interface/%D9%A1?api-version=2021-02-01", {"Metadata": "true"}),
    ("GET", "/metadata/instance////compute//vmId?api-version=2021-02-01&format=text", {"Metadata": "true"}),
    ("GET", "/metadata/instance?api-version=2021-02-01&format=", {"Metadata": "true"}),
    ("GET", "/metadata/versions?x=1&x=2", {"Metadata": "true"}),
    ("OPTIONS", "/metadata/instance?api-version=2021-02-01", {"Metadata": "true"}),
    ("HEAD", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/",
     {"Metadata": "true"}),
    ("GET", "/", {}),
    ("GET", "/../../etc/passwd", {"Metadata": "true"}),
    ("GET", "/__emulator/../metadata/versions", {"Metadata": "true"}),
]


@pytest.mark.parametrize("method, path, headers", IMDS_GARBAGE)
def test_imds_garbage_never_500(world: Azure, method: str, path: str, headers: dict[str, str]) -> None:
    response = world.http.request(method, world.imds_url + path, headers=headers, timeout=10)
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    if response.status_code >= 400 and method != "HEAD":
        assert "error" in response.json()
