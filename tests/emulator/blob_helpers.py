"""Helpers for the Blob Storage tests: the world's storage account, raw calls, SDK clients."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from emu_helpers import Azure, hang_up_mid_upload

from emulator.app import Emulator
from emulator.services.storage.models import model_for

STORAGE = "https://storage.azure.com/"
ACCOUNT = "miworkbookstore"
LAKE = "miworkbooklake"
CONTAINER = "mi-workbook"
HELLO = "hello_world.txt"
VERSION = "2026-10-06"  # what azure-storage-blob 12.31 sends
STORAGE_API = "2023-01-01"


def body_files(emulator: Emulator) -> list[str]:
    """Every blob body (blob and DFS endpoints share them): files as paths below the bodies' root, small bodies
    kept in the store as ``store/<id>``, small ones received but not yet saved by a transaction as ``held/<id>``
    (a refused upload must leave none of the three)."""
    bodies = model_for(emulator.context).bodies
    files = [p.relative_to(bodies.root).as_posix() for p in bodies.root.rglob("*") if p.is_file()]
    return sorted(files + [f"store/{body_id}" for body_id in bodies.small_ids()]
                  + [f"held/{body_id}" for body_id in bodies.held_ids()])


def account_key_container(instance: Emulator, name: str = "mi-workbook"):  # noqa: ANN201 - a ContainerClient
    """A container of the declared account, through its account key, on an emulator a test started itself."""
    from azure.storage.blob import BlobServiceClient

    assert instance.profile is not None
    account = instance.profile.extra["storage"]["accounts"][0]
    url = f"{instance.profile.endpoints['blob']}/{account['name']}"
    return BlobServiceClient(url, credential={"account_name": account["name"], "account_key": account["keys"][0]},
                             connection_verify=instance.profile.ca_bundle).get_container_client(name)


def interrupted_upload(emulator: Emulator, url: str, ca: str, request_line: str, headers: str) -> bool:
    """Send ``request_line`` and ``headers`` declaring 8 MiB, then 3 MiB of it, and hang up; True once the
    half-received body's temporary file is gone."""
    target = urlsplit(url)
    head = (f"{request_line} HTTP/1.1\r\nHost: {target.netloc}\r\n{headers}"
            f"Content-Length: {8 * 1024 * 1024}\r\n\r\n")
    temporary = model_for(emulator.context).bodies.temporary_dir
    return hang_up_mid_upload(url, ca, head, b"\0" * (3 * 1024 * 1024), temporary)


def utc(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(**delta)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(key: str | bytes, text: str) -> str:
    raw = base64.b64decode(key) if isinstance(key, str) else key
    return base64.b64encode(hmac.new(raw, text.encode(), hashlib.sha256).digest()).decode()


def error_detail(response: requests.Response) -> str:
    if not response.content:
        return ""
    return ElementTree.fromstring(response.content).findtext("AuthenticationErrorDetail") or ""


class Storage:
    """The emulated storage account as tests see it."""

    def __init__(self, azure: Azure) -> None:
        self.azure = azure
        self.profile = azure.profile
        self.http = azure.http
        self.endpoint = azure.profile.endpoints["blob"]
        self.ca = azure.ca

    def key(self, account: str = ACCOUNT, index: int = 0) -> str:
        declared = next(a for a in self.profile.extra["storage"]["accounts"] if a["name"] == account)
        return declared["keys"][index]

    def account_id(self, account: str = ACCOUNT) -> str:
        return f"{self.azure.rg_scope}/providers/Microsoft.Storage/storageAccounts/{account}"

    def container_scope(self, container: str = CONTAINER, account: str = ACCOUNT) -> str:
        return f"{self.account_id(account)}/blobServices/default/containers/{container}"

    def url(self, container: str | None = None, blob: str | None = None, account: str = ACCOUNT) -> str:
        path = f"/{account}"
        if container is not None:
            path += f"/{container}"
        if blob is not None:
            path += "/" + quote(blob, safe="/~")
        return self.endpoint + path

    def call(self, method: str, url: str, *, token: str | None = None, params: Any = None,
             headers: dict[str, str] | None = None, data: Any = None, version: str | None = VERSION,
             sas: str | None = None) -> requests.Response:
        sent = dict(headers or {})
        if version is not None:
            sent.setdefault("x-ms-version", version)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if sas is not None:
            url = url + ("&" if "?" in url else "?") + sas
        return self.http.request(method, url, params=params, headers=sent, data=data, timeout=30)

    def read_hello(self, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.call("GET", self.url(CONTAINER, HELLO), token=token, **kwargs)

    def vm_token(self) -> str:
        return self.azure.mi_token(STORAGE)

    def admin_storage_token(self) -> str:
        return self.azure.fresh_admin_token(STORAGE + ".default")

    def connection_string(self, account: str = ACCOUNT) -> str:
        return (f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={self.key(account)};"
                f"BlobEndpoint={self.url(account=account)};")

    def service(self, credential: Any = None, account: str = ACCOUNT, **kwargs: Any) -> Any:
        from azure.storage.blob import BlobServiceClient

        if credential is None:
            return BlobServiceClient.from_connection_string(self.connection_string(account),
                                                            connection_verify=self.ca, **kwargs)
        return BlobServiceClient(self.url(account=account), credential=credential, connection_verify=self.ca,
                                 **kwargs)

    def admin_container(self, container: str = CONTAINER) -> Any:
        """A container client with the account key (what an admin with listKeys could do)."""
        return self.service().get_container_client(container)
