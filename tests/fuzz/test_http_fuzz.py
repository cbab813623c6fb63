"""Fuzzing every HTTP route the emulator serves: paths, methods, headers, query strings and bodies.

Generated from each service's own routing table (see fuzz_helpers.http_services), so services added
later are fuzzed too. For every request: an answer (never a dropped connection), never a 5xx, and
every 4xx in the service's own error shape; after each service, the emulator still answers the
requests a notebook makes.

Why Hypothesis rather than a generator of our own: it is the well-kept library for exactly this
(strategies for hostile text, Latin-1 header bytes and nested JSON, with coverage-guided mutation), and
a failure is reported as every labelled draw of the failing request. It runs seeded (``@seed``, no
example database), so every run sends the same requests, bounded by a number of requests shared out over all routes (the
family takes about 15 s on a quiet 2-core machine). Shrinking is off: against a stateful server it is
slow (Hypothesis allows it five minutes) and often flaky, and the labelled draws already say what was sent.
"""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.parse
from collections import Counter
from typing import Any

import requests
from aiohttp.test_utils import make_mocked_request
from emu_helpers import ARM, IMDS_API, RG_API, ROLES, Azure
from fuzz_helpers import ErrorShape, HttpService, error_shape, handler_name, http_services
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from emulator.app import Emulator
from emulator.core.http import Route
from lib.emulator import SECRET_HEADER

SEED = 20261203
# Requests for the whole family, shared out over every route of every service (each route gets its share, so a
# rarely drawn route is fuzzed too): the family's time stays about the same as services add routes.
EXAMPLES_IN_ALL = 640
MIN_EXAMPLES_PER_ROUTE = 8
MAX_URL = 7000  # below aiohttp's 8190-byte request line, whose own 400 the raw fuzz covers
# Control-plane operations the fuzzer never sends with the real secret: one would stop the emulator,
# the other make IMDS answer injected 5xx on purpose.
NEVER_WITH_THE_SECRET = {"shutdown", "inject_fault"}
# Services whose ids and bodies the fuzzer knows well enough that some requests must get past validation;
# the others (added later) are fuzzed just the same, mostly at their validation.
DEEPLY_FUZZED = {"imds", "imds/__emulator", "login", "arm"}

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")

HOSTILE_STRINGS = [
    "", " ", ".", "..", "%", "%zz", "%00", "\x00", "\x7f", "1" * 5000, "9" * 30, "-1", "0x10", "1e309", "NaN",
    "null", "true", "[]", "{}", "'", '"', "' or '1'='1", "<x/>", "../../etc/passwd", "\u202e", "\ud7ff", "😀" * 10,
    "a" * 3000, "/", "//", "\\", "$", "@", "*", "?", "#", "&", "=", "+", "ID1 ", "id1", "ＩＤ１",
]


# Strategies are built once (functools.cache, or in Fuzzer.__init__): building composite strategies per
# example is what made the first version of this family slow.
@functools.cache
def hostile_text(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=max_size))


@functools.cache
def good_or_hostile(*good: str) -> st.SearchStrategy[str]:
    return st.sampled_from(good) | hostile_text()


@functools.cache
def header_text() -> st.SearchStrategy[str]:
    """Values an HTTP client can send: printable Latin-1, no line breaks, no edge whitespace."""
    alphabet = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    return st.text(alphabet=alphabet, max_size=200).map(str.strip)


@functools.cache
def token_text() -> st.SearchStrategy[str]:
    """Something in a token's place: JWT-like pieces and Latin-1 bytes (which aiohttp hands on as surrogates)."""
    alphabet = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f")
    return st.lists(st.text(alphabet=alphabet, min_size=1, max_size=20), min_size=1, max_size=3).map(".".join)


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        hostile_text())
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(hostile_text(20), inner, max_size=5)), max_leaves=25)


