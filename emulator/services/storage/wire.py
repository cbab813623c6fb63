"""What the blob and DFS endpoints read from a request alike: one definition for both hosts.

Both endpoints answer the same account (a DFS file is a blob), and Azure reads these parts of a
request the same way on either host; only the error's rendering (XML or JSON) differs, and that is
each endpoint's own errors.py.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from aiohttp import web

from . import errors
from .errors import StorageError
from .rows import Conditions

# The conditional headers in the order Conditions takes them, spelled as the Blob REST API documents them.
CONDITION_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")


def checked_raw_path(request: web.Request) -> str:
    """The request's path as sent (no query), refused when its escapes are not UTF-8."""
    raw_path = request.raw_path.split("?", 1)[0]
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:  # yarl leaves undecodable escapes as text; Azure refuses such a URI
        raise errors.invalid_uri(raw_path) from None
    return raw_path


def first_values(request: web.Request) -> dict[str, str]:
    """Each query parameter's first value (a repeated one counts once, as Azure reads it)."""
    found: dict[str, str] = {}
    for name, value in request.query.items():
        found.setdefault(name, value)
    return found


def conditions(request: web.Request, names: tuple[str, str, str, str] = CONDITION_HEADERS) -> Conditions:
    """The If-* headers, read under ``names`` (a bad date is named in the error as ``names`` spells it)."""
    if_match, if_none_match, if_modified_since, if_unmodified_since = names

    def moment(name: str) -> float | None:
        value = request.headers.get(name)
        if value is None:
            return None
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            raise errors.invalid_header_value(name, value, "A date in RFC 1123 format is expected.") from None

    return Conditions(if_match=request.headers.get(if_match), if_none_match=request.headers.get(if_none_match),
                      if_modified_since=moment(if_modified_since), if_unmodified_since=moment(if_unmodified_since))


def md5_digest(value: str) -> bytes:
    """A Content-MD5 / x-ms-content-md5 header's 16 bytes, or Azure's InvalidMd5."""
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise errors.invalid_md5(value)
    return digest


def error_headers(request: web.Request, error: StorageError, server: str) -> dict[str, str]:
    """The headers of a storage error answer on either host; the body's RequestId is their x-ms-request-id."""
    headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-error-code": error.code, "Server": server,
               "x-ms-version": request.headers.get("x-ms-version", ""), **error.headers}
    if "x-ms-client-request-id" in request.headers:
        headers["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
    return headers


def error_time() -> str:
    """The ``Time:`` an error message ends with, as Azure writes it (seven fractional digits)."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
