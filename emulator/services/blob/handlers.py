"""Thin blob handlers: pick the operation, authorize it, call the storage model, render the answer.

``dispatch_<level>`` is what the routes call. It finds the operation (routes.OPERATIONS) from verb,
``restype`` and ``comp``; checks x-ms-version (any well-formed version, as the SDKs send newer ones
than anyone can list); authorizes (storage/access.py: SAS → Bearer → SharedKey → anonymous); checks
names; then calls the operation's handler with a :class:`Call`. Bodies stream: uploads go chunk by
chunk to a temporary file (storage/bodies.py; one of 64 KiB at most becomes a row in the store once
whole), downloads are read a chunk at a time.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.core.http import declared_length, read_stream
from emulator.core.posix_acl import READ
from emulator.core.versions import release_date
from emulator.services.storage import bodies, errors, namespace, sas, wire
from emulator.services.storage.access import DEFAULT_VERSION, Caller, Incoming, authorize
from emulator.services.storage.models import MAX_LIST_RESULTS, StorageModel, check_blob_name, check_container_name
from emulator.services.storage.rows import Account, Conditions

from . import render
from .errors import CATALOGUE, SERVER
from .routes import NOT_EMULATED, OPERATIONS, Operation

MODEL = web.AppKey("storage_model", StorageModel)
MAX_DELEGATION_KEY_DAYS = 7
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_RANGE_MD5_LIMIT = 4 * 1024 * 1024
_SMALL_READ = 64 * 1024  # bodies up to this size are answered whole rather than streamed


@dataclass
class Call:
    """One authorized request, ready for its handler."""

    request: web.Request
    operation: Operation
    model: StorageModel
    account: Account
    container: str | None
    blob: str | None
    caller: Caller
    version: str
    conditions: Conditions

    @property
    def query(self) -> Any:
        return self.request.query


# -- dispatch ------------------------------------------------------------------------------------------
async def dispatch_service(request: web.Request, account: str) -> web.StreamResponse:
    return await _dispatch(request, "service", account)


async def dispatch_container(request: web.Request, account: str, container: str) -> web.StreamResponse:
    return await _dispatch(request, "container", account, container)


async def dispatch_blob(request: web.Request, account: str, container: str, blob: str) -> web.StreamResponse:
    return await _dispatch(request, "blob", account, container, blob)


_BY_KEY = {(op.level, op.method, op.restype, op.comp): op for op in OPERATIONS}


def _operation(request: web.Request, level: str) -> Operation:
    method = "GET" if request.method == "HEAD" else request.method
    restype, comp = request.query.get("restype"), request.query.get("comp")
    operation = _BY_KEY.get((level, method, restype, comp))
    if operation is not None:
        return operation
    if comp is not None and comp.lower() in NOT_EMULATED:
        raise errors.not_emulated(NOT_EMULATED[comp.lower()])
    if comp is not None:
        raise errors.invalid_query_parameter("comp", comp)
    if restype is not None:
        raise errors.invalid_query_parameter("restype", restype)
    raise errors.invalid_uri(request.path)


def _version(request: web.Request) -> str:
    version = request.headers.get("x-ms-version")
    if version is None:
        return DEFAULT_VERSION
    if release_date(version) != version:
        raise errors.invalid_header_value("x-ms-version", version, "A version such as 2026-10-06 is expected.")
    return version


async def _dispatch(request: web.Request, level: str, account_name: str, container: str | None = None,
                    blob: str | None = None) -> web.StreamResponse:
    model = request.app[MODEL]
    operation = _operation(request, level)
    account = model.account(account_name)
    version = _version(request)
    raw_path = wire.checked_raw_path(request)
    incoming = Incoming(
        method=request.method, raw_path=raw_path, query=wire.first_values(request),
        query_items=list(request.query.items()), headers=request.headers, header_items=list(request.headers.items()),
        secure=request.secure, remote=request.remote or "", version=version, account=account, container=container,
        blob=blob)
    caller = authorize(model.context, incoming, operation.need)
    if container is not None:
        check_container_name(container)
    if blob is not None:
        check_blob_name(blob)
        if account.hierarchical_namespace:  # a path: dot segments resolved, as on the DFS endpoint
            blob = namespace.normalize(blob)
            check_blob_name(blob)
    conditions = wire.conditions(request)
    conditions.create_only = caller.create_only
    handler = globals()[operation.handler]
    return await handler(Call(request, operation, model, account, container, blob, caller, version, conditions))


def _headers(call: Call, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": call.version, "Server": SERVER}
    if "x-ms-client-request-id" in call.request.headers:
        headers["x-ms-client-request-id"] = call.request.headers["x-ms-client-request-id"]
    headers.update(extra or {})
    return headers


def _respond(call: Call, status: int, extra: dict[str, str] | None = None, xml: bytes | None = None) -> web.Response:
    if xml is None:
        return web.Response(status=status, headers=_headers(call, extra))
    return web.Response(status=status, body=xml, headers=_headers(call, extra), content_type="application/xml",
                        charset="utf-8")


def _metadata(request: web.Request) -> dict[str, str]:
    return {name[len("x-ms-meta-"):]: value for name, value in request.headers.items()
            if name.lower().startswith("x-ms-meta-")}


def _properties(request: web.Request, *, content_type_fallback: bool) -> dict[str, str]:
    found = {name: request.headers.get(header, "") for name, header in render.SET_HEADERS.items()}
    if content_type_fallback:  # Put Blob: the request's own Content-* describe the blob when x-ms-blob-* do not
        for name, header in render.CONTENT_HEADERS.items():
            if name != "content_md5" and not found[name]:
                found[name] = request.headers.get(header, "")
    if found["content_md5"]:
        wire.md5_digest(found["content_md5"])
    return found


def _limit(call: Call) -> int:
    text = call.query.get("maxresults")
    if text is None:
        return MAX_LIST_RESULTS
    try:
        value = int(text)
    except ValueError:
        raise errors.invalid_query_parameter("maxresults", text) from None
    if not 1 <= value <= MAX_LIST_RESULTS:
        raise errors.out_of_range_query_parameter("maxresults", text, 1, MAX_LIST_RESULTS)
    return value


def _includes(call: Call) -> set[str]:
    return {part.strip().lower() for part in call.query.get("include", "").split(",") if part.strip()}


def _endpoint(call: Call) -> str:
    return f"{call.request.scheme}://{call.request.host}/{call.account.name}/"


async def _small_body(call: Call) -> bytes:
    chunks: list[bytes] = []
    await read_stream(call.request, call.operation.max_body, chunks.append, CATALOGUE)
    return b"".join(chunks)


def _parse_xml(body: bytes, root: str) -> ElementTree.Element:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise errors.invalid_xml_document("DTDs and entities are not accepted")
    try:
        element = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise errors.invalid_xml_document(str(exc)) from None
    if element.tag != root:
        raise errors.invalid_xml_document(f"the root element must be <{root}>")
    return element


# -- service -------------------------------------------------------------------------------------------
async def list_containers(call: Call) -> web.Response:
    prefix, marker, limit = call.query.get("prefix", ""), call.query.get("marker") or None, _limit(call)
    found, next_marker = call.model.list_containers(call.account.name, prefix, marker, limit)
    shown_limit = limit if "maxresults" in call.query else None
    return _respond(call, 200, xml=render.container_list(_endpoint(call), prefix, marker, shown_limit, found,
                                                         next_marker, "metadata" in _includes(call)))


async def user_delegation_key(call: Call) -> web.Response:
    """Get User Delegation Key: a key the caller can sign SAS with, good for at most seven days."""
    info = _parse_xml(await call.request.read(), "KeyInfo")
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start_text, expiry_text = info.findtext("Start"), info.findtext("Expiry")
    start = sas.parse_time(start_text) if start_text else now
    if start is None:
        raise errors.invalid_xml_node_value("Start", start_text or "")
    expiry = sas.parse_time(expiry_text or "")
    if expiry is None:
        raise errors.invalid_xml_node_value("Expiry", expiry_text or "", "An ISO 8601 UTC time is required.")
    if expiry <= now or expiry <= start or expiry - now > dt.timedelta(days=MAX_DELEGATION_KEY_DAYS, minutes=5):
        raise errors.invalid_xml_node_value("Expiry", expiry_text or "",
                                            "The expiry must be after the start and within seven days from now.")
    assert call.caller.object_id is not None
    fields = {"skoid": call.caller.object_id, "sktid": call.model.context.world.tenant_id,
              "skt": sas.format_time(start), "ske": sas.format_time(expiry), "sks": "b", "skv": call.version}
    value = sas.delegation_key(call.account.key_bytes(0), fields)
    return _respond(call, 200, xml=render.user_delegation_key(fields, value))


# -- containers ----------------------------------------------------------------------------------------
async def create_container(call: Call) -> web.Response:
    if call.request.headers.get("x-ms-blob-public-access"):
        raise errors.public_access_not_permitted()
    assert call.container is not None
    created = call.model.create_container(call.account.name, call.container, _metadata(call.request),
                                         owner=call.caller.actor.owner)
    return _respond(call, 201, {"ETag": render.etag_header(created.etag),
                                "Last-Modified": render.http_date(created.last_modified)})


async def container_properties(call: Call) -> web.Response:
    assert call.container is not None
    found = call.model.container(call.account.name, call.container)
    return _respond(call, 200, render.container_headers(found))


async def delete_container(call: Call) -> web.Response:
    assert call.container is not None
    call.model.delete_container(call.account.name, call.container, call.conditions)
    return _respond(call, 202)


async def set_container_metadata(call: Call) -> web.Response:
    assert call.container is not None
    changed = call.model.set_container_metadata(call.account.name, call.container, _metadata(call.request),
                                                call.conditions)
    return _respond(call, 200, {"ETag": render.etag_header(changed.etag),
                                "Last-Modified": render.http_date(changed.last_modified)})


async def list_blobs(call: Call) -> web.Response:
    assert call.container is not None
    prefix, delimiter = call.query.get("prefix", ""), call.query.get("delimiter", "")
    marker, limit = call.query.get("marker") or None, _limit(call)
    found, next_marker = call.model.list_blobs(call.account.name, call.container, prefix, delimiter, marker, limit,
                                               call.caller.actor)
    shown_limit = limit if "maxresults" in call.query else None
    return _respond(call, 200, xml=render.blob_list(_endpoint(call), call.container, prefix, delimiter, marker,
                                                    shown_limit, found, next_marker, "metadata" in _includes(call)))


# -- blobs: writes -------------------------------------------------------------------------------------
async def _receive(call: Call) -> tuple[str, int, bytes]:
    """Stream the body to a new file; return (body id, size, MD5). Nothing is left if this fails."""
    sent_md5 = call.request.headers.get("Content-MD5")
    # the route's limit is the largest of its operations': the operation's own is checked here
    return await bodies.receive(call.request, call.model.bodies, call.operation.max_body, CATALOGUE,
                                wire.md5_digest(sent_md5) if sent_md5 else None)


async def put_blob(call: Call) -> web.Response:
    request = call.request
    if "x-ms-copy-source" in request.headers:
        raise errors.not_emulated("Copy Blob / Put Blob From URL")
    blob_type = request.headers.get("x-ms-blob-type")
    if blob_type is None:
        raise errors.missing_required_header("x-ms-blob-type")
    if blob_type != "BlockBlob":
        raise errors.not_emulated(f"Put Blob of type {blob_type}")
    assert call.container is not None and call.blob is not None
    properties = _properties(request, content_type_fallback=True)
    metadata = _metadata(request)
    conditions = call.conditions
    if conditions.create_only or any(v is not None for v in (conditions.if_match, conditions.if_none_match,
                                                              conditions.if_modified_since,
                                                              conditions.if_unmodified_since)):
        existing = call.model.find_blob(call.account.name, call.container, call.blob)  # refuse before reading GiBs
        conditions.check_write(existing.etag if existing else None, existing.last_modified if existing else None,
                               exists=existing is not None)
    else:
        declared = declared_length(request)
        if declared is None or declared > bodies.SMALL_BODY_LIMIT:  # a small body is read first: the write checks
            call.model.container(call.account.name, call.container)  # a missing container, before reading GiBs
    call.model.check_write_access(call.account.name, call.container, call.blob, call.caller.actor)
    body_id, size, md5 = await _receive(call)
    properties["content_md5"] = properties["content_md5"] or base64.b64encode(md5).decode()
    blob = call.model.put_blob(call.account.name, call.container, call.blob, body_id, size, properties, metadata,
                               call.conditions, call.caller.actor)
    return _respond(call, 201, {"ETag": render.etag_header(blob.etag), "Last-Modified": render.http_date(
        blob.last_modified), "Content-MD5": base64.b64encode(md5).decode(), "x-ms-request-server-encrypted": "true"})


async def put_block(call: Call) -> web.Response:
    block_id = call.query.get("blockid", "")
    try:
        decoded = base64.b64decode(block_id, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not decoded or len(decoded) > 64:
        raise errors.invalid_block_id()
    assert call.container is not None and call.blob is not None
    call.model.container(call.account.name, call.container)
    call.model.check_write_access(call.account.name, call.container, call.blob, call.caller.actor)
    body_id, size, md5 = await _receive(call)
    call.model.put_block(call.account.name, call.container, call.blob, block_id, body_id, size, call.caller.actor)
    return _respond(call, 201, {"Content-MD5": base64.b64encode(md5).decode(),
                                "x-ms-request-server-encrypted": "true"})


async def put_block_list(call: Call) -> web.Response:
    listing = _parse_xml(await _small_body(call), "BlockList")
    wanted = []
    for entry in listing:
        if entry.tag not in ("Latest", "Committed", "Uncommitted") or not (entry.text or "").strip():
            raise errors.invalid_xml_document(f"unexpected element <{entry.tag}> in <BlockList>")
        wanted.append((entry.tag, (entry.text or "").strip()))
    assert call.container is not None and call.blob is not None
    blob = call.model.put_block_list(call.account.name, call.container, call.blob, wanted,
                                     _properties(call.request, content_type_fallback=False),
                                     _metadata(call.request), call.conditions, call.caller.actor)
    return _respond(call, 201, {"ETag": render.etag_header(blob.etag), "Last-Modified": render.http_date(
        blob.last_modified), "x-ms-request-server-encrypted": "true"})


async def delete_blob(call: Call) -> web.Response:
    assert call.container is not None and call.blob is not None
    call.model.delete_blob(call.account.name, call.container, call.blob, call.conditions, call.caller.actor)
    return _respond(call, 202, {"x-ms-delete-type-permanent": "true"})


async def set_blob_metadata(call: Call) -> web.Response:
    assert call.container is not None and call.blob is not None
    blob = call.model.set_blob_metadata(call.account.name, call.container, call.blob, _metadata(call.request),
                                        call.conditions, call.caller.actor)
    return _respond(call, 200, {"ETag": render.etag_header(blob.etag),
                                "Last-Modified": render.http_date(blob.last_modified)})


async def set_blob_properties(call: Call) -> web.Response:
    assert call.container is not None and call.blob is not None
    blob = call.model.set_blob_properties(call.account.name, call.container, call.blob,
                                          _properties(call.request, content_type_fallback=False), call.conditions,
                                          call.caller.actor)
    return _respond(call, 200, {"ETag": render.etag_header(blob.etag),
                                "Last-Modified": render.http_date(blob.last_modified)})


# -- blobs: reads --------------------------------------------------------------------------------------
async def blob_metadata(call: Call) -> web.Response:
    assert call.container is not None and call.blob is not None
    blob = call.model.blob(call.account.name, call.container, call.blob, call.caller.actor, wanted=0)
    return _respond(call, 200, {"ETag": render.etag_header(blob.etag),
                                "Last-Modified": render.http_date(blob.last_modified),
                                **{f"x-ms-meta-{k}": v for k, v in blob.metadata.items()}})


async def get_block_list(call: Call) -> web.Response:
    which = call.query.get("blocklisttype", "committed").lower()
    if which not in ("committed", "uncommitted", "all"):
        raise errors.invalid_query_parameter("blocklisttype", which)
    assert call.container is not None and call.blob is not None
    committed, uncommitted = call.model.block_lists(call.account.name, call.container, call.blob,
                                                     call.caller.actor)
    return _respond(call, 200, xml=render.block_list(committed, uncommitted, which))


def _range(call: Call, size: int) -> tuple[int, int] | None:
    """The requested byte range as (start, end exclusive); x-ms-range wins over Range."""
    header = "x-ms-range" if "x-ms-range" in call.request.headers else "Range"
    text = call.request.headers.get(header)
    if text is None:
        return None
    found = _RANGE.match(text.strip())
    if found is None:
        if header == "x-ms-range":
            raise errors.invalid_header_value(header, text, "A range such as bytes=0-1023 is expected.")
        return None  # an HTTP Range this service does not understand is ignored: the whole blob follows
    start = int(found.group(1))
    end = int(found.group(2)) + 1 if found.group(2) else size
    if found.group(2) and end <= start:
        raise errors.invalid_header_value(header, text)
    if start >= size:
        raise errors.invalid_range(size)
    return start, min(end, size)


async def get_blob(call: Call) -> web.StreamResponse:
    """Get Blob and Get Blob Properties (HEAD): the bytes from disk, a chunk at a time."""
    assert call.container is not None and call.blob is not None
    # Properties (HEAD) need only the way there; the bytes need r on the file (HNS accounts whose ACLs decide)
    wanted = 0 if call.request.method == "HEAD" else READ
    blob = call.model.blob(call.account.name, call.container, call.blob, call.caller.actor, wanted)
    headers = render.blob_headers(blob)
    if call.conditions.check_read(blob.etag, blob.last_modified):
        return _respond(call, 304, {"ETag": headers["ETag"], "Last-Modified": headers["Last-Modified"]})
    if call.request.method == "HEAD":
        response = web.StreamResponse(status=200, headers=_headers(call, headers))
        response.content_length = blob.size
        await response.prepare(call.request)
        await response.write_eof()
        return response
    wanted = _range(call, blob.size)
    start, end = wanted if wanted is not None else (0, blob.size)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{blob.size}"
        stored_md5 = headers.pop("Content-MD5", None)
        if stored_md5:
            headers["x-ms-blob-content-md5"] = stored_md5
        if call.request.headers.get("x-ms-range-get-content-md5", "").lower() == "true":
            if end - start > _RANGE_MD5_LIMIT:
                raise errors.StorageError(400, "OutOfRangeInput", "One of the request inputs is out of range. "
                                          "(x-ms-range-get-content-md5 needs a range of at most 4 MiB.)")
            headers["Content-MD5"] = _range_md5(call, blob.segments, start, end)
    reader = call.model.bodies.open_range(blob.segments, start, end)
    if end - start <= _SMALL_READ:  # one read, one write: headers and body leave in one TLS record
        try:
            body = b"".join(reader)
        finally:
            reader.close()
        return web.Response(status=status, body=body, headers=_headers(call, headers))
    try:
        response = web.StreamResponse(status=status, headers=_headers(call, headers))
        response.content_length = end - start
        await response.prepare(call.request)
        for chunk in reader:
            await response.write(chunk)
        await response.write_eof()
    finally:
        reader.close()
    return response


def _range_md5(call: Call, segments: list[tuple[str, int]], start: int, end: int) -> str:
    digest = hashlib.md5()  # noqa: S324 - Content-MD5, as Azure computes it
    reader = call.model.bodies.open_range(segments, start, end)
    try:
        for chunk in reader:
            digest.update(chunk)
    finally:
        reader.close()
    return base64.b64encode(digest.digest()).decode()
