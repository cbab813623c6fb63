"""The vault's wire, raw: the challenge, api-versions, names, bodies, soft delete, paging, refusals.

Every refusal has Key Vault's status and code, none is a 5xx, and a refused write leaves nothing behind.
"""

from __future__ import annotations

import re

import pytest
from kv_helpers import VM, Vault

TENANT_CHALLENGE = re.compile(
    r'^Bearer authorization="https://login\.windows\.net/(?P<tenant>[0-9a-f-]{36})", resource="https://vault\.azure\.net"$')


def test_a_request_without_a_token_gets_the_challenge(vault: Vault) -> None:
    response = vault.kv("GET", "/secrets/app-secret", token=None)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "Unauthorized",
                                         "message": "Request is missing a Bearer or PoP token."}}
    found = TENANT_CHALLENGE.match(response.headers["WWW-Authenticate"])
    assert found and found["tenant"] == vault.tenant
    # also without api-version: the challenge comes first and tells nothing about the route
    assert vault.kv("PUT", "/secrets/x", token=None, api_version=None).status_code == 401


def test_get_secret_shape_as_the_rest_reference_shows(vault: Vault) -> None:
    created = vault.put_secret("app-secret", "My Secret")
    assert created.status_code == 200, created.text
    body = vault.kv("GET", "/secrets/app-secret", api_version="2016-10-01").json()
    assert set(body) == {"value", "id", "attributes"}
    assert body["value"] == "My Secret"
    assert re.fullmatch(re.escape(vault.url) + r"/secrets/app-secret/[0-9a-f]{32}", body["id"])
    # 2016-10-01: no recoverableDays (added in 7.1)
    assert set(body["attributes"]) == {"enabled", "created", "updated", "recoveryLevel"}
    assert body["attributes"]["recoveryLevel"] == "Recoverable+Purgeable"
    newer = vault.kv("GET", "/secrets/app-secret", api_version="7.4").json()
    assert newer["attributes"]["recoverableDays"] == 90
    assert vault.kv("GET", "/secrets/APP-SECRET").json()["value"] == "My Secret"  # names are case-insensitive


@pytest.mark.parametrize("version", ["2016-10-01", "7.0", "7.2", "7.4", "7.5", "7.6", "7.6-preview.2", "2025-07-01",
                                     "2026-04-01"])
def test_api_versions_the_tutorial_and_the_sdks_send(vault: Vault, version: str) -> None:
    assert vault.kv("GET", "/secrets", api_version=version).status_code == 200


@pytest.mark.parametrize("version", ["2015-06-01", "7", "7.9", "banana", "2099-01-01", "2016-13-01", "7.4;drop"])
def test_api_versions_refused(vault: Vault, version: str) -> None:
    response = vault.kv("GET", "/secrets", api_version=version)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadParameter"
    assert f"The specified version ({version}) is not recognized" in response.json()["error"]["message"]


def test_missing_api_version(vault: Vault) -> None:
    response = vault.kv("GET", "/secrets", api_version=None)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "BadParameter")


HOSTILE_NAMES = ["bad_name", "a" * 128, "x y", "名前", "semi;colon", "..", "%2e%2e", "dot.name", "%00", "a%2Fb",
                 "'or'1'='1", "<script>", "name%0d%0aX-Evil: 1", "-" * 200]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_refused_and_nothing_written(vault: Vault, name: str) -> None:
    for method, body in (("PUT", {"value": "x"}), ("GET", None), ("PATCH", {"contentType": "x"}), ("DELETE", None)):
        response = vault.http.request(method, f"{vault.url}/secrets/{name}", params={"api-version": "7.4"},
                                      json=body, timeout=10,
                                      headers={"Authorization": f"Bearer {vault.admin_vault_token()}"})
        assert response.status_code in (400, 404, 405), (method, name, response.status_code, response.text)
        assert response.json()["error"]["code"] in ("BadParameter", "NotFound", "MethodNotAllowed")
    assert vault.secret_names() == []


def test_name_rules(vault: Vault) -> None:
    assert vault.put_secret("a" * 127).status_code == 200
    assert vault.put_secret("0-starts-with-a-digit").status_code == 200
    response = vault.put_secret("under_score")
    assert response.json()["error"] == {"code": "BadParameter",
                                        "message": "The request URI contains an invalid name: under_score"}
    bad_version = vault.kv("GET", "/secrets/" + "a" * 127 + "/not-a-version")
    assert (bad_version.status_code, bad_version.json()["error"]["code"]) == (400, "BadParameter")


