"""Thin Resource Manager handlers; ``before`` authenticates, checks api-version and RBAC."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from emulator.core.auth import authenticate
from emulator.core.http import Match, Route, loads_json
from emulator.core.tokens import TokenRejected
from emulator.core.versions import is_supported
from emulator.core.world import mirid

from . import errors
from .models import ArmModel
from .routes import ANONYMOUS, METADATA_LEGACY_VERSION, PARTLY_VISIBLE, READ_RESOURCE_GROUP, SIGNED_IN, merge_slashes

MODEL = web.AppKey("arm_model", ArmModel)
CLAIMS = web.RequestKey("claims", dict)  # the verified caller, set by before()
PARTIAL = web.RequestKey("partial", bool)  # set by before(): the caller may see only some of what is listed
_NEWER_RESOURCE_GROUP_SHAPE = "2018-05-01"  # versions from here on add "type" and "tags"


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    request_id = str(uuid.uuid4())
    return web.json_response(body, status=status, headers={
        "x-ms-request-id": request_id, "x-ms-correlation-request-id": request_id, **(headers or {})})


def render_error(_request: web.Request, exc: errors.ArmError) -> web.Response:
    return respond({"error": {"code": exc.code, "message": exc.message}}, exc.status, exc.headers)


def _token_error(exc: TokenRejected, tenant: str) -> errors.ArmError:
    if exc.reason == "missing_header":
        return errors.authentication_missing()
    if exc.reason == "bad_scheme":
        return errors.authentication_bad_format()
    if exc.reason == "expired":
        return errors.expired_token(int(exc.claims.get("exp", 0)))
    if exc.reason == "not_yet_valid":
        return errors.token_not_yet_valid(int(exc.claims.get("nbf", 0)))
    if exc.reason == "audience":
        return errors.wrong_audience(str(exc.claims.get("aud")))
    if exc.reason == "issuer":
        return errors.wrong_issuer(str(exc.claims.get("iss")), tenant)
    return errors.invalid_token()


async def before(request: web.Request, match: Match) -> None:
    """Authentication → api-version → subscription → RBAC, in the order ARM applies them."""
    model = request.app[MODEL]
    world = model.world
    route = match.route
    handler = route.handler
    if handler in ANONYMOUS:
        _check_api_version(request, route)
        return
    try:
        claims = authenticate(model.context.verifier, request.headers, errors.ARM_AUDIENCES)
    except TokenRejected as exc:
        raise _token_error(exc, world.tenant_id) from None
    _check_api_version(request, route)
    _check_media_type(request)
    path = merge_slashes(request.path)
    subscription = _subscription_of(path)
    if subscription is not None and subscription.lower() != world.subscription_id.lower():
        raise errors.subscription_not_found(subscription)
    request[CLAIMS] = claims
    if handler in SIGNED_IN:
        return
    scope = mirid(path.rstrip("/"))
    assert route.action is not None
    rbac = model.context.rbac
    if rbac.is_allowed(claims["oid"], route.action, scope):
        return
    if handler in PARTLY_VISIBLE and rbac.holds_any_within(claims["oid"], scope):
        request[PARTIAL] = True
        return
    raise errors.authorization_failed(claims["oid"], route.action, scope)


def _check_api_version(request: web.Request, route: Route) -> None:
    version = request.query.get("api-version")
    if not version:
        raise errors.missing_api_version()
    if route.handler == "metadata_endpoints" and version == METADATA_LEGACY_VERSION:
        return
    if not is_supported(version, route.api_versions):
        raise errors.invalid_api_version(version, route.resource_type, route.api_versions)


def _check_media_type(request: web.Request) -> None:
    """A body must be declared JSON (``application/json``, any parameters): ARM answers anything else,
    a missing Content-Type included, with 415 before looking at the body."""
    if request.body_exists and request.content_type != "application/json":
        raise errors.unsupported_media_type(request.headers.get("Content-Type"))


def _subscription_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else None


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return loads_json(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise errors.invalid_request_content(str(exc)) from None


def _refuse_constant(name: str) -> Any:
    """Python's json reads NaN and Infinity; JSON (and ARM's parser) does not."""
    raise ValueError(f"Unexpected character encountered while parsing value: '{name}' is not a JSON value")


# -- resource groups -----------------------------------------------------------------------------
def _resource_group_shape(body: dict[str, Any], version: str) -> dict[str, Any]:
    if version >= _NEWER_RESOURCE_GROUP_SHAPE:
        return body
    return {k: v for k, v in body.items() if k not in ("type", "tags")}


async def get_resource_group(request: web.Request, subscription: str, resource_group: str) -> web.Response:
    body = request.app[MODEL].resource_group(resource_group)
    if request.method == "HEAD":  # ResourceGroups_CheckExistence: 204 if it exists (404 raised above if not)
        return web.Response(status=204)
    return respond(_resource_group_shape(body, request.query["api-version"]))


async def list_resource_groups(request: web.Request, subscription: str) -> web.Response:
    """All groups for a caller that may read them at the subscription; else only those it may read."""
    version = request.query["api-version"]
    model = request.app[MODEL]
    groups = model.resource_groups()
    if request.get(PARTIAL):
        caller = request[CLAIMS]["oid"]
        groups = [g for g in groups if model.context.rbac.is_allowed(caller, READ_RESOURCE_GROUP, mirid(g["id"]))]
    return respond({"value": [_resource_group_shape(b, version) for b in groups]})


# -- the cloud, its tenants and subscriptions ----------------------------------------------------------
async def metadata_endpoints(request: web.Request) -> web.Response:
    return respond(request.app[MODEL].cloud_metadata(request.query["api-version"]))


async def list_tenants(request: web.Request) -> web.Response:
    return respond({"value": [request.app[MODEL].tenant_document()]})


async def list_subscriptions(request: web.Request) -> web.Response:
    visible = request.app[MODEL].visible_subscriptions(request[CLAIMS]["oid"])
    return respond({"value": visible, "count": {"type": "Total", "value": len(visible)}})


async def get_subscription(request: web.Request, subscription: str) -> web.Response:
    return respond(request.app[MODEL].subscription_document())


# -- role assignments and definitions --------------------------------------------------------------
async def put_role_assignment(request: web.Request, scope: str, name: str) -> web.Response:
    document, created = request.app[MODEL].put_role_assignment(scope, name, await _body(request),
                                                               created_by=request[CLAIMS]["oid"])
    return respond(document, 201 if created else 200)


async def get_role_assignment(request: web.Request, scope: str, name: str) -> web.Response:
    return respond(request.app[MODEL].role_assignment(scope, name))


async def delete_role_assignment(request: web.Request, scope: str, name: str) -> web.Response:
    document = request.app[MODEL].delete_role_assignment(scope, name)
    return respond(document) if document is not None else web.Response(status=204)


async def list_role_assignments(request: web.Request, scope: str) -> web.Response:
    return respond({"value": request.app[MODEL].role_assignments(scope, request.query.get("$filter"))})


async def get_role_definition(request: web.Request, scope: str, role_id: str) -> web.Response:
    return respond(request.app[MODEL].role_definition(role_id))


async def list_role_definitions(request: web.Request, scope: str) -> web.Response:
    filter_text = request.query.get("$filter") or ""
    role_name = None
    if "rolename eq" in filter_text.lower():
        role_name = filter_text.split("'")[1] if filter_text.count("'") >= 2 else ""
    return respond({"value": request.app[MODEL].role_definitions(role_name)})


# -- user-assigned identities --------------------------------------------------------------------
async def put_identity(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    document, created = request.app[MODEL].put_identity(resource_group, name, await _body(request))
    return respond(document, 201 if created else 200)


async def get_identity(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    return respond(request.app[MODEL].identity(resource_group, name))


async def delete_identity(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    return web.Response(status=200 if request.app[MODEL].delete_identity(resource_group, name) else 204)


async def list_identities(request: web.Request, subscription: str, resource_group: str) -> web.Response:
    return respond({"value": request.app[MODEL].identities(resource_group)})


# -- the virtual machine -------------------------------------------------------------------------
async def get_vm(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    return respond(request.app[MODEL].vm(resource_group, name))


async def patch_vm(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    model = request.app[MODEL]
    vm = model.vm(resource_group, name)
    block, added = model.plan_vm_identity(vm, await _body(request))
    caller = request[CLAIMS]["oid"]
    assign = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
    for identity_id in added:  # assigning an identity is a linked action on the identity itself
        if not model.context.rbac.is_allowed(caller, assign, identity_id):
            raise errors.linked_authorization_failed(
                caller, "Microsoft.Compute/virtualMachines/write", vm["id"], assign, identity_id)
    return respond(model.save_vm_identity(vm, block))
