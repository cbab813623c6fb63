"""Entra and Resource Manager hardening (issue 11).

Each test here failed on main before the fix: a form with ``charset=bogus`` was a 500; OIDC discovery
named whatever ``Host`` the caller sent; ARM stored ``text/plain`` bodies, ``NaN`` in JSON, any number
of tags of any size and a location of any length (which every token request then loaded).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from typing import Any

import psutil
import pytest
from emu_helpers import MI_API, Azure

from emulator import cli
from emulator.app import Emulator
from emulator.core.files import StartError
from emulator.core.settings import Settings

IDENTITY = "Limits"


# -- Entra ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("charset", ["bogus", "utf-99", "x" * 300, "\"quoted-bogus\""])
def test_a_form_with_an_unknown_charset_gets_entras_400(world: Azure, charset: str) -> None:
    response = world.http.post(
        f"{world.login_url}/{world.tenant}/oauth2/v2.0/token",
        data=f"grant_type=client_credentials&client_id={world.admin_client_id}",
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"}, timeout=10)
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["error"] == "invalid_request" and body["error_codes"] == [900144]
    assert "grant_type" in body["error_description"]


def test_a_form_with_a_known_charset_still_works(world: Azure) -> None:
    response = world.http.post(
        f"{world.login_url}/{world.tenant}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": world.admin_client_id,
              "client_secret": world.admin_secret, "scope": "https://management.azure.com/.default"},
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"])
def test_oidc_discovery_names_the_configured_endpoint_not_the_host_header(world: Azure, path: str) -> None:
    url = f"{world.login_url}/{world.tenant}/{path}"
    forged = world.http.get(url, headers={"Host": "login.evil.example"}, timeout=10)
    honest = world.http.get(url, timeout=10)
    assert forged.status_code == honest.status_code == 200
    assert forged.json() == honest.json()
    document = forged.json()
    for key in ("token_endpoint", "jwks_uri", "authorization_endpoint"):
        assert document[key].startswith(f"{world.login_url}/{world.tenant}/"), (key, document[key])
        assert "evil" not in document[key]
    keys = world.http.get(document["jwks_uri"], timeout=10)
    assert keys.status_code == 200 and keys.json()["keys"]


# -- Resource Manager: media type and JSON ----------------------------------------------------------------
def _put_identity_raw(world: Azure, raw: bytes | str, content_type: str | None):
    headers = {"Authorization": f"Bearer {world.admin_token()}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return world.http.put(f"{world.arm_url}{world.identity_id(IDENTITY)}", params={"api-version": MI_API},
                          data=raw, headers=headers, timeout=10)


def _assert_not_created(world: Azure) -> None:
    assert world.arm("GET", world.identity_id(IDENTITY), api_version=MI_API).status_code == 404


@pytest.mark.parametrize(("content_type", "quoted"), [
    ("text/plain", "text/plain"), (None, "<null>"), ("application/x-www-form-urlencoded", None),
    ("application/vnd.swagger.doc+json", None), ("multipart/form-data; boundary=x", None),
])
def test_arm_refuses_a_body_that_is_not_declared_json(world: Azure, content_type: str | None,
                                                      quoted: str | None) -> None:
    response = _put_identity_raw(world, json.dumps({"location": world.location}), content_type)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "UnsupportedMediaType"
    assert f"'{quoted or content_type}'" in error["message"] and "application/json" in error["message"]
    _assert_not_created(world)


def test_arm_accepts_json_with_parameters(world: Azure) -> None:
    response = _put_identity_raw(world, json.dumps({"location": world.location}), "application/json; charset=utf-8")
    assert response.status_code == 201, response.text


def test_arm_authenticates_before_it_looks_at_the_media_type(world: Azure) -> None:
    response = world.http.put(f"{world.arm_url}{world.identity_id(IDENTITY)}", params={"api-version": MI_API},
                              data="x", headers={"Content-Type": "text/plain"}, timeout=10)
    assert response.status_code == 401


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_arm_refuses_nan_and_infinity(world: Azure, constant: str) -> None:
    raw = f'{{"location": "{world.location}", "tags": {{"a": {constant}}}}}'
    response = _put_identity_raw(world, raw, "application/json")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidRequestContent"
    assert constant.lstrip("-") in error["message"]
    _assert_not_created(world)


# -- Resource Manager: tag and location limits --------------------------------------------------------------
def _put(world: Azure, body: Any):
    return world.put_identity(IDENTITY, body)


def test_fifty_tags_at_the_longest_are_accepted(world: Azure) -> None:
    tags = {f"{n:02d}" + "n" * 510: "v" * 256 for n in range(50)}
    response = _put(world, {"location": world.location, "tags": tags})
    assert response.status_code == 201, response.text[:300]
    assert response.json()["tags"] == tags
    assert world.mi_token()  # the VM's token path is unaffected


@pytest.mark.parametrize(("tags", "code"), [
    ({f"t{n}": "v" for n in range(51)}, "InvalidTagCount"),
    ({f"t{n}": "v" * 256 for n in range(20_000)}, "RequestEntityTooLarge"),  # megabytes: refused at the limit
    ({"n" * 513: "v"}, "InvalidTagName"),
    ({"n": "v" * 257}, "InvalidTagValueLength"),
    ({"a/b": "v"}, "InvalidTagNameCharacters"),
    ({"a<b": "v"}, "InvalidTagNameCharacters"),
    ({"tab\there": "v"}, "InvalidTagNameCharacters"),
    ({"a?b": "v"}, "InvalidTagNameCharacters"),
    ({"n": 5}, "InvalidRequestContent"),
    ({"n": {"nested": "object"}}, "InvalidRequestContent"),
    (["not", "an", "object"], "InvalidRequestContent"),
])
def test_tags_over_arms_limits_are_refused_and_nothing_is_written(world: Azure, tags: Any, code: str) -> None:
    response = _put(world, {"location": world.location, "tags": tags})
    assert response.status_code in (400, 413), response.text[:300]
    error = response.json()["error"]
    assert error["code"] == code, error
    assert len(error["message"]) < 500, "the error must not echo what was sent"
    _assert_not_created(world)


def test_updating_an_identity_with_too_many_tags_keeps_the_old_ones(world: Azure) -> None:
    assert _put(world, {"location": world.location, "tags": {"kept": "yes"}}).status_code == 201
    refused = _put(world, {"location": world.location, "tags": {f"t{n}": "v" for n in range(60)}})
    assert refused.status_code == 400
    current = world.arm("GET", world.identity_id(IDENTITY), api_version=MI_API).json()
    assert current["tags"] == {"kept": "yes"}


@pytest.mark.parametrize("location", ["x" * 65, "west/us", "westus\n", "<script>", "x" * 100_000])
def test_a_location_that_is_no_region_is_refused(world: Azure, location: str) -> None:
    response = _put(world, {"location": location})
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "LocationNotAvailableForResourceType"
    assert len(error["message"]) < 500
    _assert_not_created(world)


@pytest.mark.parametrize(("given", "stored"), [("West US", "westus"), ("germanywestcentral", "germanywestcentral"),
                                                ("East US 2", "eastus2")])
def test_region_names_as_azure_spells_them_are_accepted(world: Azure, given: str, stored: str) -> None:
    response = _put(world, {"location": given})
    assert response.status_code == 201, response.text
    assert response.json()["location"] == stored


# -- every service: a path with an encoded line break ---------------------------------------------------------
@pytest.mark.parametrize(("service", "path", "shape"), [
    ("arm", "/%0A/providers/Microsoft.Authorization/roleAssignments/x", lambda body: body["error"]["code"]),
    ("login", "/%0A/oauth2/v2.0/token", lambda body: body["error_codes"]),
    ("imds", "/metadata/%0D%0A", lambda body: body["error"]),
])
def test_a_path_with_a_line_break_gets_the_services_own_error(world: Azure, service: str, path: str,
                                                              shape: Any) -> None:
    """The fuzz tests found it: aiohttp's catch-all route did not match "\\n", so its own text/plain 404
    answered instead of the service."""
    base = {"arm": world.arm_url, "login": world.login_url, "imds": world.imds_url}[service]
    response = world.http.put(base + path, headers={"Metadata": "true"}, timeout=10)
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    assert shape(response.json())


# -- loopback only (the floor) --------------------------------------------------------------------------
def test_every_listener_is_bound_to_loopback(fresh) -> None:
    ports = set(fresh.ports.values())
    listening = [c for c in psutil.Process().net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port in ports]
    assert {c.laddr.port for c in listening} == ports, "every listener's port is listening"
    for socket_ in listening:
        assert ipaddress.ip_address(socket_.laddr.ip).is_loopback, socket_.laddr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_a_non_loopback_host_is_refused_in_one_line(tmp_path, capsys, host: str) -> None:
    with pytest.raises(StartError, match="loopback"):
        Emulator(Settings(host=host, ports={name: 0 for name in Settings().ports}, data_dir=tmp_path))
    code = cli.main(["serve", "--host", host, "--data-dir", str(tmp_path / "cli"), "--imds-port", "0"])
    output = capsys.readouterr()
    assert code == 2 and "loopback" in output.err and len(output.err.strip().splitlines()) == 1


@pytest.mark.parametrize("token", [b"\xff\xfe.\xc3\x28.x", "é.é.é".encode(), b"eyJ\x80.e.e"])
def test_a_token_with_bytes_outside_ascii_is_refused_not_a_500(world: Azure, token: bytes) -> None:
    """Found by hand after the fuzzing: aiohttp hands undecodable header bytes on as surrogates, which
    PyJWT could not encode (a 500)."""
    host = world.arm_url.removeprefix("https://")
    context = ssl.create_default_context(cafile=world.ca)
    with socket.create_connection(tuple(host.split(":")), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host.split(":")[0]) as tls:
        tls.sendall(f"GET {world.sub_scope}/resourcegroups?api-version=2021-04-01 HTTP/1.1\r\nHost: {host}\r\n"
                    .encode() + b"Authorization: Bearer " + token + b"\r\n\r\n")
        head = tls.recv(65536).decode(errors="replace")
    assert head.startswith("HTTP/1.1 401"), head[:200]
    assert '"InvalidAuthenticationToken"' in head
