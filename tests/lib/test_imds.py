"""lib.imds against a scripted IMDS on loopback (see conftest.py). Nothing here leaves 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from urllib3.util import Retry
from urllib3.util.retry import RequestHistory

from lib import imds
from lib.imds import (
    AccessToken,
    BadRequest,
    IdentityNotFound,
    ImdsClient,
    ImdsError,
    ImdsServerError,
    ImdsUnavailable,
    InvalidResource,
    MultipleIdentities,
    ThrottledError,
    decode_claims,
    default_retry,
)

ARM = "https://management.azure.com/"

# ---- a scripted IMDS on loopback -------------------------------------------------------------------

LONG_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + "A" * 1200 + ".c2lnbmF0dXJlLXNlY3JldC1wYXJ0"


def token_body(
    access_token: str = LONG_TOKEN,
    *,
    expires_in: int = 86399,
    expires_on: int | None = None,
    resource: str = "https://management.azure.com/",
    client_id: str = "11111111-2222-3333-4444-555555555555",
) -> dict[str, str]:
    """A success body shaped as reference/imds.md: the numbers are JSON strings."""
    now = int(time.time())
    if expires_on is None:
        expires_on = now + expires_in
    return {
        "access_token": access_token,
        "refresh_token": "",
        "expires_in": str(expires_on - now),
        "expires_on": str(expires_on),
        "not_before": str(now - 300),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": client_id,
    }


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str -> text/plain, None -> a fresh token_body()
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased


class FakeImds:
    """IMDS on 127.0.0.1:<free port>. Replies come from a queue; an empty queue answers a fresh token."""

    def __init__(self) -> None:
        self.replies: queue.Queue[Reply] = queue.Queue()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def push(self, *replies: Reply) -> None:
        for reply in replies:
            self.replies.put(reply)

    def push_status(self, status: int, times: int = 1, body: Any = "", **kw: Any) -> None:
        self.push(*(Reply(status=status, body=body, **kw) for _ in range(times)))

    def push_token(self, **kw: Any) -> dict[str, str]:
        body = token_body(**kw)
        self.push(Reply(body=body))
        return body

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(
                Recorded(
                    method=handler.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in handler.headers.items()},
                )
            )
        try:
            reply = self.replies.get_nowait()
        except queue.Empty:
            reply = Reply()
        if reply.delay:
            time.sleep(reply.delay)
        body = token_body() if reply.body is None else reply.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            content_type = "application/json; charset=utf-8"
        else:
            data = str(body).encode()
            content_type = "text/plain; charset=utf-8"
        handler.send_response(reply.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Server", "IMDS/150.870.65.1325")
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_imds() -> Iterator[FakeImds]:
    fake = FakeImds()
    try:
        yield fake
    finally:
        fake.close()


CLIENT_ID = "9d3c3b9e-0000-4000-8000-00000000c1d1"
OBJECT_ID = "5b1f6e2a-0000-4000-8000-0000000000b1"
MSI_RES_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
)

# Bodies exactly as reference/imds.md gives them.
IDENTITY_NOT_FOUND = {"error": "invalid_request", "error_description": "Identity not found"}
MULTIPLE_IDENTITIES = {
    "error": "invalid_request",
    "error_description": "Multiple user assigned identities exist, please specify the clientId / resourceId "
    "of the identity in the token request",
}
INVALID_RESOURCE = {
    "error": "invalid_resource",
    "error_description": "AADSTS500011: The resource principal named https://nope.example/ was not found in "
    "the tenant named contoso. …",
}
NO_METADATA_HEADER = {
    "error": "invalid_request",
    "error_description": "Required metadata header not specified",
}
NO_RESOURCE = {
    "error": "invalid_request",
    "error_description": "Required query variable 'resource' is missing",
}
BACKEND_500 = {"error": "unknown", "error_description": "Failed to retrieve token from the Active directory…"}

RETRIES = 2  # the fast policy below: two retries, three attempts


def fast_retry(**overrides: Any) -> Retry:
    """The default policy, minus the waiting."""
    settings: dict[str, Any] = {"total": RETRIES, "status": RETRIES}
    settings.update(backoff_factor=0, backoff_factor_410=0)
    settings.update(overrides)
    return default_retry(**settings)


@pytest.fixture
def client(fake_imds: FakeImds) -> Iterator[ImdsClient]:
    c = ImdsClient(fake_imds.url, retry=fast_retry(), timeout=(2, 5))
    yield c
    c.close()


def closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- request shape ---------------------------------------------------------------------------------


def test_request_shape_system_assigned(client: ImdsClient, fake_imds: FakeImds) -> None:
    client.get_token(ARM)
    [req] = fake_imds.requests
    assert req.method == "GET"
    assert req.path == "/metadata/identity/oauth2/token"
    assert req.query == {"api-version": ["2018-02-01"], "resource": [ARM]}
    assert req.headers["metadata"] == "true"
    assert "x-forwarded-for" not in req.headers
    assert "authorization" not in req.headers


@pytest.mark.parametrize(
    ("selector", "value"),
    [("client_id", CLIENT_ID), ("object_id", OBJECT_ID), ("msi_res_id", MSI_RES_ID)],
)
def test_each_selector_sent_under_its_own_name(
    client: ImdsClient, fake_imds: FakeImds, selector: str, value: str
) -> None:
    client.get_token(ARM, **{selector: value})
    [req] = fake_imds.requests
    assert req.query == {"api-version": ["2018-02-01"], "resource": [ARM], selector: [value]}
    assert req.headers["metadata"] == "true"


@pytest.mark.parametrize(
    "selectors",
    [
        {"client_id": CLIENT_ID, "object_id": OBJECT_ID},
        {"client_id": CLIENT_ID, "msi_res_id": MSI_RES_ID},
        {"object_id": OBJECT_ID, "msi_res_id": MSI_RES_ID},
        {"client_id": CLIENT_ID, "object_id": OBJECT_ID, "msi_res_id": MSI_RES_ID},
    ],
)
def test_two_selectors_rejected_before_any_request(
    client: ImdsClient, fake_imds: FakeImds, selectors: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="at most one"):
        client.get_token(ARM, **selectors)
    with pytest.raises(ValueError, match="at most one"):
        imds.get_token(ARM, **selectors)  # the module-level function checks too, before resolving anything
    assert fake_imds.requests == []


def test_default_scope_suffix_is_stripped_to_a_resource(client: ImdsClient, fake_imds: FakeImds) -> None:
    client.get_token("https://vault.azure.net/.default")
    assert fake_imds.requests[0].query["resource"] == ["https://vault.azure.net"]


def test_instance_metadata_tree_and_text_leaf(client: ImdsClient, fake_imds: FakeImds) -> None:
    compute = {"compute": {"subscriptionId": "sub-1", "resourceGroupName": "rg-1", "vmId": "vm-1"}}
    fake_imds.push(Reply(body=compute), Reply(body="vm-1"))
    assert client.instance_metadata() == compute
    assert client.instance_metadata("/compute/vmId", text=True) == "vm-1"
    tree, leaf = fake_imds.requests
    assert tree.path == "/metadata/instance"
    assert tree.query == {"api-version": ["2021-02-01"]}
    assert leaf.path == "/metadata/instance/compute/vmId"
    assert leaf.query == {"api-version": ["2021-02-01"], "format": ["text"]}
    assert tree.headers["metadata"] == leaf.headers["metadata"] == "true"


# ---- endpoint resolution ---------------------------------------------------------------------------


def test_endpoint_argument_beats_environment(fake_imds: FakeImds, monkeypatch: pytest.MonkeyPatch) -> None:
    other = FakeImds()
    try:
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", other.url)
        with ImdsClient(fake_imds.url + "/", retry=fast_retry()) as c:
            assert c.endpoint == fake_imds.url
            c.get_token(ARM)
        assert fake_imds.count == 1
        assert other.count == 0
    finally:
        other.close()


def test_endpoint_from_environment_with_path_appended(
    fake_imds: FakeImds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", fake_imds.url + "/")
    with ImdsClient(retry=fast_retry()) as c:
        assert c.endpoint == fake_imds.url
        c.get_token(ARM)
    assert fake_imds.requests[0].path == "/metadata/identity/oauth2/token"


def test_default_endpoint_is_link_local_imds_resolved_without_sending() -> None:
    # conftest removed AZURE_POD_IDENTITY_AUTHORITY_HOST. Nothing is sent (the loopback guard would fail it).
    assert imds.resolve_endpoint() == "http://169.254.169.254"
    c = ImdsClient()
    assert c.endpoint == "http://169.254.169.254"
    c.close()


def test_other_msi_variables_are_ignored_and_left_alone(
    fake_imds: FakeImds, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{closed_loopback_port()}"
    for name in ("IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.setenv(name, dead)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", fake_imds.url)
    with ImdsClient(retry=fast_retry()) as c:
        c.get_token(ARM)
    assert fake_imds.count == 1
    assert [os.environ[n] for n in ("IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT")] == [dead] * 3


def test_module_get_token_follows_the_environment_variable(
    fake_imds: FakeImds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imds, "_default_client", None)
    monkeypatch.setattr(imds, "default_retry", fast_retry)  # the shared client's policy, minus waits
    dead = f"http://127.0.0.1:{closed_loopback_port()}"
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", dead)
    with pytest.raises(ImdsUnavailable):
        imds.get_token(ARM)

    # The learner sets the variable (here: to the fake) and simply calls again.
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", fake_imds.url)
    first = imds.get_token(ARM)
    assert imds.get_token(ARM) is first  # the shared client caches
    assert fake_imds.count == 1

    other = FakeImds()
    try:
        monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", other.url)
        imds.get_token("https://vault.azure.net")  # not cached: IMDS is asked, at the new endpoint
        imds.get_token(ARM)  # the new shared client starts with an empty cache
        assert other.count == 2
        assert fake_imds.count == 1
        assert imds._default_client is not None and imds._default_client.endpoint == other.url
    finally:
        other.close()


def test_module_instance_metadata_uses_the_shared_client(
    fake_imds: FakeImds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imds, "_default_client", None)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", fake_imds.url)
    fake_imds.push(Reply(body="rg-1"))
    assert imds.instance_metadata("compute/resourceGroupName", text=True) == "rg-1"
    assert fake_imds.requests[0].path == "/metadata/instance/compute/resourceGroupName"


# ---- parsing ---------------------------------------------------------------------------------------


def test_string_fields_become_ints(client: ImdsClient, fake_imds: FakeImds) -> None:
    body = fake_imds.push_token(resource=ARM, client_id=CLIENT_ID)
    tok = client.get_token(ARM)
    assert isinstance(tok, AccessToken)
    assert tok.token == LONG_TOKEN
    assert tok.expires_on == int(body["expires_on"]) and isinstance(tok.expires_on, int)
    assert tok.expires_in == int(body["expires_in"]) and isinstance(tok.expires_in, int)
    assert tok.not_before == int(body["not_before"]) and isinstance(tok.not_before, int)
    assert (tok.resource, tok.client_id, tok.token_type) == (ARM, CLIENT_ID, "Bearer")


def test_access_token_is_frozen() -> None:
    tok = AccessToken(token=LONG_TOKEN, expires_on=1, resource=ARM)
    with pytest.raises(AttributeError):
        tok.token = "other"  # type: ignore[misc]


def test_200_without_a_token_is_an_imds_error(client: ImdsClient, fake_imds: FakeImds) -> None:
    fake_imds.push(Reply(body="<html>captive portal</html>"))
    with pytest.raises(ImdsError) as info:
        client.get_token(ARM)
    assert info.value.status == 200
    assert type(info.value) is ImdsError


# ---- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 429, 500, 502, 503, 504])
def test_retryable_status_then_success(client: ImdsClient, fake_imds: FakeImds, status: int) -> None:
    fake_imds.push_status(status, times=2)
    body = fake_imds.push_token(access_token="eyJ.after-retries.x" + "B" * 40)
    tok = client.get_token(ARM)
    assert tok.token == body["access_token"]
    assert fake_imds.count == 3


def test_retry_after_is_honoured(client: ImdsClient, fake_imds: FakeImds) -> None:
    fake_imds.push(Reply(status=429, body="", headers={"Retry-After": "1"}))
    fake_imds.push_token()
    started = time.monotonic()
    client.get_token(ARM)
    elapsed = time.monotonic() - started
    assert fake_imds.count == 2
    assert elapsed >= 0.9  # backoff_factor is 0: only Retry-After can have made it wait


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, NO_METADATA_HEADER, BadRequest),
        (401, {"error": "unauthorized"}, BadRequest),
        (403, "Forbidden", BadRequest),
    ],
)
def test_other_4xx_not_retried(
    client: ImdsClient, fake_imds: FakeImds, status: int, body: Any, expected: type[ImdsError]
) -> None:
    fake_imds.push(Reply(status=status, body=body))
    fake_imds.push_token()  # would be returned if the client wrongly retried
    with pytest.raises(expected) as info:
        client.get_token(ARM)
    assert type(info.value) is expected
    assert info.value.status == status
    assert fake_imds.count == 1


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, "", ImdsServerError),
        (410, "", ImdsServerError),
        (429, "", ThrottledError),
        (500, BACKEND_500, ImdsServerError),
        (503, "", ImdsServerError),
    ],
)
def test_typed_error_after_retries_exhausted(
    client: ImdsClient, fake_imds: FakeImds, status: int, body: Any, expected: type[ImdsError]
) -> None:
    fake_imds.push_status(status, times=RETRIES + 1, body=body)
    fake_imds.push_token()  # one attempt too many would get this
    with pytest.raises(expected) as info:
        client.get_token(ARM)
    assert type(info.value) is expected
    assert info.value.status == status
    assert fake_imds.count == RETRIES + 1
    if isinstance(body, dict):
        assert info.value.error == body["error"]
        assert info.value.description == body["error_description"]
    assert f"after {RETRIES} retries" in str(info.value)


def test_own_retry_that_raises_on_status_still_gives_typed_error(fake_imds: FakeImds) -> None:
    retry = Retry(total=1, status_forcelist=[429], backoff_factor=0, raise_on_status=True)
    fake_imds.push_status(429, times=2)
    with ImdsClient(fake_imds.url, retry=retry) as c, pytest.raises(ThrottledError):
        c.get_token(ARM)
    assert fake_imds.count == 2


def test_default_retry_policy_numbers() -> None:
    r = default_retry()
    assert r.total == 5 and r.status == 5 and r.connect == 2
    assert set(r.status_forcelist) == {404, 410, 429, 500, 502, 503, 504}
    assert r.allowed_methods is not None and set(r.allowed_methods) == {"GET"}
    assert r.raise_on_status is False
    assert r.respect_retry_after_header is True
    assert r.backoff_max == 60


def _backoffs(retry: Retry, status: int, n: int = 5) -> list[float]:
    out = []
    for i in range(1, n + 1):
        history = tuple(RequestHistory("GET", "/", None, status, None) for _ in range(i))
        out.append(retry.new(history=history).get_backoff_time())
    return out


def test_default_backoff_schedule_and_longer_410_window() -> None:
    r = default_retry()
    assert _backoffs(r, 503) == [0, 4, 8, 16, 32]  # Microsoft: about 0, 2, 6, 14, 30
    schedule_410 = _backoffs(r, 410)
    assert schedule_410 == [0, 5, 10, 20, 40]
    assert sum(schedule_410) >= 70  # keep retrying 410 for at least 70 s
    assert max(_backoffs(r, 500, n=8)) == 60  # capped


# ---- error mapping from bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (IDENTITY_NOT_FOUND, IdentityNotFound),
        (MULTIPLE_IDENTITIES, MultipleIdentities),
        (INVALID_RESOURCE, InvalidResource),
        (NO_METADATA_HEADER, BadRequest),
        (NO_RESOURCE, BadRequest),
    ],
)
def test_400_bodies_map_to_error_types(
    client: ImdsClient, fake_imds: FakeImds, body: dict[str, str], expected: type[ImdsError]
) -> None:
    fake_imds.push(Reply(status=400, body=body))
    with pytest.raises(ImdsError) as info:
        client.get_token(ARM, client_id=CLIENT_ID)
    err = info.value
    assert type(err) is expected
    assert (err.status, err.error, err.description) == (400, body["error"], body["error_description"])
    assert fake_imds.count == 1


def test_error_hierarchy() -> None:
    assert issubclass(MultipleIdentities, IdentityNotFound)
    for cls in (IdentityNotFound, InvalidResource):
        assert issubclass(cls, BadRequest)
    for cls in (ImdsUnavailable, BadRequest, ThrottledError, ImdsServerError):
        assert issubclass(cls, ImdsError)


def test_unavailable_on_closed_loopback_port() -> None:
    port = closed_loopback_port()
    no_retry = Retry(total=0, raise_on_status=False)
    with ImdsClient(f"http://127.0.0.1:{port}", retry=no_retry) as c, pytest.raises(ImdsUnavailable) as info:
        c.get_token(ARM)
    err = info.value
    assert err.status is None and err.error is None
    assert "Azure VM" in str(err)
    assert "emulator" in str(err)
    assert "AZURE_POD_IDENTITY_AUTHORITY_HOST" in str(err)


def test_unavailable_on_read_timeout(fake_imds: FakeImds) -> None:
    fake_imds.push(Reply(delay=0.6))
    no_retry = Retry(total=0, raise_on_status=False)
    with (
        ImdsClient(fake_imds.url, retry=no_retry, timeout=(2, 0.2)) as c,
        pytest.raises(ImdsUnavailable, match="Azure VM"),
    ):
        c.get_token(ARM)


def test_docker_desktop_unreachable_403_is_unavailable(client: ImdsClient, fake_imds: FakeImds) -> None:
    fake_imds.push(Reply(status=403, body="connecting to 169.254.169.254:80: ... network is unreachable"))
    with pytest.raises(ImdsUnavailable) as info:
        client.get_token(ARM)
    assert info.value.status == 403
    assert fake_imds.count == 1


def test_proxy_variables_are_not_used(fake_imds: FakeImds, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_proxy = f"http://127.0.0.1:{closed_loopback_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with ImdsClient(fake_imds.url, retry=Retry(total=0, raise_on_status=False)) as c:
        c.get_token(ARM)
    assert fake_imds.count == 1


def test_given_session_gets_the_retry_adapter_for_the_endpoint(fake_imds: FakeImds) -> None:
    session = requests.Session()
    session.trust_env = False
    fake_imds.push_status(503, times=2)
    c = ImdsClient(fake_imds.url, retry=fast_retry(), session=session)
    assert c.session is session
    c.get_token(ARM)
    assert fake_imds.count == 3
    c.close()  # not ours to close: the session still works
    assert session.get(fake_imds.url + "/metadata/instance", headers={"Metadata": "true"}).status_code == 200
    session.close()


# ---- caching ---------------------------------------------------------------------------------------


def test_cache_hit_sends_no_request(client: ImdsClient, fake_imds: FakeImds) -> None:
    first = client.get_token(ARM, client_id=CLIENT_ID)
    assert client.get_token(ARM, client_id=CLIENT_ID) is first
    assert fake_imds.count == 1


def test_cache_keyed_by_resource_and_selector(client: ImdsClient, fake_imds: FakeImds) -> None:
    client.get_token(ARM)
    client.get_token(ARM, client_id=CLIENT_ID)
    client.get_token(ARM, object_id=CLIENT_ID)  # same value, different kind: a different identity
    client.get_token("https://vault.azure.net")
    assert fake_imds.count == 4
    for call in (
        lambda: client.get_token(ARM),
        lambda: client.get_token(ARM, client_id=CLIENT_ID),
        lambda: client.get_token(ARM, object_id=CLIENT_ID),
        lambda: client.get_token("https://vault.azure.net"),
    ):
        call()
    assert fake_imds.count == 4


def test_refresh_inside_margin(client: ImdsClient, fake_imds: FakeImds) -> None:
    fake_imds.push_token(access_token="eyJ.first.x" + "C" * 40, expires_on=int(time.time()) + 200)
    second = fake_imds.push_token(access_token="eyJ.second.x" + "D" * 40)
    assert client.get_token(ARM).token.startswith("eyJ.first")
    assert client.get_token(ARM).token == second["access_token"]
    assert fake_imds.count == 2


def test_no_refresh_until_margin_then_refresh(client: ImdsClient, fake_imds: FakeImds) -> None:
    now = 1_700_000_000.0
    client._clock = lambda: now
    fake_imds.push_token(expires_on=int(now) + 400)
    first = client.get_token(ARM)
    now += 99  # 301 s left: still cached
    assert client.get_token(ARM) is first
    assert fake_imds.count == 1
    now += 2  # 299 s left: inside the margin
    assert client.get_token(ARM) is not first
    assert fake_imds.count == 2


def test_failed_refresh_falls_back_to_valid_cached_token(client: ImdsClient, fake_imds: FakeImds) -> None:
    now = time.time()
    client._clock = lambda: now
    fake_imds.push_token(expires_on=int(now) + 200)
    cached = client.get_token(ARM)
    assert fake_imds.count == 1

    fake_imds.push_status(500, times=RETRIES + 1, body=BACKEND_500)
    assert client.get_token(ARM) is cached  # refresh failed, cached token still valid
    assert fake_imds.count == 1 + RETRIES + 1

    now += 10  # inside the 30 s refresh-retry delay: no new attempt
    assert client.get_token(ARM) is cached
    assert fake_imds.count == 1 + RETRIES + 1

    now += 21  # 31 s after the failed attempt: try again, and this time it works
    fresh = fake_imds.push_token(access_token="eyJ.fresh.x" + "E" * 40, expires_on=int(now) + 3600)
    assert client.get_token(ARM).token == fresh["access_token"]
    assert fake_imds.count == 1 + RETRIES + 2


def test_failed_refresh_of_expired_token_raises(client: ImdsClient, fake_imds: FakeImds) -> None:
    now = time.time()
    client._clock = lambda: now
    fake_imds.push_token(expires_on=int(now) + 100)
    client.get_token(ARM)
    now += 101  # expired
    fake_imds.push_status(503, times=RETRIES + 1)
    with pytest.raises(ImdsServerError):
        client.get_token(ARM)


def test_concurrent_cold_cache_makes_one_request(client: ImdsClient, fake_imds: FakeImds) -> None:
    fake_imds.push(Reply(body=token_body(), delay=0.3))
    results: list[AccessToken] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(client.get_token(ARM))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(results) == 8
    assert len({id(r) for r in results}) == 1
    assert fake_imds.count == 1


# ---- masking and claims ----------------------------------------------------------------------------


def test_repr_and_str_mask_the_token(client: ImdsClient, fake_imds: FakeImds) -> None:
    tok = client.get_token(ARM)
    for text in (repr(tok), str(tok), f"{tok}", tok.masked, repr([tok])):
        assert LONG_TOKEN not in text
        assert LONG_TOKEN[8:40] not in text
    assert tok.masked == f"{LONG_TOKEN[:8]}…({len(LONG_TOKEN)} chars)"
    assert tok.masked in repr(tok)


def test_short_token_is_not_revealed_by_mask() -> None:
    tok = AccessToken(token="abcdefgh", expires_on=1, resource=ARM)
    assert "abcdefgh" not in repr(tok)
    assert tok.masked == "ab…(8 chars)"


def test_logs_never_contain_the_token(
    client: ImdsClient, fake_imds: FakeImds, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    now = time.time()
    client._clock = lambda: now
    fake_imds.push_token(expires_on=int(now) + 200)
    client.get_token(ARM)
    fake_imds.push_status(500, times=RETRIES + 1)
    client.get_token(ARM)  # refresh fails: logs the fallback
    assert any(r.name == "lib.imds" for r in caplog.records)
    assert "using cached token" in caplog.text
    assert LONG_TOKEN not in caplog.text
    assert LONG_TOKEN[8:40] not in caplog.text


def test_decode_claims_of_a_real_jwt() -> None:
    claims = {
        "aud": ARM,
        "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
        "appid": CLIENT_ID,
        "oid": OBJECT_ID,
        "xms_mirid": MSI_RES_ID,
        "exp": 1_700_000_000,
        "ver": "1.0",
    }
    encoded = jwt.encode(claims, "not-a-real-secret-but-long-enough-for-hs256", algorithm="HS256")
    assert decode_claims(encoded) == claims
    assert decode_claims(f"Bearer {encoded}") == claims
    tok = AccessToken(token=encoded, expires_on=claims["exp"], resource=ARM)
    assert decode_claims(tok) == claims
    assert tok.claims["xms_mirid"] == MSI_RES_ID


@pytest.mark.parametrize("bad", ["not-a-jwt", "a.b", "a.!!!!.c", "a.bm90IGpzb24.c", "a.WzEsMl0.c"])
def test_decode_claims_rejects_non_jwts_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError, match="not a JWT") as info:
        decode_claims(bad)
    assert bad not in str(info.value)
