"""Thin Data Lake Gen2 handlers: pick the operation, authorize it, call the model, answer in Gen2's shapes.

``dispatch_<level>`` is what the routes call. A request of the **Blob** REST API (``restype``/``comp`` in
the query, or a Put Blob) goes to the blob endpoint's own dispatcher: azure-storage-file-datalake sends
part of its calls through a BlobClient built from the same account URL (it only swaps ``.dfs.`` for
``.blob.`` in the host name, which an IP address does not have), so on a path-style emulator both APIs
reach this listener, and both must land. Everything else is Data Lake Gen2: the operation comes from
the verb and ``resource``/``action`` (routes.OPERATIONS); x-ms-version is required (2018-03-28 or later);
authorization is the storage account's (storage/access.py: SAS → Bearer with RBAC, then the path's ACLs →
SharedKey); names are checked and paths normalized; then the handler runs with a :class:`Call`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from emulator.core import posix_acl as acls
from emulator.core.http import declared_length
from emulator.core.posix_acl import AclError
from emulator.core.versions import is_supported
from emulator.services.blob import errors as blob_errors
from emulator.services.blob import handlers as blob_handlers
from emulator.services.blob import render as blob_render
from emulator.services.blob import routes as blob_routes
from emulator.services.storage import bodies, errors, namespace, wire
from emulator.services.storage.access import Caller, Incoming, authorize
from emulator.services.storage.errors import StorageError
from emulator.services.storage.models import check_blob_name, check_container_name, check_metadata
from emulator.services.storage.rows import Account, Blob, Conditions, http_date

from .errors import CATALOGUE, JSON_TYPE, SERVER, not_emulated
from .models import AccessChange, DataLake, NewPath, RecursiveResult
from .routes import MANAGE_OWNERSHIP, MAX_ACL_RECORDS, MAX_LIST_RESULTS, NOT_EMULATED, OPERATIONS, RENAME, Operation

MODEL = web.AppKey("datalake_model", DataLake)
FIRST_VERSION = "2018-03-28"  # the first x-ms-version of the Data Lake Gen2 REST API
_OCTAL_MODE = re.compile(r"^[01]?[0-7]{3}$")
_SYMBOLIC_MODE = re.compile(r"^[r-][w-][x-][r-][w-][x-][r-][w-][xtT-]\+?$")
_UMASK = re.compile(r"^0?[0-7]{3}$")
_GET_BLOB = next(op for op in blob_routes.OPERATIONS if op.name == "Get Blob")
_CONTENT = {"content_type": "x-ms-content-type", "content_encoding": "x-ms-content-encoding",
            "content_language": "x-ms-content-language", "content_disposition": "x-ms-content-disposition",
            "cache_control": "x-ms-cache-control", "content_md5": "x-ms-content-md5"}
_NOT_EMULATED_HEADERS = {"x-ms-expiry-option": "Set Expiry", "x-ms-proposed-lease-id": "Path Lease",
                         "x-ms-lease-action": "Path Lease", "x-ms-encryption-key": "customer-provided keys",
                         "x-ms-encryption-context": "encryption context"}


@dataclass
class Call:
    """One authorized Data Lake Gen2 request, ready for its handler."""

    request: web.Request
    operation: Operation
    lake: DataLake
    account: Account
    filesystem: str | None
    path: str | None  # normalized: '' is the filesystem's root directory
    caller: Caller
    version: str
    conditions: Conditions

    @property
    def query(self) -> Any:
        return self.request.query

    @property
    def headers(self) -> Any:
        return self.request.headers


# -- dispatch ---------------------------------------------------------------------------------------------
def _blob_api(request: web.Request, level: str) -> bool:
    """Is this a Blob REST API request (the SDK's BlobClient calls, or anybody's)?"""
    query = request.query
    if "restype" in query or "comp" in query:
        return True
    return (level == "path" and request.method == "PUT" and "x-ms-blob-type" in request.headers
            and "resource" not in query and "x-ms-rename-source" not in request.headers)


async def _as_blob(request: web.Request, dispatch: Any, *path: str) -> web.StreamResponse:
    """A Blob REST request: the blob endpoint's handler, and its XML errors (as the blob host would answer)."""
    try:
        return await dispatch(request, *path)
    except StorageError as exc:
        return blob_errors.render(request, exc)


