"""Thin WebHDFS handlers; ``before`` authenticates, reads the operation and the path, finds the caller.

Query parameter names are case-insensitive, as Hadoop's are (the azure-datalake-store SDK sends
``OP=``), and so are ``op`` and boolean values (it sends ``recursive=True``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from emulator.core import posix_acl as acls
from emulator.core.auth import authenticate
from emulator.core.http import ErrorCatalogue, Match, read_stream
from emulator.core.tokens import TokenRejected
from emulator.core.versions import is_supported

from . import errors
from .bodies import Upload
from .models import DEFAULT_MODE, Caller, DataLakeGen1
from .routes import OPERATIONS, PREFIX, Operation

MODEL = web.AppKey("datalake_gen1", DataLakeGen1)
AUDIENCE = "https://datalake.azure.net/"  # exactly: without the trailing slash Gen1 refused the token
WEBHDFS_VERSION = "17.04.22.00"  # the x-ms-webhdfs-version the tutorial's answers carry
OLDEST_API_VERSION = "2016-11-01"  # azure-rest-api-specs' stable Gen1 filesystem version
CONTINUATION_SINCE = "2018-09-01"  # LISTSTATUS carries "continuationToken" from this api-version on
_HOSTILE_ESCAPES = re.compile(r"%(2f|5c|00)", re.IGNORECASE)  # an encoded '/', '\' or NUL inside a name
_JSON = partial(json.dumps, separators=(",", ":"))  # Gen1 answered compact JSON: {"boolean":true}


@dataclass(frozen=True)
class WebHdfsCall:
    op: str
    operation: Operation
    path: str
    params: dict[str, str]
    caller: Caller
    api_version: str | None


CALL = web.RequestKey("webhdfs_call", WebHdfsCall)


# -- responses -----------------------------------------------------------------------------------------
def _headers(request_id: str, status: str = "0x0", extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Cache-Control": "no-cache, no-cache, no-store, max-age=0", "Pragma": "no-cache", "Expires": "-1",
            "x-ms-request-id": request_id, "x-ms-webhdfs-version": WEBHDFS_VERSION, "Status": status,
            "X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "max-age=15724800; includeSubDomains",
            **(extra or {})}


def respond(body: Any = None, status: int = 200, extra: dict[str, str] | None = None) -> web.Response:
    headers = _headers(str(uuid.uuid4()), extra=extra)
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, text=_JSON(body), content_type="application/json", charset="utf-8",
                        headers=headers)


def render_error(_request: web.Request, exc: errors.WebHdfsError) -> web.Response:
    request_id = str(uuid.uuid4())
    moment = dt.datetime.now(dt.timezone.utc)
    # Gen1 ended every message with "[<request id>][<time>]".
    message = f"{exc.message} [{request_id}][{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0+00:00]"
    body = {"RemoteException": {"exception": exc.exception, "message": message, "javaClassName": exc.java_class}}
    headers = _headers(request_id, exc.gen1_status or "0x0", exc.headers)
    if exc.gen1_status is None:
        del headers["Status"]
    return web.Response(status=exc.status, text=_JSON(body), content_type="application/json", charset="utf-8",
                        headers=headers)


def _unmatched(request: web.Request) -> errors.WebHdfsError:
    # yarl folds "/webhdfs/v1/../x" before matching; the raw path tells a hostile path from a foreign URL.
    raw = request.raw_path.split("?", 1)[0]
    if raw == PREFIX or raw.startswith(PREFIX + "/"):
        return errors.hostile_path(f"'{raw[len(PREFIX):]}' is not an absolute path without '.' or '..' segments.")
    return errors.not_webhdfs(request.path)


ERRORS = ErrorCatalogue(
    wire_error=errors.WebHdfsError, render=render_error, not_found=_unmatched,
    method_not_allowed=lambda request, _allowed: errors.method_not_allowed(request.method),
    body_too_large=errors.body_too_large, internal=errors.internal,
)


# -- parameters -------------------------------------------------------------------------------------------
def _params(request: web.Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.query.items():
        params.setdefault(name.lower(), value)
    return params


def normalize_path(raw: str, what: str = "path") -> str:
    """An absolute path from a URL's raw path (or a decoded parameter); hostile ones are refused.

    '.' segments and repeated slashes fold away (the SDK asks for the root as '/.'); '..', an encoded
    separator, a backslash, NUL or another control character is refused with IllegalArgumentException.
    """
    if _HOSTILE_ESCAPES.search(raw):
        raise errors.hostile_path(f"the {what} contains an encoded '/', '\\' or NUL.")
    try:
        decoded = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise errors.hostile_path(f"the {what} is not UTF-8.") from None
    if any(ord(c) < 0x20 or c == "\x7f" for c in decoded) or "\\" in decoded:
        raise errors.hostile_path(f"the {what} contains a control character or a backslash.")
    segments = [s for s in decoded.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise errors.hostile_path(f"the {what} contains a '..' segment.")
    return "/" + "/".join(segments)


def _boolean(call: WebHdfsCall, name: str, default: bool) -> bool:
    value = call.params.get(name)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise errors.invalid_parameter(name, value, "Failed to parse as a boolean (true or false)")
    return value.lower() == "true"


def _count(call: WebHdfsCall, name: str, minimum: int = 0) -> int | None:
    value = call.params.get(name)
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or int(value) < minimum:
        raise errors.invalid_parameter(name, value, f"Expected a whole number not below {minimum}")
    return int(value)


def _mode(call: WebHdfsCall, name: str = "permission") -> int | None:
    value = call.params.get(name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[0-7]{1,4}", value) or int(value, 8) > 0o1777:
        raise errors.invalid_parameter(name, value, "Expected an octal permission from 0 to 1777")
    return int(value, 8)


def _required(call: WebHdfsCall, name: str) -> str:
    value = call.params.get(name)
    if not value:
        raise errors.missing_parameter(name, call.op)
    return value


def _acl_spec(call: WebHdfsCall, *, with_permissions: bool = True) -> list[acls.AclEntry]:
    try:
        return acls.parse_spec(_required(call, "aclspec"), with_permissions=with_permissions)
    except acls.AclError as exc:
        raise errors.invalid_acl(str(exc)) from None


# -- before every operation ---------------------------------------------------------------------------------
def _token_error(exc: TokenRejected, tenant: str) -> errors.WebHdfsError:
    if exc.reason == "missing_header":
        return errors.missing_token(tenant)
    if exc.reason == "bad_scheme":
        return errors.bad_scheme(tenant)
    if exc.reason == "audience":
        return errors.wrong_audience(str(exc.claims.get("aud")), tenant)
    if exc.reason == "expired":
        return errors.expired_token(tenant)
    if exc.reason == "issuer":
        return errors.wrong_issuer(str(exc.claims.get("iss")), tenant)
    return errors.invalid_token(tenant)


async def before(request: web.Request, match: Match) -> None:
    """Authentication → api-version → operation → path → who the caller is (and whether super-user)."""
    model = request.app[MODEL]
    tenant = model.context.world.tenant_id
    try:
        claims = authenticate(model.context.verifier, request.headers, (AUDIENCE,))
    except TokenRejected as exc:
        raise _token_error(exc, tenant) from None
    params = _params(request)
    api_version = params.get("api-version")
    if api_version is not None and not is_supported(api_version, (OLDEST_API_VERSION,)):
        raise errors.invalid_parameter("api-version", api_version,
                                       f"Expected a version from {OLDEST_API_VERSION} on, e.g. 2018-09-01")
    op = params.get("op", "").upper()
    operation = OPERATIONS.get(op)
    method = "GET" if request.method == "HEAD" else request.method
    if operation is None or operation.method != method:
        raise errors.unknown_operation(params.get("op", ""), method)
    path = normalize_path(request.raw_path.split("?", 1)[0][len(PREFIX):])
    request[CALL] = WebHdfsCall(op, operation, path, params, model.caller(str(claims["oid"])), api_version)


async def webhdfs(request: web.Request, path: str = "") -> web.StreamResponse:
    call = request[CALL]
    handler = globals()[call.operation.handler]
    return await handler(request, request.app[MODEL], call)


# -- the two-step operations (CREATE, APPEND, OPEN) ----------------------------------------------------------
def _redirect(request: web.Request, flag: str) -> web.Response:
    """307 to the same URL with ``<flag>=true`` (any other value of the flag replaced), empty body."""
    raw_path, _, query = request.raw_path.partition("?")
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0].lower() != flag]
    location = f"{request.scheme}://{request.host}{raw_path}?{'&'.join([*kept, f'{flag}=true'])}"
    return respond(status=307, extra={"Location": location, "ContentLength": "0"})


def _redirecting(request: web.Request, call: WebHdfsCall) -> bool:
    flag = call.operation.redirect_flag
    return flag is not None and not _boolean(call, flag, False)


async def _drain(request: web.Request) -> None:
    """Read (and drop) a body sent with a request answered without it: the client can then read the answer."""
    if request.body_exists:
        await read_stream(request, errors.MAX_WRITE_BYTES, lambda _chunk: None, ERRORS)


async def _write(request: web.Request, model: DataLakeGen1, call: WebHdfsCall, flag: str, check: Callable[[], None],
                 commit: Callable[[Upload], None]) -> web.Response | None:
    """CREATE and APPEND alike: ``check`` before a byte of the body is kept (a refused or redirected request's
    body is drained, so the client reads the answer), then the body streamed to a file that ``commit`` hands
    to the model. A redirect (``flag`` its second step's flag) is returned; None once the data is written."""
    try:
        check()
    except errors.WebHdfsError:
        await _drain(request)
        raise
    if _redirecting(request, call):
        await _drain(request)
        return _redirect(request, flag)
    upload = model.bodies.new_upload()
    try:
        await read_stream(request, errors.MAX_WRITE_BYTES, upload.write, ERRORS)
        await asyncio.to_thread(upload.finish)  # fsync off the event loop
        commit(upload)
    except BaseException:
        upload.abort()
        raise
    return None


async def create(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    overwrite = _boolean(call, "overwrite", False)
    mode = _mode(call)
    redirect = await _write(
        request, model, call, "write", check=lambda: model.check_create(call.caller, call.path, overwrite),
        commit=lambda upload: model.create(call.caller, call.path, overwrite,
                                           DEFAULT_MODE if mode is None else mode, upload))
    if redirect is not None:
        return redirect
    location = f"{request.scheme}://{request.host}{request.raw_path}"
    return respond(status=201, extra={"Location": location, "ContentLength": "0"})


async def append(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    offset = _count(call, "offset")
    redirect = await _write(request, model, call, "append",
                            check=lambda: model.check_append(call.caller, call.path, offset),
                            commit=lambda upload: model.append(call.caller, call.path, offset, upload))
    return respond() if redirect is None else redirect


async def open_file(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.StreamResponse:
    offset, length = _count(call, "offset") or 0, _count(call, "length")
    item, count = model.open(call.caller, call.path, offset, length)
    if _redirecting(request, call):
        return _redirect(request, "read")
    response = web.StreamResponse(status=200, headers=_headers(str(uuid.uuid4())))
    response.content_type = "application/octet-stream"
    if count == 0 or item.body is None or request.method == "HEAD":
        response.content_length = 0
        await response.prepare(request)
        return response
    response.enable_chunked_encoding()  # as Gen1 sent it
    await response.prepare(request)
    for chunk in model.bodies.read(item.body, offset, count):
        await response.write(chunk)
    await response.write_eof()
    return response


# -- reading -------------------------------------------------------------------------------------------
async def list_status(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    size = _count(call, "listsize", minimum=1)
    entries, more = model.list_status(call.caller, call.path, size, call.params.get("listafter") or None)
    statuses: dict[str, Any] = {}
    if call.api_version and call.api_version >= CONTINUATION_SINCE:
        statuses["continuationToken"] = entries[-1][0] if more and entries else ""
    statuses["FileStatus"] = [item.status(suffix) for suffix, item in entries]
    return respond({"FileStatuses": statuses})


async def get_file_status(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    return respond({"FileStatus": model.status(call.caller, call.path).status("")})


async def get_content_summary(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    return respond({"ContentSummary": model.content_summary(call.caller, call.path)})


def _acl_status(model: DataLakeGen1, call: WebHdfsCall, op: str, entries_of: Any) -> web.Response:
    item = model.status(call.caller, call.path, op)
    return respond({"AclStatus": {"entries": [str(e) for e in entries_of(item.acl)], "group": item.group,
                                  "owner": item.owner, "permission": item.permission, "stickyBit": item.sticky}})


async def get_acl_status(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    return _acl_status(model, call, "GETACLSTATUS", acls.hadoop_entries)


async def ms_get_acl_status(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    return _acl_status(model, call, "MSGETACLSTATUS", list)


async def check_access(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    action = _required(call, "fsaction")
    if not re.fullmatch(r"[r-][w-][x-]", action):
        raise errors.invalid_parameter("fsaction", action, "Expected three symbols such as r-x")
    model.check_access(call.caller, call.path, acls.parse_perm(action))
    return respond()


# -- changing ------------------------------------------------------------------------------------------
async def mkdirs(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    mode = _mode(call)
    return respond({"boolean": model.mkdirs(call.caller, call.path, DEFAULT_MODE if mode is None else mode)})


async def delete(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    return respond({"boolean": model.delete(call.caller, call.path, _boolean(call, "recursive", False))})


async def rename(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    # The SDK sends the destination without its leading '/': it is still from the root.
    destination = normalize_path(_required(call, "destination"), "destination")
    return respond({"boolean": model.rename(call.caller, call.path, destination)})


async def set_acl(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    spec = _acl_spec(call)
    model.change_acl(call.caller, call.path, call.op, lambda existing: acls.set_acl(existing, spec))
    return respond()


async def modify_acl_entries(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    spec = _acl_spec(call)
    model.change_acl(call.caller, call.path, call.op, lambda existing: acls.modify_acl(existing, spec))
    return respond()


async def remove_acl_entries(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    spec = _acl_spec(call, with_permissions=False)
    model.change_acl(call.caller, call.path, call.op, lambda existing: acls.remove_acl_entries(existing, spec))
    return respond()


async def remove_acl(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    model.change_acl(call.caller, call.path, call.op, acls.remove_extended_acl)
    return respond()


async def remove_default_acl(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    model.change_acl(call.caller, call.path, call.op, acls.remove_default_acl)
    return respond()


async def set_permission(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    mode = _mode(call)
    if mode is not None:  # "If empty, this property remains unchanged" (filesystem.json)
        model.set_permission(call.caller, call.path, mode)
    return respond()


async def set_owner(request: web.Request, model: DataLakeGen1, call: WebHdfsCall) -> web.Response:
    owner, group = call.params.get("owner") or None, call.params.get("group") or None
    if owner is None and group is None:
        raise errors.illegal_argument("Both owner and group are empty.")
    model.set_owner(call.caller, call.path, owner, group)
    return respond()