BAD_BODIES = [
    (b"", "value"), (b"not json", "JSON"), (b"[]", "object"), (b'{"value": 5}', "value"),
    (b'{"value": null}', "value"), (b'{"value": "x", "tags": {"a": 1}}', "tags"),
    (b'{"value": "x", "tags": [1]}', "tags"), (b'{"value": "x", "attributes": {"enabled": "yes"}}', "enabled"),
    (b'{"value": "x", "attributes": {"exp": "tomorrow"}}', "exp"), (b'{"value": "x", "attributes": []}', "attributes"),
    (b'{"value": "x", "contentType": 7}', "contentType"),
    (b'{"value": "x", "tags": {' + b",".join(b'"t%d": "v"' % i for i in range(16)) + b"}}", "15 tags"),
    (b"[" * 100000 + b"]" * 100000, "JSON"),
]


@pytest.mark.parametrize("raw, mentions", BAD_BODIES, ids=[f"body{i}" for i in range(len(BAD_BODIES))])
def test_bad_bodies_refused_and_nothing_written(vault: Vault, raw: bytes, mentions: str) -> None:
    response = vault.kv("PUT", "/secrets/app-secret", raw=raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BadParameter"
    assert mentions in response.json()["error"]["message"]
    assert vault.secret_names() == []


def test_value_size_limit(vault: Vault) -> None:
    assert vault.put_secret("big", "x" * 25600).status_code == 200
    too_big = vault.put_secret("bigger", "x" * 25601)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (400, "BadParameter")
    assert "25601 bytes" in too_big.json()["error"]["message"]
    multibyte = vault.put_secret("wide", "é" * 12801)  # 25,602 bytes in UTF-8
    assert multibyte.status_code == 400
    huge = vault.kv("PUT", "/secrets/huge", raw=b'{"value": "' + b"x" * (300 * 1024) + b'"}')
    assert (huge.status_code, huge.json()["error"]["code"]) == (413, "RequestEntityTooLarge")
    assert vault.secret_names() == ["big"]


def test_unknown_secret_version_and_path(vault: Vault) -> None:
    missing = vault.kv("GET", "/secrets/nope")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "SecretNotFound")
    assert missing.json()["error"]["message"].startswith(
        "A secret with (name/id) nope was not found in this key vault.")
    vault.put_secret("there")
    version = "0" * 32
    missing_version = vault.kv("GET", f"/secrets/there/{version}")
    assert f"(name/id) there/{version} was not found" in missing_version.json()["error"]["message"]
    assert vault.kv("GET", "/keys").status_code == 404
    assert vault.kv("POST", "/secrets/there").status_code == 405
    assert vault.kv("GET", "/secrets/nope/versions").json() == {"value": [], "nextLink": None}


def test_update_keeps_what_it_is_not_told_to_change(vault: Vault) -> None:
    vault.put_secret("app-secret", "v", contentType="text/plain", tags={"a": "b"}, attributes={"nbf": 1000})
    patched = vault.kv("PATCH", "/secrets/app-secret/", body={"attributes": {"exp": 4000000000}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert "value" not in body
    assert body["contentType"] == "text/plain" and body["tags"] == {"a": "b"}
    assert body["attributes"]["nbf"] == 1000 and body["attributes"]["exp"] == 4000000000
    cleared = vault.kv("PATCH", "/secrets/app-secret", body={"tags": None}).json()
    assert "tags" not in cleared
    bad = vault.kv("PATCH", "/secrets/app-secret", body={"attributes": {"enabled": 1}})
    assert bad.status_code == 400
    assert vault.kv("GET", "/secrets/app-secret").json()["attributes"]["enabled"] is True


def test_soft_delete_life_cycle(vault: Vault) -> None:
    vault.put_secret("app-secret", "one")
    vault.put_secret("app-secret", "two")
    deleted = vault.kv("DELETE", "/secrets/app-secret")
    assert deleted.status_code == 200
    body = deleted.json()
    assert body["recoveryId"] == f"{vault.url}/deletedsecrets/app-secret"
    assert body["scheduledPurgeDate"] - body["deletedDate"] == 90 * 86400
    assert "value" not in body
    assert vault.kv("GET", "/secrets/app-secret").status_code == 404
    assert vault.secret_names() == [] and vault.deleted_names() == ["app-secret"]
    assert vault.kv("DELETE", "/secrets/app-secret").status_code == 404
    conflict = vault.put_secret("app-secret", "three")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["innererror"]["code"] == "ObjectIsDeletedButRecoverable"
    recovered = vault.kv("POST", "/deletedsecrets/app-secret/recover")
    assert recovered.status_code == 200 and "value" not in recovered.json()
    assert vault.kv("GET", "/secrets/app-secret").json()["value"] == "two"
    versions = vault.kv("GET", "/secrets/app-secret/versions").json()["value"]
    assert len(versions) == 2  # every version came back
    not_deleted = vault.kv("POST", "/deletedsecrets/app-secret/recover")
    assert not_deleted.json()["error"]["message"] == "Deleted Secret not found"
    vault.kv("DELETE", "/secrets/app-secret")
    assert vault.kv("DELETE", "/deletedsecrets/app-secret").status_code == 204
    assert vault.deleted_names() == []
    gone = vault.kv("GET", "/deletedsecrets/app-secret")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "SecretNotFound")


def test_purge_protection_and_vaults_without_soft_delete_via_arm(vault: Vault) -> None:
    vault.put_secret("kept")
    vault.kv("DELETE", "/secrets/kept")
    protected = vault.vault_arm("PATCH", body={"properties": {"enablePurgeProtection": True}})
    assert protected.status_code == 200, protected.text
    refused = vault.kv("DELETE", "/deletedsecrets/kept")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "Forbidden")
    assert vault.deleted_names() == ["kept"]
    assert vault.kv("GET", "/deletedsecrets/kept").json()["attributes"]["recoveryLevel"] == "Recoverable"
    off = vault.vault_arm("PATCH", body={"properties": {"enablePurgeProtection": False}})
    assert off.status_code == 400


