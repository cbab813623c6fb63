"""Thin handlers: validate the request in the order IMDS does, then ask the model."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from . import errors
from .models import ImdsModel

SERVER_HEADER = "IMDS/150.870.65.1854"
MODEL = web.AppKey("imds_model", ImdsModel)


def respond(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(body, str):
        return web.Response(text=body, status=status, content_type="text/plain",
                            headers={"Server": SERVER_HEADER, **(headers or {})})
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status,
        headers={"Content-Type": "application/json; charset=utf-8", "Server": SERVER_HEADER,
                 **(headers or {})},
    )


def render_error(_request: web.Request, exc: errors.ImdsWireError) -> web.Response:
    return respond(exc.body, exc.status, exc.headers)


def _common_checks(request: web.Request) -> None:
    """The SSRF guards and the Metadata header, before anything else."""
    if "X-Forwarded-For" in request.headers:
        raise errors.forwarded_request()
    if request.headers.get("Metadata", "").lower() != "true":
        raise errors.metadata_header_missing()
    for name in set(request.query.keys()):
        if len(request.query.getall(name)) > 1:
            raise errors.duplicate_parameter(name)


async def token(request: web.Request) -> web.Response:
    _common_checks(request)
    model = request.app[MODEL]
    fault = model.context.faults.take("imds")
    if fault is not None:
        raise errors.injected(fault.status, fault.retry_after)
    query = request.query
    if query.get("api-version") not in errors.API_VERSIONS_IDENTITY:
        raise errors.bad_api_version_identity()
    resource = query.get("resource", "").strip()
    if not resource:
        raise errors.resource_missing()
    if not model.throttle.enter():
        raise errors.throttled()
    try:
        selectors = {name: query.get(name) or None for name in ("client_id", "object_id", "msi_res_id")}
        selectors["msi_res_id"] = selectors["msi_res_id"] or query.get("mi_res_id") or None
        if sum(value is not None for value in selectors.values()) > 1:
            raise errors.several_selectors()
        principal = model.select(**selectors)
        if not model.is_known_resource(resource):
            raise errors.unknown_resource(resource, model.context.world.tenant_id)
        issued = model.cached_token(principal, resource)
        if issued is None:  # signing takes a while: off the event loop, still counted as in flight
            issued = await asyncio.get_running_loop().run_in_executor(
                model.signers, model.new_token, principal, resource)
    finally:
        model.throttle.leave()
    return respond({
        "access_token": issued.access_token,
        "refresh_token": "",
        "expires_in": str(max(0, issued.expires_on - int(time.time()))),
        "expires_on": str(issued.expires_on),
        "ext_expires_in": str(issued.expires_on - issued.issued_at),
        "not_before": str(issued.not_before),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": principal.client_id,
    })


async def instance(request: web.Request, path: str = "") -> web.Response:
    _common_checks(request)
    model = request.app[MODEL]
    fault = model.context.faults.take("imds")
    if fault is not None:
        raise errors.injected(fault.status, fault.retry_after)
    if request.query.get("api-version") not in errors.API_VERSIONS_INSTANCE:
        raise errors.bad_api_version_instance()
    wanted_format = request.query.get("format", "json")
    if wanted_format not in ("json", "text"):
        raise errors.bad_format()
    node: object = model.instance_document()
    for segment in [s for s in path.split("/") if s]:
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and _is_index(segment, len(node)):
            node = node[int(segment)]
        else:
            raise errors.not_found()
    if wanted_format == "text":
        if isinstance(node, (dict, list)):
            raise errors.bad_format()
        return respond(str(node))
    return respond(node)


def _is_index(segment: str, length: int) -> bool:
    """An ASCII decimal index into a list of ``length``; the length check first, so that a segment of
    thousands of digits never reaches ``int()`` (which refuses more than 4300 digits)."""
    return segment.isascii() and segment.isdecimal() and len(segment) <= len(str(length)) and int(segment) < length


async def versions(request: web.Request) -> web.Response:
    _common_checks(request)
    return respond({"apiVersions": list(errors.API_VERSIONS_INSTANCE)})