async def dispatch_account(request: web.Request, account: str) -> web.StreamResponse:
    if _blob_api(request, "account"):
        return await _as_blob(request, blob_handlers.dispatch_service, account)
    return await _dispatch(request, "account", account)


async def dispatch_filesystem(request: web.Request, account: str, filesystem: str) -> web.StreamResponse:
    if _blob_api(request, "filesystem"):
        return await _as_blob(request, blob_handlers.dispatch_container, account, filesystem)
    if "resource" not in request.query and request.method in ("HEAD", "PATCH"):
        return await _dispatch(request, "path", account, filesystem, "")  # /<fs>/?action=…: the root directory
    return await _dispatch(request, "filesystem", account, filesystem)


async def dispatch_path(request: web.Request, account: str, filesystem: str, path: str) -> web.StreamResponse:
    if _blob_api(request, "path"):
        return await _as_blob(request, blob_handlers.dispatch_blob, account, filesystem, path)
    return await _dispatch(request, "path", account, filesystem, path)


def _operation(request: web.Request, level: str) -> Operation:
    method, query = request.method, request.query
    if level == "path" and method == "POST":
        raise not_emulated("Path Lease")
    parameter = "action" if level == "path" and method in ("PATCH", "HEAD") else "resource"
    key = query.get(parameter)
    if level == "path" and method == "PUT" and key is None and "x-ms-rename-source" in request.headers:
        key = RENAME
    if level == "path" and method in ("GET", "DELETE"):
        key = None
    for operation in OPERATIONS:
        if (operation.level, operation.method, operation.key) == (level, method, key):
            return operation
    if key is not None and key.lower() in NOT_EMULATED:
        raise not_emulated(NOT_EMULATED[key.lower()])
    if key is None:
        raise errors.missing_required_query_parameter(parameter)
    raise errors.invalid_query_parameter(parameter, key)


def _version(request: web.Request) -> str:
    version = request.headers.get("x-ms-version")
    if version is None:
        raise errors.missing_required_header("x-ms-version")
    if not is_supported(version, ()):
        raise errors.invalid_header_value("x-ms-version", version, "A version such as 2026-10-06 is expected.")
    if not is_supported(version, (FIRST_VERSION,)):
        raise errors.unsupported_rest_version(version)
    return version


async def _dispatch(request: web.Request, level: str, account_name: str, filesystem: str | None = None,
                    path: str | None = None) -> web.StreamResponse:
    lake = request.app[MODEL]
    account = lake.storage.account(account_name)  # an unknown account first: 404, whatever was asked of it
    operation = _operation(request, level)
    version = _version(request)
    for header, what in _NOT_EMULATED_HEADERS.items():
        if header in request.headers:
            raise not_emulated(what)
    wire.checked_raw_path(request)
    need = operation.need
    if operation.name == "Set Access Control" and not ({"x-ms-acl", "x-ms-permissions"} & set(request.headers)):
        need = replace(need, action=MANAGE_OWNERSHIP, sas="o")  # only the owner or group changes
    caller = authorize(lake.storage.context, _incoming(request, version, account, filesystem, path), need)
    if filesystem is not None:
        check_container_name(filesystem)
    if path is not None:
        if path.strip("/"):
            check_blob_name(path)
        path = namespace.normalize(path)
    if (level == "path" or operation.name == "List Paths") and not account.hierarchical_namespace:
        raise not_emulated(f"{operation.name} on an account without a hierarchical namespace")
    conditions = _conditions(request, "")
    conditions.create_only = caller.create_only
    handler = globals()[operation.handler]
    return await handler(Call(request, operation, lake, account, filesystem, path, caller, version, conditions))


def _incoming(request: web.Request, version: str, account: Account, filesystem: str | None,
              path: str | None) -> Incoming:
    return Incoming(method=request.method, raw_path=request.raw_path.split("?", 1)[0],
                    query=wire.first_values(request), query_items=list(request.query.items()), headers=request.headers,
                    header_items=list(request.headers.items()), secure=request.secure, remote=request.remote or "",
                    version=version, account=account, container=filesystem, blob=path or None, service="dfs")


def _conditions(request: web.Request, prefix: str) -> Conditions:
    """If-* headers (``prefix`` "x-ms-source-" for a rename's source), named in errors as Data Lake spells them."""
    return wire.conditions(request, (prefix + "if-match", prefix + "if-none-match", prefix + "if-modified-since",
                                     prefix + "if-unmodified-since"))