class Fuzzer:
    """Draws one request for a service, from its routes and the world's ids."""

    def __init__(self, world: Azure, service: HttpService, tokens: dict[str, str]) -> None:
        self.world = world
        self.service = service
        self.tokens = tokens
        self.good: dict[str, list[str]] = {
            "tenant": [world.tenant, "organizations"],
            "subscription": [world.sub],
            "resource_group": [world.rg],
            "name": ["ID1", world.vm_name, "00000000-0000-0000-0000-000000000001"],
            "scope": [world.sub_scope, world.rg_scope, world.vm_id, world.identity_id("ID1")],
            "role_id": [ROLES["Reader"]],
            "path": ["compute", "compute/vmId", "network/interface/0/macAddress", "network/interface/" + "1" * 5000],
        }
        self.known_query = {
            "api-version": good_or_hostile(IMDS_API, "2021-02-01", RG_API, "2099-01-01", "2018-02-01-preview"),
            "resource": good_or_hostile(ARM, "https://vault.azure.net", "https://x.vault.azure.net", "nope"),
            "client_id": good_or_hostile("", "b88b8fbf-dfd8-48a9-a921-5c8306bc9310"),
            "object_id": hostile_text(), "msi_res_id": hostile_text(), "mi_res_id": hostile_text(),
            "format": good_or_hostile("json", "text", "xml"),
            "$filter": good_or_hostile("atScope()", "principalId eq 'x'", "roleName eq 'Reader'", "roleName eq '"),
        }
        self.query_name = st.sampled_from(sorted(self.known_query)) | hostile_text(20)
        self.arm_body = st.fixed_dictionaries({
            "location": good_or_hostile("westus", "West US"),
            "tags": st.dictionaries(hostile_text(20), JSON_LEAVES, max_size=6) | JSON_VALUES,
            "properties": st.fixed_dictionaries({}, optional={
                "roleDefinitionId": good_or_hostile(world.role_definition_id("Reader")),
                "principalId": good_or_hostile("15a76ff3-0756-4b47-b362-9d74a68a035b"),
                "principalType": good_or_hostile("ServicePrincipal", "User"),
            }) | JSON_VALUES,
            "identity": st.fixed_dictionaries({}, optional={
                "type": good_or_hostile("SystemAssigned", "UserAssigned", "None", "SystemAssigned, UserAssigned"),
                "userAssignedIdentities": st.dictionaries(
                    good_or_hostile(world.identity_id("ID1")), st.none() | st.just({}) | JSON_VALUES,
                    max_size=3) | JSON_VALUES,
            }) | JSON_VALUES,
        })
        self.form = st.dictionaries(
            st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "resource", "client_assertion"])
            | hostile_text(20),
            good_or_hostile("client_credentials", world.admin_client_id, world.admin_secret, ARM + ".default", ARM),
            max_size=6)

    def begin(self, data: st.DataObject) -> None:
        """Half the requests are plausible (each part valid unless a rare draw spoils it), so fuzzing also
        reaches the handlers behind authentication and validation; the other half are hostile throughout."""
        self.plausible = data.draw(st.booleans(), label="plausible")

    def valid(self, data: st.DataObject, what: str) -> bool:
        return data.draw(st.integers(0, 9), label=f"valid {what}") < (9 if self.plausible else 4)

    def path(self, data: st.DataObject, pattern: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name, kind = match.group(1), match.group(2)
            choices = self.good.get(name, [])
            if choices and self.valid(data, name):
                value = data.draw(st.sampled_from(choices), label=name)
            else:
                value = data.draw(hostile_text(), label=name)
            return urllib.parse.quote(value, safe="/" if kind == "path" else "")

        path = _PLACEHOLDER.sub(fill, pattern)
        if not path.startswith("/"):  # a leading {scope:path} filled with something that is no path
            path = "/" + path
        if data.draw(st.integers(0, 9), label="path mutation") == 0:
            path += data.draw(st.sampled_from(["/", "//x", "/..", "%2F", "/" + "x" * 100]), label="suffix")
        return path

    def query(self, data: st.DataObject, route_versions: tuple[str, ...]) -> list[tuple[str, str]]:
        known = self.known_query
        pairs: list[tuple[str, str]] = []
        if self.valid(data, "api-version"):  # a route without versions of its own: IMDS's
            versions = route_versions or (IMDS_API, "2021-02-01")
            pairs.append(("api-version", data.draw(st.sampled_from(versions), label="api-version")))
            if self.plausible and not route_versions:
                resource = data.draw(st.sampled_from([ARM, "https://vault.azure.net"]), label="resource")
                pairs.append(("resource", resource))
        elif data.draw(st.integers(0, 4), label="api-version first") > 0:
            pairs.append(("api-version", data.draw(known["api-version"], label="api-version")))
        for _ in range(data.draw(st.integers(0, 4), label="query size")):
            name = data.draw(self.query_name, label="query name")
            value = data.draw(known.get(name, hostile_text()), label=f"query {name}")
            pairs.append((name, value))
        return pairs

    def headers(self, data: st.DataObject, route_handler: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.service.listener == "imds" and self.valid(data, "Metadata"):
            headers["Metadata"] = "true"
        elif self.service.listener == "imds" and data.draw(st.booleans(), label="metadata"):
            headers["Metadata"] = data.draw(st.sampled_from(["True", "false", "1", ""]), label="Metadata value")
        if self.valid(data, "Authorization"):  # a token of the admin or the VM for one of the world's resources
            authorization: str | None = data.draw(st.sampled_from(sorted(self.tokens)), label="token")
        else:
            authorization = data.draw(st.sampled_from(
                [None, "admin", "vm", "random", "random", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x.y"]),
                label="Authorization")
        if authorization in self.tokens:
            headers["Authorization"] = "Bearer " + self.tokens[authorization]
        elif authorization == "random":  # Latin-1 bytes the server decodes into surrogates: no token either
            headers["Authorization"] = "Bearer " + data.draw(token_text(), label="random token")
        elif authorization is not None:
            headers["Authorization"] = authorization
        secret = "real" if self.valid(data, "secret") else data.draw(st.sampled_from([None, "real", "wrong"]),
                                                                      label="control secret")
        if secret == "real" and route_handler not in NEVER_WITH_THE_SECRET:
            headers[SECRET_HEADER] = self.world.profile.control_secret
        elif secret == "wrong":
            headers[SECRET_HEADER] = "not-the-secret"
        names = ["X-Forwarded-For", "Origin", "Accept", "Accept-Encoding", "x-ms-version", "x-ms-client-request-id",
                 "If-Match", "If-None-Match", "Range", "Prefer", "X-Anything"]
        for _ in range(data.draw(st.integers(0, 3), label="extra headers")):
            headers[data.draw(st.sampled_from(names), label="header")] = data.draw(header_text(), label="value")
        return headers

    def body(self, data: st.DataObject) -> tuple[bytes | None, str | None]:
        if self.valid(data, "Content-Type"):
            content_type: str | None = "application/json" if self.service.listener != "login" else \
                "application/x-www-form-urlencoded"
        else:
            content_type = data.draw(st.sampled_from([
            None, "application/json", "application/json; charset=utf-8", "application/json; charset=bogus",
            "text/plain", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=bogus",
                "multipart/form-data", "multipart/form-data; boundary=zz", "application/xml", "*/*", "application/",
            ]), label="Content-Type")
        kinds = ["none", "json", "arm", "form", "bytes", "deep"]
        if self.plausible:
            kinds = {"login": ["form"], "arm": ["arm", "none"]}.get(self.service.listener, ["none", "json"])
        kind = data.draw(st.sampled_from(kinds), label="body kind")
        if kind == "none":
            return None, content_type
        if kind == "json":
            return _json_bytes(data.draw(JSON_VALUES, label="json")), content_type
        if kind == "arm":
            return _json_bytes(data.draw(self.arm_body, label="ARM body")), content_type
        if kind == "form":
            return urllib.parse.urlencode(data.draw(self.form, label="form")).encode(), content_type
        if kind == "bytes":
            return data.draw(st.binary(max_size=2048), label="bytes"), content_type
        depth = data.draw(st.sampled_from([1000, 50_000, 100_000]), label="depth")
        return b"[" * depth + b"]" * depth, content_type


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _fuzz_service(world: Azure, service: HttpService, tokens: dict[str, str], session: requests.Session,
                  seen: Counter[tuple[str, str, int]], per_route: int) -> None:
    fuzzer, shape = Fuzzer(world, service, tokens), error_shape(service.errors)
    for route in service.routes:
        _fuzz_route(fuzzer, route, shape, session, seen, per_route)


def _fuzz_route(fuzzer: Fuzzer, route: Route, shape: ErrorShape, session: requests.Session,
                seen: Counter[tuple[str, str, int]], per_route: int) -> None:
    service = fuzzer.service
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]

    @seed(SEED)
    @settings(max_examples=per_route, database=None, deadline=None, derandomize=False,
              phases=(Phase.explicit, Phase.reuse, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        fuzzer.begin(data)
        method = route.method if fuzzer.valid(data, "method") else data.draw(
            st.sampled_from(methods), label="method")
        path = fuzzer.path(data, route.pattern)
        query = fuzzer.query(data, route.api_versions)
        headers = fuzzer.headers(data, handler_name(route))
        body, content_type = fuzzer.body(data)
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = service.base_url + path
        if len(url) + len(urllib.parse.urlencode(query)) > MAX_URL:
            url = service.base_url + path[:MAX_URL // 2]
            query = query[:1]
        try:
            response = session.request(method, url, params=query, headers=headers, data=body, timeout=15,
                                       allow_redirects=False)
        except requests.ConnectionError as exc:
            raise AssertionError(f"{service.name}: the connection was dropped: {exc}") from None
        seen[(service.name, f"{route.method} {route.pattern}", response.status_code)] += 1
        assert response.status_code < 500, (
            f"{service.name} {method} {path[:200]} → {response.status_code} {response.text[:300]}")
        if response.status_code >= 400 and method != "HEAD":
            problem = shape.problems(response.headers.get("Content-Type", "").split(";")[0].strip(),
                                     response.content)
            assert problem is None, (f"{service.name} {method} {path[:200]} → {response.status_code}: {problem}: "
                                     f"{response.text[:300]}")

    one_request()


def _tokens_for_every_resource(world: Azure, resources: list[str]) -> dict[str, str]:
    """The admin's (client credentials) and the VM's (IMDS) tokens for each resource the world knows, so a
    plausible request to any service, one added later included, can carry a token it accepts."""
    tokens: dict[str, str] = {}
    for resource in resources:
        granted = world.http.post(f"{world.login_url}/{world.tenant}/oauth2/v2.0/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": world.admin_client_id,
            "client_secret": world.admin_secret, "scope": resource.rstrip("/") + "/.default"})
        if granted.status_code == 200:
            tokens[f"admin {resource}"] = granted.json()["access_token"]
        issued = world.token_response(resource)
        if issued.status_code == 200:
            tokens[f"vm {resource}"] = issued.json()["access_token"]
    return tokens


def _normal_requests_still_work(world: Azure, emulator: Emulator) -> None:
    """What a notebook does, after the fuzzing: each answered as before."""
    emulator.settings.imds_throttling = False  # the fuzzer may have switched it on through the control plane
    emulator.context.faults.clear()
    assert world.token_response(ARM).status_code == 200
    assert world.get_rg("admin").status_code == 200
    assert world.http.post(f"{world.login_url}/{world.tenant}/oauth2/v2.0/token", timeout=10,
                           data={"grant_type": "client_credentials", "client_id": world.admin_client_id,
                                 "client_secret": world.admin_secret, "scope": ARM + ".default"}).status_code == 200
    assert world.control("GET", "/health").json()["status"] == "ok"


def test_every_http_route_answers_hostile_requests_with_its_own_errors(world: Azure, fresh: Emulator) -> None:
    services = list(http_services(fresh))
    names = {service.name for service in services}
    assert {"imds", "imds/__emulator", "login", "arm"} <= names, names  # discovery found what exists today
    tokens = {"admin": world.admin_token(), "vm": world.mi_token(ARM),
              **_tokens_for_every_resource(world, fresh.context.world.known_resources)}
    seen: Counter[tuple[str, str, int]] = Counter()
    per_route = max(MIN_EXAMPLES_PER_ROUTE, EXAMPLES_IN_ALL // sum(len(service.routes) for service in services))
    session = requests.Session()
    session.trust_env = False
    session.verify = world.ca
    try:
        for service in services:
            began = time.monotonic()
            _fuzz_service(world, service, tokens, session, seen, per_route)
            print(f"{service.name}: {len(service.routes)} routes fuzzed in {time.monotonic() - began:.1f} s")
            _normal_requests_still_work(world, fresh)
    finally:
        session.close()
    for (name, route, status), count in sorted(seen.items()):
        print(f"{name:18} {route[:70]:70} {status} ×{count}")  # pytest -s shows what the fuzzing reached
    for service in services:
        exercised = {route for name, route, _ in seen if name == service.name}
        assert exercised == {f"{r.method} {r.pattern}" for r in service.routes}, f"{service.name}: routes not fuzzed"
        answered = {status for name, _, status in seen if name == service.name}
        if service.name in DEEPLY_FUZZED:  # the fuzzer knows these services' ids and bodies
            assert any(status < 300 for status in answered), f"{service.name}: no request got past validation"


def test_the_error_shape_check_can_fail(fresh: Emulator) -> None:
    """Each service's promised shape accepts its own errors and refuses another service's, so the check
    above would catch a handler answering in the wrong shape (or a bare aiohttp page)."""
    services = list(http_services(fresh))
    request = make_mocked_request("GET", "/x")
    own_errors = {}
    for service in services:
        response = service.errors.render(request, service.errors.not_found(request))
        own_errors[service.name] = (response.content_type, bytes(response.body))
    for service in services:
        shape = error_shape(service.errors)
        assert shape.problems(*own_errors[service.name]) is None
        refused = [other for other in services if shape.problems(*own_errors[other.name]) is not None]
        assert refused, f"{service.name}'s error shape accepts every other service's errors"
        assert shape.problems("text/plain", b"405: Method Not Allowed") is not None
