"""The DFS endpoint's wire errors: the storage catalogue (storage/errors.py) as Data Lake Gen2's JSON.

``{"error":{"code":"PathNotFound","message":"The specified path does not exist.\\nRequestId:…\\nTime:…"}}``
with ``x-ms-error-code``, ``x-ms-request-id`` and ``Content-Type: application/json;charset=utf-8`` (answers
recorded from Azure in azure-sdk-for-js's and opendal's reports; reference/storage.md). Where Data Lake
has its own name for a storage code, the DFS answer uses it (``ContainerNotFound`` → ``FilesystemNotFound``,
``BlobNotFound`` → ``PathNotFound`` …); the codes themselves live in storage/errors.py, shared with the
blob endpoint, so one grep still finds each.

Requests of the Blob REST API that reach this listener (the Data Lake SDK sends some there, see
handlers.py) are answered in the blob endpoint's XML by the handler that passes them on, as the blob
host would answer them.
"""

from __future__ import annotations

import json

from aiohttp import web

from emulator.core.http import ErrorCatalogue
from emulator.services.storage import errors, wire
from emulator.services.storage.errors import StorageError

SERVER = "Windows-Azure-HDFS/1.0 Microsoft-HTTPAPI/2.0"
JSON_TYPE = "application/json;charset=utf-8"  # as Azure writes it (no space)

# Storage codes that Data Lake Gen2 names differently, with its messages.
RENAMED = {
    "ContainerNotFound": ("FilesystemNotFound", "The specified filesystem does not exist."),
    "ContainerAlreadyExists": ("FilesystemAlreadyExists", "The specified filesystem already exists."),
    "ContainerBeingDeleted": ("FilesystemBeingDeleted", "The specified filesystem is being deleted."),
    "BlobNotFound": ("PathNotFound", "The specified path does not exist."),
    "BlobAlreadyExists": ("PathAlreadyExists", "The specified path already exists."),
}


def as_dfs(error: StorageError) -> StorageError:
    renamed = RENAMED.get(error.code)
    if renamed is None:
        return error
    return StorageError(error.status, renamed[0], renamed[1], details=error.details, headers=error.headers)


def json_error(error: StorageError, request_id: str) -> bytes:
    now = wire.error_time()
    message = error.message
    detail = error.details.get("AuthenticationErrorDetail")
    if detail:  # Data Lake's JSON has no element for it; the blob endpoint's XML does
        message = f"{message} ({detail})"
    return json.dumps({"error": {"code": error.code, "message": f"{message}\nRequestId:{request_id}\nTime:{now}"}},
                      separators=(",", ":")).encode()


def render(request: web.Request, error: StorageError) -> web.Response:
    error = as_dfs(error)
    headers = wire.error_headers(request, error, SERVER)
    request_id = headers["x-ms-request-id"]
    if request.method == "HEAD":
        return web.Response(status=error.status, headers=headers)
    headers["Content-Type"] = JSON_TYPE
    return web.Response(status=error.status, body=json_error(error, request_id), headers=headers)


def not_emulated(operation: str) -> StorageError:
    """A real Data Lake Gen2 operation the emulator does not have: said by name."""
    return StorageError(501, "NotImplemented",
                        f"The emulated Data Lake Gen2 endpoint does not implement '{operation}'. See the README for "
                        "what it does.")


CATALOGUE = ErrorCatalogue(
    wire_error=StorageError, render=render,
    not_found=lambda request: errors.invalid_uri(request.path),
    method_not_allowed=lambda request, allowed: errors.unsupported_http_verb(request.method, allowed),
    body_too_large=errors.request_body_too_large, internal=errors.internal_error,
)
