"""Helpers for the Data Lake Gen1 tests: WebHDFS calls as the VM or the admin, over real HTTPS.

Tokens come the way a learner's do: the VM's from the emulated IMDS, the admin's from the emulated
Entra (client credentials, v1 endpoint, resource ``https://datalake.azure.net/``).
"""

from __future__ import annotations

import socket
import ssl
import uuid
from typing import Any

import requests
from emu_helpers import SYSTEM_PRINCIPAL_ID, Azure

GEN1 = "https://datalake.azure.net/"
VM_OID = SYSTEM_PRINCIPAL_ID
ACCOUNT = "miworkbookadls"
HEADERS_ON_EVERY_ANSWER = ("x-ms-request-id", "x-ms-webhdfs-version")


class Lake:
    """The emulated Gen1 account as a test sees it."""

    def __init__(self, azure: Azure) -> None:
        self.azure = azure
        self.base = azure.profile.endpoints["datalake"]
        self.http = azure.http
        self._tokens: dict[str, str] = {}

    # -- tokens ----------------------------------------------------------------------------------
    def admin_token(self, resource: str = GEN1) -> str:
        key = f"admin {resource}"
        if key not in self._tokens:
            response = self.http.post(
                f"{self.azure.login_url}/{self.azure.tenant}/oauth2/token",
                data={"grant_type": "client_credentials", "client_id": self.azure.admin_client_id,
                      "client_secret": self.azure.admin_secret, "resource": resource}, timeout=10)
            assert response.status_code == 200, response.text
            self._tokens[key] = response.json()["access_token"]
        return self._tokens[key]

    def vm_token(self, resource: str = GEN1) -> str:
        key = f"vm {resource}"
        if key not in self._tokens:
            self._tokens[key] = self.azure.mi_token(resource)
        return self._tokens[key]

    def token(self, who: str | None) -> str | None:
        if who == "vm":
            return self.vm_token()
        if who == "admin":
            return self.admin_token()
        return who

    # -- calls -------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base}/webhdfs/v1{path}"

    def call(self, method: str, path: str, op: str | None, who: str | None = "vm", *,
             params: dict[str, str] | None = None, data: Any = None, allow_redirects: bool = False,
             headers: dict[str, str] | None = None) -> requests.Response:
        sent = dict(headers or {})
        token = self.token(who)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        query = {"op": op} if op else {}
        query.update(params or {})
        return self.http.request(method, self.url(path), params=query, data=data, headers=sent,
                                 allow_redirects=allow_redirects, timeout=30)

    def ok(self, method: str, path: str, op: str, who: str | None = "admin", **kwargs: Any) -> requests.Response:
        response = self.call(method, path, op, who, **kwargs)
        assert response.status_code < 300, f"{method} {path} {op}: {response.status_code} {response.text}"
        return response

    def mkdirs(self, path: str, who: str = "admin") -> None:
        assert self.ok("PUT", path, "MKDIRS", who).json() == {"boolean": True}

    def write(self, path: str, data: bytes, who: str = "admin", **params: str) -> requests.Response:
        """The one-step CREATE the SDK uses (write=true)."""
        return self.call("PUT", path, "CREATE", who, params={"write": "true", **params}, data=data)

    def read(self, path: str, who: str = "admin", **params: str) -> requests.Response:
        return self.call("GET", path, "OPEN", who, params={"read": "true", **params})

    def acl(self, path: str, spec: str, op: str = "MODIFYACLENTRIES", who: str = "admin") -> requests.Response:
        return self.call("PUT", path, op, who, params={"aclspec": spec})

    def status(self, path: str, who: str = "admin") -> requests.Response:
        return self.call("GET", path, "GETFILESTATUS", who)

    def exists(self, path: str) -> bool:
        response = self.status(path)
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200

    def entries(self, path: str) -> list[str]:
        return self.ok("GET", path, "MSGETACLSTATUS").json()["AclStatus"]["entries"]

    def scratch(self) -> str:
        """A new folder under the root for one test (tests share the account, not folders)."""
        path = f"/t-{uuid.uuid4().hex[:12]}"
        self.mkdirs(path)
        return path

    def raw(self, request_line: str, token: str | None = None) -> tuple[int, str]:
        """A request sent byte for byte (clients fold '/../' and re-encode before sending)."""
        host, port = self.base.removeprefix("https://").split(":")
        context = ssl.create_default_context(cafile=self.azure.ca)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        with socket.create_connection((host, int(port)), timeout=10) as plain, \
                context.wrap_socket(plain, server_hostname=host) as tls:
            tls.sendall(f"{request_line} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
        head, _, body = answer.decode(errors="replace").partition("\r\n\r\n")
        return int(head.split(" ", 2)[1]), body


def remote_exception(response: requests.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"RemoteException"}, body
    return body["RemoteException"]


def assert_refused(response: requests.Response, status: int, exception: str) -> dict[str, str]:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    error = remote_exception(response)
    assert error["exception"] == exception, error
    assert response.headers["x-ms-webhdfs-version"]
    return error