# -- answers ----------------------------------------------------------------------------------------------
def _headers(call: Call, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": call.version, "Server": SERVER}
    if "x-ms-client-request-id" in call.headers:
        headers["x-ms-client-request-id"] = call.headers["x-ms-client-request-id"]
    headers.update(extra or {})
    return headers


def _respond(call: Call, status: int, extra: dict[str, str] | None = None, body: Any = None) -> web.Response:
    headers = _headers(call, extra)
    if body is None:
        return web.Response(status=status, headers=headers)
    headers["Content-Type"] = JSON_TYPE
    return web.Response(status=status, headers=headers, body=json.dumps(body, separators=(",", ":")).encode())


def _stamp(blob: Blob) -> dict[str, str]:
    return {"ETag": blob_render.etag_header(blob.etag), "Last-Modified": http_date(blob.last_modified)}


def _namespace_enabled(call: Call) -> dict[str, str]:
    return {"x-ms-namespace-enabled": "true" if call.account.hierarchical_namespace else "false"}


def _filetime(moment: float) -> str:
    """Windows FILETIME (100 ns since 1601-01-01), how List Paths writes ``creationTime``."""
    return str(int(moment * 10_000_000) + 116_444_736_000_000_000)


# -- header values ----------------------------------------------------------------------------------------
def _properties(call: Call) -> dict[str, str] | None:
    """x-ms-properties ``n1=<base64>,n2=<base64>`` as metadata; None when the header is absent."""
    text = call.headers.get("x-ms-properties")
    if text is None:
        return None
    found: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise errors.invalid_header_value("x-ms-properties", text, "Expected n1=<base64>,n2=<base64>.")
        try:
            found[name.strip()] = base64.b64decode(value.strip(), validate=True).decode("ascii")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise errors.invalid_header_value("x-ms-properties", text, "Each value is base64 of ASCII text.") \
                from None
    try:
        return check_metadata(found)
    except errors.StorageError as exc:
        if exc.code == "InvalidMetadata":
            raise errors.invalid_property_name() from None
        raise


def _shown_properties(metadata: dict[str, str]) -> str:
    shown = {k: v for k, v in metadata.items() if k not in namespace.FOLDER_METADATA}
    return ",".join(f"{k}={base64.b64encode(v.encode()).decode()}" for k, v in shown.items())


def _content(call: Call) -> dict[str, str] | None:
    """x-ms-content-* and x-ms-cache-control as the file's properties; None when none is sent."""
    if not any(header in call.headers for header in _CONTENT.values()):
        return None
    return {name: call.headers.get(header, "") for name, header in _CONTENT.items()}


def _mode(text: str) -> tuple[int, bool]:
    """x-ms-permissions: ``rwxr-x---`` (``t``/``T`` for the sticky bit) or 4-digit octal ``0750``/``1777``."""
    if _OCTAL_MODE.match(text):
        value = int(text, 8)
        return value & 0o777, bool(value & 0o1000)
    if _SYMBOLIC_MODE.match(text):
        bits = text.rstrip("+")
        mode = 0
        for index, char in enumerate(bits):
            if char in "rwxt":
                mode |= 1 << (8 - index)
        return mode, bits[8] in "tT"
    raise errors.invalid_header_value("x-ms-permissions", text,
                                      "Symbolic (rwxr-x---) or 4-digit octal (0750) permissions are expected.")


def _umask(text: str | None) -> int | None:
    if text is None:
        return None
    if not _UMASK.match(text):
        raise errors.invalid_header_value("x-ms-umask", text, "A 4-digit octal umask such as 0027 is expected.")
    return int(text, 8)


def _acl(text: str, *, with_permissions: bool = True) -> list[acls.AclEntry]:
    try:
        return acls.parse_spec(text, with_permissions=with_permissions)
    except AclError as exc:
        raise errors.invalid_access_control_list(str(exc)) from None


def _flag(call: Call, name: str) -> bool:
    value = call.query.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise errors.invalid_query_parameter(name, value, "true or false is expected")
    return value.lower() == "true"


def _number(call: Call, name: str, *, required: bool = False, minimum: int = 0,
            maximum: int | None = None) -> int | None:
    value = call.query.get(name)
    if value is None:
        if required:
            raise errors.missing_required_query_parameter(name)
        return None
    if not value.isdigit() or len(value) > 19:
        raise errors.invalid_query_parameter(name, value)
    number = int(value)
    if number < minimum:
        raise errors.out_of_range_query_parameter(name, value, minimum, maximum or 2**63 - 1)
    return min(number, maximum) if maximum is not None else number


def _may_change_owner(call: Call) -> bool:
    """A super-user for ownership: Shared Key, a SAS with ``o``, or RBAC's manageOwnership data action."""
    caller = call.caller
    if caller.kind == "sharedkey":
        return True
    if caller.kind in ("sas", "delegation"):
        return "o" in call.query.get("sp", "")
    assert caller.object_id is not None
    scope = call.account.container_scope(call.filesystem) if call.filesystem else call.account.resource_id
    return call.lake.storage.context.rbac.is_allowed(caller.object_id, MANAGE_OWNERSHIP, scope, data=True)


# -- filesystems ------------------------------------------------------------------------------------------
async def list_filesystems(call: Call) -> web.Response:
    limit = _number(call, "maxResults", minimum=1, maximum=MAX_LIST_RESULTS) or MAX_LIST_RESULTS
    found, next_marker = call.lake.storage.list_containers(call.account.name, call.query.get("prefix", ""),
                                                           call.query.get("continuation") or None, limit)
    listed = [{"etag": c.etag, "lastModified": http_date(c.last_modified), "name": c.name} for c in found]
    return _respond(call, 200, {"x-ms-continuation": next_marker} if next_marker else None, {"filesystems": listed})


async def create_filesystem(call: Call) -> web.Response:
    assert call.filesystem is not None
    created = call.lake.storage.create_container(call.account.name, call.filesystem, _properties(call) or {},
                                                 owner=call.caller.actor.owner)
    return _respond(call, 201, {"ETag": blob_render.etag_header(created.etag),
                                "Last-Modified": http_date(created.last_modified), **_namespace_enabled(call)})


async def filesystem_properties(call: Call) -> web.Response:
    assert call.filesystem is not None
    found = call.lake.storage.container(call.account.name, call.filesystem)
    extra = {"ETag": blob_render.etag_header(found.etag), "Last-Modified": http_date(found.last_modified),
             **_namespace_enabled(call)}
    if found.metadata:
        extra["x-ms-properties"] = _shown_properties(found.metadata)
    return _respond(call, 200, extra)


async def set_filesystem_properties(call: Call) -> web.Response:
    assert call.filesystem is not None
    changed = call.lake.storage.set_container_metadata(call.account.name, call.filesystem, _properties(call) or {},
                                                       call.conditions)
    return _respond(call, 200, {"ETag": blob_render.etag_header(changed.etag),
                                "Last-Modified": http_date(changed.last_modified)})


async def delete_filesystem(call: Call) -> web.Response:
    assert call.filesystem is not None
    call.lake.storage.delete_container(call.account.name, call.filesystem, call.conditions)
    return _respond(call, 202)


async def list_paths(call: Call) -> web.Response:
    assert call.filesystem is not None
    recursive = call.query.get("recursive")
    if recursive is None:
        raise errors.missing_required_query_parameter("recursive")
    limit = _number(call, "maxResults", minimum=1, maximum=MAX_LIST_RESULTS) or MAX_LIST_RESULTS
    directory = namespace.normalize(call.query.get("directory", ""))
    if directory:
        check_blob_name(directory)
    found, continuation = call.lake.list_paths(call.account.name, call.filesystem, directory, _flag(call, "recursive"),
                                               call.query.get("continuation") or None, limit, call.caller.actor)
    paths = []
    for blob, entry in found:
        item = {"contentLength": str(blob.size), "creationTime": _filetime(blob.created), "etag": blob.etag,
                "expiryTime": "0", "group": entry.group}
        if entry.is_directory:
            item["isDirectory"] = "true"
        item.update({"lastModified": http_date(blob.last_modified), "name": blob.name, "owner": entry.owner,
                     "permissions": entry.permissions})
        paths.append(item)
    return _respond(call, 200, {"x-ms-continuation": continuation} if continuation else None, {"paths": paths})


# -- paths: create, rename, delete ------------------------------------------------------------------------
async def create_path(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    if (declared_length(call.request) or 0) > 0:
        raise errors.content_length_must_be_zero()
    mode, sticky = _mode(call.headers["x-ms-permissions"]) if "x-ms-permissions" in call.headers else (None, False)
    acl = _acl(call.headers["x-ms-acl"]) if "x-ms-acl" in call.headers else None
    owner, group = call.headers.get("x-ms-owner"), call.headers.get("x-ms-group")
    request = NewPath(directory=call.operation.key == "directory", mode=mode, sticky=sticky,
                      umask=_umask(call.headers.get("x-ms-umask")), acl=acl, owner=owner, group=group,
                      may_change_owner=bool(owner or group) and _may_change_owner(call),
                      metadata=_properties(call) or {}, properties=_content(call) or {})
    blob = call.lake.create(call.account.name, call.filesystem, call.path, call.caller.actor, request,
                            call.conditions)
    extra = {**_stamp(blob), "Content-Length": "0"}
    if not request.directory:
        extra["x-ms-request-server-encrypted"] = "true"
    return _respond(call, 201, extra)


def _rename_source(call: Call) -> tuple[str, str]:
    """x-ms-rename-source ``/<filesystem>/<path>[?<sas>]``, percent-encoded → (filesystem, normalized path)."""
    text = call.headers["x-ms-rename-source"].split("?", 1)[0]
    try:
        decoded = unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise errors.invalid_source_uri("not UTF-8 once decoded") from None
    filesystem, _, path = decoded.lstrip("/").partition("/") if decoded.startswith("/") else ("", "", "")
    if not filesystem or not path.strip("/"):
        raise errors.invalid_source_uri("expected /<filesystem>/<path>")
    try:
        check_container_name(filesystem)
        check_blob_name(path)
        return filesystem, namespace.normalize(path)
    except errors.StorageError:
        raise errors.invalid_source_uri("the filesystem or path name is not valid") from None


async def rename_path(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    source_fs, source = _rename_source(call)
    mode = call.query.get("mode", "posix")
    if mode not in ("legacy", "posix"):
        raise errors.invalid_query_parameter("mode", mode, "legacy or posix is expected")
    if source_fs != call.filesystem:  # the move needs the role (or ACL) at the source's scope too
        incoming = _incoming(call.request, call.version, call.account, source_fs, source)
        authorize(call.lake.storage.context, incoming, call.operation.need)
    blob = call.lake.rename(call.account.name, source_fs, source, call.filesystem, call.path, call.caller.actor,
                            posix=mode == "posix", conditions=call.conditions,
                            source_conditions=_conditions(call.request, "x-ms-source-"))
    return _respond(call, 201, {**_stamp(blob), "Content-Length": "0"})


async def delete_path(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    call.lake.delete(call.account.name, call.filesystem, call.path, call.caller.actor,
                     recursive=_flag(call, "recursive"), conditions=call.conditions)
    return _respond(call, 200)


# -- paths: append, flush, properties ---------------------------------------------------------------------
async def append_data(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    position = _number(call, "position", required=True)
    assert position is not None
    flush = _flag(call, "flush")
    sent_md5 = call.headers.get("Content-MD5")
    expected = wire.md5_digest(sent_md5) if sent_md5 else None
    lake, account, actor = call.lake, call.account.name, call.caller.actor
    lake.check_append(account, call.filesystem, call.path, actor)  # before reading a byte of the body
    body_id, size, md5 = await bodies.receive(call.request, lake.bodies, call.operation.max_body, CATALOGUE, expected)
    if size:
        lake.append(account, call.filesystem, call.path, actor, position, body_id, size)
    else:
        lake.bodies.delete([body_id])
    extra = {"Content-MD5": base64.b64encode(md5).decode(), "x-ms-request-server-encrypted": "true"}
    if flush:
        blob = lake.flush(account, call.filesystem, call.path, actor, position + size, retain=False,
                          properties=_content(call), conditions=call.conditions)
        extra.update(_stamp(blob))
    return _respond(call, 202, extra)


async def flush_data(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    if (declared_length(call.request) or 0) > 0:
        raise errors.content_length_must_be_zero()
    position = _number(call, "position", required=True)
    assert position is not None
    blob = call.lake.flush(call.account.name, call.filesystem, call.path, call.caller.actor, position,
                           retain=_flag(call, "retainUncommittedData"), properties=_content(call),
                           conditions=call.conditions)
    _flag(call, "close")  # accepted (change notifications are not emulated), but still checked
    return _respond(call, 200, {**_stamp(blob), "Content-Length": "0", "x-ms-request-server-encrypted": "true"})


async def set_path_properties(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    blob = call.lake.set_properties(call.account.name, call.filesystem, call.path, call.caller.actor,
                                    _properties(call) or {}, _content(call), call.conditions)
    return _respond(call, 200, _stamp(blob))


# -- paths: access control --------------------------------------------------------------------------------
async def set_access_control(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    headers = call.headers
    if "x-ms-acl" in headers and "x-ms-permissions" in headers:
        raise errors.invalid_header_value("x-ms-permissions", headers["x-ms-permissions"],
                                          "x-ms-permissions and x-ms-acl are mutually exclusive.")
    if not any(h in headers for h in ("x-ms-acl", "x-ms-permissions", "x-ms-owner", "x-ms-group")):
        raise errors.missing_required_header("x-ms-acl")
    mode, sticky = _mode(headers["x-ms-permissions"]) if "x-ms-permissions" in headers else (None, None)
    owner, group = headers.get("x-ms-owner"), headers.get("x-ms-group")
    change = AccessChange(acl=_acl(headers["x-ms-acl"]) if "x-ms-acl" in headers else None, mode=mode,
                          sticky=sticky, owner=owner, group=group,
                          may_change_owner=bool(owner or group) and _may_change_owner(call))
    blob = call.lake.set_access_control(call.account.name, call.filesystem, call.path, call.caller.actor, change,
                                        call.conditions)
    return _respond(call, 200, {**_stamp(blob), **_namespace_enabled(call)})


async def set_access_control_recursive(call: Call) -> web.Response:
    assert call.filesystem is not None and call.path is not None
    mode = call.query.get("mode")
    if mode is None:
        raise errors.missing_required_query_parameter("mode")
    if mode not in ("set", "modify", "remove"):
        raise errors.invalid_query_parameter("mode", mode, "set, modify or remove is expected")
    if "x-ms-acl" not in call.headers:
        raise errors.missing_required_header("x-ms-acl")
    spec = _acl(call.headers["x-ms-acl"], with_permissions=mode != "remove")
    if mode == "set" and not {("user", ""), ("group", ""), ("other", "")} <= {(e.kind, e.name) for e in spec
                                                                              if not e.default}:
        raise errors.invalid_access_control_list("mode=set replaces the ACL: user::, group:: and other:: are needed")
    records = _number(call, "maxRecords", minimum=1, maximum=MAX_ACL_RECORDS) or MAX_ACL_RECORDS
    result: RecursiveResult = call.lake.set_access_control_recursive(
        call.account.name, call.filesystem, call.path, call.caller.actor, mode, spec,
        call.query.get("continuation") or None, records, _flag(call, "forceFlag"))
    extra = _namespace_enabled(call)
    if result.continuation:
        extra["x-ms-continuation"] = result.continuation
    return _respond(call, 200, extra, result.body())


# -- paths: reads -----------------------------------------------------------------------------------------
async def read_path(call: Call) -> web.StreamResponse:
    """Read: the same bytes, ranges and conditions as Get Blob (blob handlers send them), Gen2's errors."""
    blob_call = blob_handlers.Call(call.request, _GET_BLOB, call.lake.storage, call.account, call.filesystem,
                                   call.path, call.caller, call.version, call.conditions)
    return await blob_handlers.get_blob(blob_call)


async def path_properties(call: Call) -> web.StreamResponse:
    """Get Properties, Get Status (no user properties) and Get Access Control (owner, group, ACL)."""
    assert call.filesystem is not None and call.path is not None
    blob, entry = call.lake.entry(call.account.name, call.filesystem, call.path, call.caller.actor)
    _flag(call, "upn")  # object ids stay object ids: a managed identity or app has no user principal name
    stamp = _stamp(blob)
    if call.conditions.check_read(blob.etag, blob.last_modified):
        return _respond(call, 304, stamp)
    if call.operation.key == "getAccessControl":
        return _respond(call, 200, {**stamp, **entry.headers()})
    headers = blob_render.blob_headers(blob)
    headers.pop("x-ms-acl", None)  # only Get Access Control shows the ACL
    if call.operation.key is None and blob.metadata:
        shown = _shown_properties(blob.metadata)
        if shown:
            headers["x-ms-properties"] = shown
    if call.operation.key == "getStatus":
        headers = {k: v for k, v in headers.items() if not k.startswith("x-ms-meta-")}
    response = web.StreamResponse(status=200, headers=_headers(call, headers))
    response.content_length = blob.size
    await response.prepare(call.request)
    await response.write_eof()
    return response
