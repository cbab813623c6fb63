"""Helpers for the Data Lake Gen2 tests: the world's HNS account, raw DFS calls, the real SDK's clients.

Tokens come the way a learner's do: the VM's from the emulated IMDS (``Gen2.vm_token``, or the
``ImdsCredential`` below for the SDK, which asks the same IMDS), the admin's from the emulated Entra.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

import requests
from azure.core.credentials import AccessToken
from emu_helpers import SYSTEM_PRINCIPAL_ID, Azure

STORAGE = "https://storage.azure.com/"
LAKE = "miworkbooklake"  # the world's account with a hierarchical namespace
FLAT = "miworkbookstore"  # … and the one without
FS = "mi-workbook-fs"
HELLO = "TestFolder/hello_world.txt"
VERSION = "2026-10-06"  # what azure-storage-file-datalake 12.26 sends
VM_OID = SYSTEM_PRINCIPAL_ID


class ImdsCredential:
    """A TokenCredential that asks the emulated IMDS through the test's own session (as ManagedIdentityCredential
    would, without the environment variable a subprocess-free test would have to set)."""

    def __init__(self, azure: Azure) -> None:
        self.azure = azure

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        resource = scopes[0].removesuffix("/.default") + "/"
        return AccessToken(self.azure.mi_token(resource), int(time.time()) + 3000)


class Gen2:
    """The emulated Data Lake Gen2 account as a test sees it."""

    def __init__(self, azure: Azure) -> None:
        self.azure = azure
        self.profile = azure.profile
        self.http = azure.http
        self.dfs = azure.profile.endpoints["dfs"]
        self.blob = azure.profile.endpoints["blob"]
        self.ca = azure.ca
        self._tokens: dict[str, str] = {}
        self._admin_is_owner = False

    # -- ids and URLs ------------------------------------------------------------------------------
    def key(self, account: str = LAKE) -> str:
        declared = next(a for a in self.profile.extra["storage"]["accounts"] if a["name"] == account)
        return str(declared["keys"][0])

    def account_id(self, account: str = LAKE) -> str:
        return f"{self.azure.rg_scope}/providers/Microsoft.Storage/storageAccounts/{account}"

    def container_scope(self, filesystem: str = FS, account: str = LAKE) -> str:
        return f"{self.account_id(account)}/blobServices/default/containers/{filesystem}"

    def url(self, filesystem: str | None = None, path: str | None = None, account: str = LAKE,
            endpoint: str | None = None) -> str:
        url = f"{endpoint or self.dfs}/{account}"
        if filesystem is not None:
            url += f"/{filesystem}"
        if path is not None:
            url += "/" + quote(path, safe="/~")
        return url

    # -- tokens ------------------------------------------------------------------------------------
    def vm_token(self) -> str:
        if "vm" not in self._tokens:
            self._tokens["vm"] = self.azure.mi_token(STORAGE)
        return self._tokens["vm"]

    def admin_token(self) -> str:
        return self.azure.admin_token(STORAGE + ".default")

    def token(self, who: str | None) -> str | None:
        if who == "admin" and not self._admin_is_owner:
            self.admin_is_blob_owner()
        return {"vm": self.vm_token, "admin": self.admin_token}.get(who or "", lambda: who)()

    # -- raw calls ---------------------------------------------------------------------------------
    def call(self, method: str, url: str, *, who: str | None = "vm", params: Any = None,
             headers: dict[str, str] | None = None, data: Any = None, version: str | None = VERSION
             ) -> requests.Response:
        sent = dict(headers or {})
        if version is not None:
            sent.setdefault("x-ms-version", version)
        token = self.token(who)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        return self.http.request(method, url, params=params, headers=sent, data=data, timeout=60)

    def create(self, path: str, *, who: str | None = "vm", directory: bool = False, filesystem: str = FS,
               headers: dict[str, str] | None = None) -> requests.Response:
        return self.call("PUT", self.url(filesystem, path), who=who, headers=headers,
                         params={"resource": "directory" if directory else "file"})

    def write(self, path: str, data: bytes, *, who: str | None = "vm", filesystem: str = FS) -> list[int]:
        """Create, append, flush: the three statuses."""
        created = self.create(path, who=who, filesystem=filesystem)
        appended = self.call("PATCH", self.url(filesystem, path), who=who, data=data,
                             params={"action": "append", "position": "0"})
        flushed = self.call("PATCH", self.url(filesystem, path), who=who,
                            params={"action": "flush", "position": str(len(data))})
        return [created.status_code, appended.status_code, flushed.status_code]

    def acl(self, path: str, *, who: str | None = "admin", filesystem: str = FS) -> dict[str, str]:
        response = self.call("HEAD", self.url(filesystem, path), who=who, params={"action": "getAccessControl"})
        assert response.status_code == 200, (response.status_code, response.headers.get("x-ms-error-code"))
        return {k: response.headers[f"x-ms-{k}"] for k in ("owner", "group", "permissions", "acl")}

    def set_acl(self, path: str, acl: str, *, who: str | None = "admin", filesystem: str = FS) -> requests.Response:
        return self.call("PATCH", self.url(filesystem, path), who=who, params={"action": "setAccessControl"},
                         headers={"x-ms-acl": acl})

    def add_entries(self, path: str, entries: str, *, filesystem: str = FS) -> None:
        """What the portal's Manage ACL does: read the ACL, add entries, write it back (as the admin)."""
        current = self.acl(path, filesystem=filesystem)["acl"]
        response = self.set_acl(path, f"{current},{entries}", filesystem=filesystem)
        assert response.status_code == 200, response.text

    # -- RBAC ---------------------------------------------------------------------------------------
    def grant(self, role: str, principal: str = VM_OID, scope: str | None = None) -> str:
        return self.azure.grant(principal, role, scope or self.account_id())

    def admin_is_blob_owner(self) -> None:
        """The admin app gets Storage Blob Data Owner on the account: a super-user of its ACLs (done before the
        admin's first raw call)."""
        if not self._admin_is_owner:
            self._admin_is_owner = True
            self.grant("Storage Blob Data Owner", self.azure.admin_oid)

    # -- SDK clients --------------------------------------------------------------------------------
    def service(self, credential: Any = None, account: str = LAKE, **kwargs: Any) -> Any:
        """A DataLakeServiceClient on the DFS endpoint: the account key unless ``credential`` says otherwise."""
        from azure.storage.filedatalake import DataLakeServiceClient

        if credential is None:
            credential = {"account_name": account, "account_key": self.key(account)}
        return DataLakeServiceClient(self.url(account=account), credential=credential, connection_verify=self.ca,
                                     **kwargs)

    def vm_service(self, **kwargs: Any) -> Any:
        return self.service(ImdsCredential(self.azure), **kwargs)

    def blob_service(self, credential: Any = None, account: str = LAKE) -> Any:
        """A BlobServiceClient on the blob endpoint of the same account."""
        from azure.storage.blob import BlobServiceClient

        if credential is None:
            credential = {"account_name": account, "account_key": self.key(account)}
        return BlobServiceClient(self.url(account=account, endpoint=self.blob), credential=credential,
                                 connection_verify=self.ca)


def scratch() -> str:
    return "t-" + uuid.uuid4().hex[:10]


def code(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.headers.get("x-ms-error-code", "")
