"""Helpers for the emulator tests: the world's ids, and thin wrappers over the emulated hosts.

Everything goes over real HTTP(S) on loopback, the way a notebook or an Azure SDK talks to the
emulator: admin steps are ARM calls with an admin token from the emulated Entra, identities get
their tokens from the emulated IMDS.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from emulator.profile import Profile
from lib.emulator import SECRET_HEADER
from lib.roles import ROLE_IDS

ARM = "https://management.azure.com/"
RA_API = "2022-04-01"
RD_API = "2022-04-01"
RG_API = "2021-04-01"
MI_API = "2023-01-31"
VM_API = "2024-03-01"
IMDS_API = "2018-02-01"
INSTANCE_API = "2021-02-01"

# Built-in role ids (the real Azure GUIDs, as reference/arm.md lists them): the learner's table in lib.roles.
ROLES = ROLE_IDS

# Fixed ids of the declared world (emulator/world.json); tests pin them so outputs stay repeatable.
SYSTEM_PRINCIPAL_ID = "15a76ff3-0756-4b47-b362-9d74a68a035b"
SYSTEM_CLIENT_ID = "a2637c82-5eff-4fc5-b058-ee2e7a05f681"
ID1_PRINCIPAL_ID = "cc887e8f-20ff-4ab7-b9f3-f3f54b1c934a"
ID1_CLIENT_ID = "b88b8fbf-dfd8-48a9-a921-5c8306bc9310"
VM_ID = "f0ab07ee-7938-41f3-9d58-bc30f2051b0f"


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def request_after_the_refusal(conn: socket.socket) -> bytes:
    """On a connection the listener refuses: wait until its answer has arrived, then send a request one line at a
    time (as bash's printf does) and read to the end. A listener that closed at once answers the late lines with a
    reset: BrokenPipeError or ConnectionResetError here."""
    conn.recv(1, socket.MSG_PEEK)  # the answer is here: the listener has made its decision
    time.sleep(0.1)
    for line in (b"GET / HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
        conn.sendall(line)
        time.sleep(0.05)
    answer = b""
    while chunk := conn.recv(4096):  # ends: the listener shut its side after the answer
        answer += chunk
    return answer


class NewFiles:
    """The files ending in ``suffix`` that appear in ``folder`` after this is made. Only they count: another test's
    upload may still be unwinding in the same emulator."""

    def __init__(self, folder: Path, suffix: str = "") -> None:
        self.folder, self.suffix = folder, suffix
        self._earlier = self._all()

    def _all(self) -> set[Path]:
        return {p for p in self.folder.iterdir() if p.name.endswith(self.suffix)}

    def __call__(self) -> set[Path]:
        return self._all() - self._earlier

    def wait_until_gone(self, timeout: float = 20.0) -> bool:
        """True once none is left (the server drops a half-received body right after the connection ends)."""
        deadline = time.monotonic() + timeout  # generous: 2 loaded cores; it normally takes milliseconds
        while self() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self()


@contextlib.contextmanager
def tls_connection(url: str, ca: str, timeout: float = 10.0) -> Iterator[ssl.SSLSocket]:
    """A raw TLS connection to ``url``'s host, for requests no HTTP client would send."""
    target = urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection((target.hostname, target.port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=target.hostname) as tls:
        yield tls


def hang_up_mid_upload(url: str, ca: str, head: str, part: bytes, uploads: Path, suffix: str = "") -> bool:
    """Send the request ``head`` (its Content-Length more than ``part``) and ``part`` of the body, wait until the
    server is writing it (a new file ending in ``suffix`` in ``uploads``), hang up, and return True once that file
    is gone. Waiting for the file first means the check cannot pass before the server has even started."""
    ours = NewFiles(uploads, suffix)
    with tls_connection(url, ca) as tls:
        tls.sendall(head.encode() + part)
        deadline = time.monotonic() + 20
        while not ours():
            assert time.monotonic() < deadline, "the server never started writing the body"
            time.sleep(0.02)
    return ours.wait_until_gone()


def new_name() -> str:
    return str(uuid.uuid4())


class Azure:
    """The emulated Azure as a test sees it: ids of the world and one call per admin step."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.tenant = profile.tenant_id
        self.sub = profile.subscription_id
        self.rg = profile.resource_group
        self.vm_name = profile.vm_name
        self.location = profile.location
        self.imds_url = profile.endpoints["imds"]
        self.login_url = profile.endpoints["login"]
        self.arm_url = profile.endpoints["arm"]
        self.control_url = profile.control
        self.ca = profile.ca_bundle
        self.admin_client_id = profile.admin["clientId"]
        self.admin_secret = profile.admin["clientSecret"]
        self.admin_oid = profile.admin["objectId"]
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy, and REQUESTS_CA_BUNDLE must not override the emulator's CA
        self.http.verify = self.ca
        self._admin_tokens: dict[str, str] = {}

    # -- ids -------------------------------------------------------------------------------------
    @property
    def sub_scope(self) -> str:
        return f"/subscriptions/{self.sub}"

    @property
    def rg_scope(self) -> str:
        return f"{self.sub_scope}/resourceGroups/{self.rg}"

    @property
    def vm_id(self) -> str:
        return f"{self.rg_scope}/providers/Microsoft.Compute/virtualMachines/{self.vm_name}"

    def identity_id(self, name: str = "ID1") -> str:
        return f"{self.rg_scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"

    def role_definition_id(self, role: str) -> str:
        return f"{self.sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"

    # -- Entra -------------------------------------------------------------------------------------
    def admin_token(self, scope: str = ARM + ".default") -> str:
        """The admin app's token for ``scope`` (Resource Manager unless named), fetched once per scope."""
        if scope not in self._admin_tokens:
            self._admin_tokens[scope] = self.fresh_admin_token(scope)
        return self._admin_tokens[scope]

    def fresh_admin_token(self, scope: str) -> str:
        """A new client-credentials token of the admin app for ``scope``."""
        response = self.http.post(
            f"{self.login_url}/{self.tenant}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": self.admin_client_id,
                  "client_secret": self.admin_secret, "scope": scope},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    # -- IMDS --------------------------------------------------------------------------------------
    def imds(self, path: str = "/metadata/identity/oauth2/token", params: Any = None,
             headers: dict[str, str] | None = None, method: str = "GET") -> requests.Response:
        """A raw IMDS call; ``Metadata: true`` unless ``headers`` says otherwise."""
        return self.http.request(method, self.imds_url + path, params=params,
                                 headers={"Metadata": "true"} if headers is None else headers, timeout=10)

    def token_response(self, resource: str = ARM, **selectors: str) -> requests.Response:
        return self.imds(params={"api-version": IMDS_API, "resource": resource, **selectors})

    def mi_token(self, resource: str = ARM, **selectors: str) -> str:
        response = self.token_response(resource, **selectors)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    # -- control plane -----------------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> requests.Response:
        """A raw control-plane call with the per-start secret (lib.emulator.EmulatorControl wraps the same).

        ``raw`` bodies go as ``application/json`` unless ``headers`` say otherwise.
        """
        sent = {SECRET_HEADER: self.profile.control_secret}
        if raw is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.http.request(method, self.control_url + path, json=body, data=raw, timeout=10, headers=sent)

    # -- Resource Manager --------------------------------------------------------------------------
    def arm(self, method: str, path: str, token: str | None = "admin", api_version: str | None = RG_API,
            body: Any = None, raw: bytes | str | None = None, params: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> requests.Response:
        """One ARM call. ``token="admin"`` means the admin's token; None means no Authorization header."""
        return self.bearer_call(method, self.arm_url + path, self.admin_token() if token == "admin" else token,
                                api_version, body, raw, params, headers)

    def bearer_call(self, method: str, url: str, token: str | None, api_version: str | None, body: Any = None,
                    raw: bytes | str | None = None, params: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> requests.Response:
        """One call with ``token`` as Bearer (None: no Authorization header) and ``api_version`` in the query;
        ``raw`` bodies go as ``application/json`` unless ``headers`` say otherwise."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        query = dict(params or {})
        if api_version is not None:
            query["api-version"] = api_version
        if raw is not None:
            all_headers.setdefault("Content-Type", "application/json")
        return self.http.request(method, url, params=query, json=body, data=raw, headers=all_headers, timeout=10)

    def get_rg(self, token: str | None, api_version: str | None = RG_API) -> requests.Response:
        return self.arm("GET", self.rg_scope, token, api_version)

    def assignment_path(self, scope: str, name: str) -> str:
        return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"

    def put_assignment(self, principal_id: str, role: str, scope: str | None = None, *,
                       token: str | None = "admin", name: str | None = None,
                       principal_type: str | None = "ServicePrincipal") -> requests.Response:
        properties = {"roleDefinitionId": self.role_definition_id(role), "principalId": principal_id}
        if principal_type is not None:
            properties["principalType"] = principal_type
        return self.arm("PUT", self.assignment_path(scope or self.rg_scope, name or new_name()), token,
                        RA_API, body={"properties": properties})

    def grant(self, principal_id: str, role: str, scope: str | None = None) -> str:
        """Admin grants ``role`` at ``scope`` (default: the resource group); returns the assignment name."""
        name = new_name()
        response = self.put_assignment(principal_id, role, scope, name=name)
        assert response.status_code == 201, response.text
        return name

    def all_assignments(self) -> list[dict[str, Any]]:
        """Every role assignment in the subscription (at, above and below its scope), as the admin sees it."""
        response = self.arm("GET", f"{self.sub_scope}/providers/Microsoft.Authorization/roleAssignments",
                            "admin", RA_API)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def assignment_ids(self) -> set[str]:
        return {a["id"].lower() for a in self.all_assignments()}

    def put_identity(self, name: str = "ID1", body: Any = None, token: str | None = "admin") -> requests.Response:
        return self.arm("PUT", self.identity_id(name), token, MI_API,
                        body={"location": self.location} if body is None else body)

    def create_identity(self, name: str = "ID1") -> dict[str, Any]:
        response = self.put_identity(name)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def patch_vm(self, identity: Any, token: str | None = "admin") -> requests.Response:
        return self.arm("PATCH", self.vm_id, token, VM_API, body={"identity": identity})

    def set_vm_identity(self, identity_type: str, *names: str) -> dict[str, Any]:
        identity: dict[str, Any] = {"type": identity_type}
        if names:
            identity["userAssignedIdentities"] = {self.identity_id(n): {} for n in names}
        response = self.patch_vm(identity)
        assert response.status_code == 200, response.text
        return response.json()


class HeldClock:
    """A clock that moves only when told (``advance``): what the IMDS throttle reads in tests, so a burst of requests
    falls in one window however slowly a loaded machine sends it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def imds_model(emulator: Any) -> Any:
    """The IMDS service's model (token cache, throttle) of an in-process emulator."""
    from emulator.services.imds import handlers

    return emulator.listeners[0].app[handlers.MODEL]


def stall_mid_body(url: str, ca: str, head: str, part: bytes, wait: float = 10.0) -> bytes | None:
    """Send the request ``head`` (declaring more body than ``part``) and ``part``, then nothing. Returns what the
    server sent before it closed the connection (b"" for nothing), or None if it was still open after ``wait``."""
    with tls_connection(url, ca, timeout=wait) as tls:
        tls.sendall(head.encode() + part)
        received = b""
        try:
            while chunk := tls.recv(4096):
                received += chunk
        except TimeoutError:
            return None
        except (ConnectionResetError, ssl.SSLError):
            pass
        return received