def test_paging_maxresults_and_skiptoken(vault: Vault) -> None:
    for index in range(5):
        vault.put_secret(f"s{index}")
    first = vault.kv("GET", "/secrets", params={"maxresults": "2"}).json()
    assert len(first["value"]) == 2 and first["nextLink"].startswith(vault.url + "/secrets?")
    seen = [item["id"] for item in first["value"]]
    link = first["nextLink"]
    while link:
        page = vault.http.get(link, headers={"Authorization": f"Bearer {vault.admin_vault_token()}"}, timeout=10).json()
        seen += [item["id"] for item in page["value"]]
        link = page["nextLink"]
    assert sorted(seen) == [f"{vault.url}/secrets/s{i}" for i in range(5)]
    for bad in ({"maxresults": "0"}, {"maxresults": "26"}, {"maxresults": "x"}, {"$skiptoken": "!!"}):
        response = vault.kv("GET", "/secrets", params=bad)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "BadParameter")


def test_access_policy_permissions_per_operation(vault: Vault) -> None:
    vault.put_secret("app-secret")
    expectations = [("GET", "/secrets/app-secret", "get"), ("GET", "/secrets", "list"),
                    ("GET", "/secrets/app-secret/versions", "list"), ("PUT", "/secrets/other", "set"),
                    ("PATCH", "/secrets/app-secret", "set"), ("DELETE", "/secrets/app-secret", "delete"),
                    ("GET", "/deletedsecrets", "list"), ("GET", "/deletedsecrets/app-secret", "get"),
                    ("POST", "/deletedsecrets/app-secret/recover", "recover"),
                    ("DELETE", "/deletedsecrets/app-secret", "purge")]
    for method, path, permission in expectations:
        body = {"value": "x"} if method in ("PUT", "PATCH") else None
        response = vault.kv(method, path, "vm", body=body)
        assert response.status_code == 403, (method, path, response.text)
        assert f"does not have secrets {permission} permission" in response.json()["error"]["message"]
        assert response.json()["error"]["innererror"] == {"code": "AccessDenied"}
    vault.allow(VM, "all")
    assert vault.kv("GET", "/secrets/app-secret", "vm").status_code == 200


def test_backup_and_restore_are_named_as_not_emulated(vault: Vault) -> None:
    vault.put_secret("app-secret")
    for path in ("/secrets/app-secret/backup", "/secrets/restore"):
        response = vault.kv("POST", path, body={"value": "x"})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "BadParameter")
        assert "does not support" in response.json()["error"]["message"]


def test_seeded_garbage_bodies_never_get_a_5xx(vault: Vault) -> None:
    import json
    import random

    rng = random.Random(5)
    vault.put_secret("app-secret", "kept")
    atoms = [None, True, 0, -1, 2**70, 1.5, "", "x" * 30000, "é", [], {}, [1, "a"], {"enabled": "no"}]
    keys = ["value", "contentType", "tags", "attributes", "enabled", "nbf", "exp", "recoveryLevel", "id"]
    for _ in range(120):
        body = {rng.choice(keys): rng.choice(atoms) for _ in range(rng.randint(0, 4))}
        if rng.random() < 0.3:
            body["attributes"] = {rng.choice(keys): rng.choice(atoms) for _ in range(rng.randint(0, 3))}
        method, path = rng.choice([("PUT", "/secrets/app-secret"), ("PATCH", "/secrets/app-secret"),
                                   ("PUT", "/secrets/new-one")])
        response = vault.kv(method, path, raw=json.dumps(body))
        assert response.status_code < 500, (method, body, response.text)
        assert response.status_code in (200, 400, 413), (method, body, response.text)
    assert vault.kv("GET", "/secrets/app-secret").status_code in (200, 403)  # maybe disabled by a PATCH
