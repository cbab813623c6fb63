"""The blob endpoint's wire errors: the storage catalogue (storage/errors.py) rendered as Azure's XML.

``<?xml version="1.0" encoding="utf-8"?><Error><Code>…</Code><Message>…\\nRequestId:…\\nTime:…</Message>
<AuthenticationErrorDetail>…</AuthenticationErrorDetail></Error>`` with ``x-ms-error-code`` and
``x-ms-request-id`` headers (reference/storage.md). HEAD answers carry the headers and no body.
The codes themselves live in storage/errors.py, shared with the Data Lake Gen2 endpoint.
"""

from __future__ import annotations

from aiohttp import web

from emulator.core.http import ErrorCatalogue
from emulator.services.storage import errors, wire
from emulator.services.storage.errors import StorageError

from .render import escape

SERVER = "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"


def xml_error(error: StorageError, request_id: str) -> bytes:
    now = wire.error_time()
    details = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in error.details.items())
    return (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{error.code}</Code><Message>'
            f"{escape(error.message)}\nRequestId:{request_id}\nTime:{now}</Message>{details}</Error>").encode()


def render(request: web.Request, error: StorageError) -> web.Response:
    headers = wire.error_headers(request, error, SERVER)
    request_id = headers["x-ms-request-id"]
    if request.method == "HEAD":
        return web.Response(status=error.status, headers=headers)
    return web.Response(status=error.status, body=xml_error(error, request_id), headers=headers,
                        content_type="application/xml", charset="utf-8")


CATALOGUE = ErrorCatalogue(
    wire_error=StorageError, render=render,
    not_found=lambda request: errors.invalid_uri(request.path),
    method_not_allowed=lambda request, allowed: errors.unsupported_http_verb(request.method, allowed),
    body_too_large=errors.request_body_too_large, internal=errors.internal_error,
)
