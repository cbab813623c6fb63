"""Storage helpers for the notebooks: where an account's blob and Data Lake Gen2 (DFS) endpoints are, Azure's
XML (blob) and JSON (DFS) errors read, SAS tokens shown masked.

The notebooks show every request themselves; this only saves repeating the URL rules and the error
unpacking. On Azure a storage account is ``https://<account>.blob.core.windows.net`` and, for Data Lake
Gen2, ``https://<account>.dfs.core.windows.net``; on the emulator each is path style,
``https://127.0.0.1:<port>/<account>`` (what azure-storage-blob and azure-storage-file-datalake expect
for an IP host).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Any

from .target import Target

STORAGE_RESOURCE = "https://storage.azure.com/"


class StorageConfigError(RuntimeError):
    """No storage account is known for this target (on Azure: set WORKBOOK_STORAGE_ACCOUNT)."""


@dataclass(frozen=True)
class BlobError:
    """A Blob service error answer: HTTP status, ``x-ms-error-code``, message and, for auth, the detail."""

    status: int
    code: str
    message: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.code}" + (f" ({self.detail})" if self.detail else "")


def account_url(target: Target, account: str) -> str:
    if target.is_emulator:
        return f"{target.endpoints['blob']}/{account}"
    return f"https://{account}.blob.core.windows.net"


def dfs_url(target: Target, account: str) -> str:
    """The account's Data Lake Gen2 endpoint (the same data as its blob endpoint, when HNS is on)."""
    if target.is_emulator:
        return f"{target.endpoints['dfs']}/{account}"
    return f"https://{account}.dfs.core.windows.net"


def datalake_account(target: Target, name: str = "") -> str:
    """``name`` if given; else the emulator's account with a hierarchical namespace, or on Azure
    WORKBOOK_DATALAKE_ACCOUNT (a storage account with HNS on, in the VM's resource group)."""
    if name:
        return name
    if target.is_emulator:
        return default_account(target, hierarchical=True)
    name = os.environ.get("WORKBOOK_DATALAKE_ACCOUNT", "")
    if not name:
        raise StorageConfigError("Set WORKBOOK_DATALAKE_ACCOUNT (or the notebook's datalake_account parameter) to "
                                 "a storage account with a hierarchical namespace in the VM's resource group.")
    return name


def default_account(target: Target, *, hierarchical: bool = False) -> str:
    """The emulator's declared account (HNS off unless ``hierarchical``); on Azure, WORKBOOK_STORAGE_ACCOUNT."""
    if target.is_emulator:
        accounts = target.profile.get("extra", {}).get("storage", {}).get("accounts", [])
        for account in accounts:
            if bool(account.get("hierarchicalNamespace")) == hierarchical:
                return str(account["name"])
        raise StorageConfigError("The emulator's world declares no such storage account.")
    name = os.environ.get("WORKBOOK_STORAGE_ACCOUNT", "")
    if not name:
        raise StorageConfigError("Set WORKBOOK_STORAGE_ACCOUNT (or the notebook's storage_account parameter) to "
                                 "the name of a storage account in the VM's resource group.")
    return name


def account_id(target: Target, account: str) -> str:
    return f"{target.resource_group_id}/providers/Microsoft.Storage/storageAccounts/{account}"


def container_scope(target: Target, account: str, container: str) -> str:
    return f"{account_id(target, account)}/blobServices/default/containers/{container}"


def blob_error(response: Any) -> BlobError | None:
    """The error in a ``requests`` response from the Blob service; None when it succeeded."""
    if response.status_code < 400:
        return None
    code = response.headers.get("x-ms-error-code", "")
    message = detail = ""
    if response.content:
        try:
            root = ElementTree.fromstring(response.content)
            code = code or root.findtext("Code") or ""
            message = (root.findtext("Message") or "").split("\n", 1)[0]
            detail = root.findtext("AuthenticationErrorDetail") or ""
        except ElementTree.ParseError:
            message = response.text[:300]
    return BlobError(response.status_code, code or "Unknown", message, detail)


def datalake_error(response: Any) -> BlobError | None:
    """The error in a ``requests`` response from the DFS endpoint (``{"error": {"code", "message"}}``); None
    when it succeeded. HEAD answers carry only ``x-ms-error-code``."""
    if response.status_code < 400:
        return None
    code = response.headers.get("x-ms-error-code", "")
    message = ""
    if response.content:
        try:
            error = json.loads(response.content).get("error", {})
            code = code or str(error.get("code", ""))
            message = str(error.get("message", "")).split("\n", 1)[0]
        except (ValueError, AttributeError):
            message = response.text[:300]
    return BlobError(response.status_code, code or "Unknown", message)


def sdk_error(exc: Any) -> BlobError:
    """The same for an azure-core ``HttpResponseError`` raised by azure-storage-blob."""
    detail = ""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            root = ElementTree.fromstring(response.text())
            detail = root.findtext("AuthenticationErrorDetail") or ""
        except (ElementTree.ParseError, TypeError, ValueError):
            detail = ""
    message = str(getattr(exc, "reason", "") or "")
    return BlobError(int(getattr(exc, "status_code", 0) or 0), str(getattr(exc, "error_code", "") or "Unknown"),
                     message, detail)


def mask_sas(token: str) -> str:
    """A SAS with its signature cut to four characters: readable, comparable, never usable."""
    parts = []
    for part in token.lstrip("?").split("&"):
        name, _, value = part.partition("=")
        parts.append(f"{name}={value[:4]}…" if name == "sig" and value else part)
    return "&".join(parts)
