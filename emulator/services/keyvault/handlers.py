"""Thin Key Vault data-plane handlers; ``before`` checks in the order the vault does.

1. No bearer token: 401 with the challenge (``WWW-Authenticate: Bearer authorization=…, resource=…``),
   which is how the SDK learns the tenant and the resource before it sends any token.
2. The token: signature, issuer, audience, lifetime (core.auth/core.tokens), each refusal with Key Vault's
   own 401 text.
3. The api-version, by the one rule (core.versions), dated and 7.x versions alike.
4. Names in the path, then the caller's permission by the vault's model (models.authorize).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from emulator.core.auth import authenticate
from emulator.core.http import Match, loads_json
from emulator.core.tokens import TokenRejected
from emulator.core.versions import is_supported

from . import errors
from .models import KeyVaultModel, check_version, page_request, skip_token
from .routes import POLICY_PERMISSIONS

MODEL = web.AppKey("keyvault_model", KeyVaultModel)
CLAIMS = web.RequestKey("keyvault_claims", dict)


def respond(request: web.Request, body: Any, status: int = 200) -> web.Response:
    headers = {"x-ms-request-id": str(uuid.uuid4())}
    if request.app.get(MODEL) is not None:
        headers["x-ms-keyvault-region"] = request.app[MODEL].resources.document().get("location", "")
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        content_type="application/json", charset="utf-8", headers=headers)


def render_error(_request: web.Request, exc: errors.KeyVaultError) -> web.Response:
    return web.Response(body=json.dumps(exc.body(), separators=(",", ":")).encode(), status=exc.status,
                        content_type="application/json", charset="utf-8",
                        headers={"x-ms-request-id": str(uuid.uuid4()), **exc.headers})


def _token_error(exc: TokenRejected, tenant: str, headers: Any) -> errors.KeyVaultError:
    if exc.reason in ("missing_header", "bad_scheme"):
        return errors.missing_token(tenant)
    if exc.reason == "expired":
        return errors.token_expired(tenant)
    if exc.reason == "not_yet_valid":
        return errors.token_not_yet_valid(tenant, int(exc.claims.get("nbf", 0)))
    if exc.reason == "audience":
        return errors.wrong_audience(tenant, str(exc.claims.get("aud")))
    if exc.reason == "issuer":
        return errors.wrong_issuer(tenant, str(exc.claims.get("iss")))
    if exc.reason == "unknown_key":
        token = headers.get("Authorization", "").strip().partition(" ")[2].strip()
        return errors.unknown_signing_key(tenant, token.split(".", 1)[0])
    return errors.invalid_token(tenant, exc.detail)


async def before(request: web.Request, match: Match) -> None:
    model = request.app[MODEL]
    tenant = model.context.world.tenant_id
    try:
        claims = authenticate(model.context.verifier, request.headers, errors.VAULT_AUDIENCES)
    except TokenRejected as exc:
        raise _token_error(exc, tenant, request.headers) from None
    version = request.query.get("api-version")
    if not version:
        raise errors.missing_api_version()
    if not is_supported(version, errors.API_VERSIONS, errors.NAMED_VERSIONS):
        raise errors.unsupported_api_version(version)
    name = match.params.get("name")
    if name is not None:
        model.check_name(name)
    check_version(match.params.get("version", ""))
    handler = match.route.handler if isinstance(match.route.handler, str) else match.route.handler.__name__
    assert match.route.action is not None
    model.authorize(claims, POLICY_PERMISSIONS[handler], match.route.action, name)
    request[CLAIMS] = claims


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return loads_json(raw)
    except ValueError:
        raise errors.bad_parameter("The request body is not valid JSON.") from None


def _page(request: web.Request, items: list[dict[str, Any]], next_offset: int | None, size: int) -> dict[str, Any]:
    link = None
    if next_offset is not None:
        model = request.app[MODEL]
        link = (f"{model.endpoint}{request.path}?api-version={request.query['api-version']}"
                f"&maxresults={size}&$skiptoken={skip_token(next_offset)}")
    return {"value": items, "nextLink": link}


# -- secrets -------------------------------------------------------------------------------------
async def set_secret(request: web.Request, name: str) -> web.Response:
    model = request.app[MODEL]
    secret = model.set(name, await _body(request))
    return respond(request, model.bundle(secret, request.query["api-version"], with_value=True))


async def get_secret(request: web.Request, name: str, version: str = "") -> web.Response:
    model = request.app[MODEL]
    return respond(request, model.bundle(model.get(name, version), request.query["api-version"], with_value=True))


async def update_secret(request: web.Request, name: str, version: str = "") -> web.Response:
    model = request.app[MODEL]
    secret = model.update(name, version, await _body(request))
    return respond(request, model.bundle(secret, request.query["api-version"], with_value=False))


async def list_secrets(request: web.Request) -> web.Response:
    model = request.app[MODEL]
    offset, size = page_request(request.query)
    secrets, next_offset = model.list_secrets(offset, size)
    version = request.query["api-version"]
    return respond(request, _page(request, [model.item(s, version, versioned=False) for s in secrets],
                                  next_offset, size))


async def list_versions(request: web.Request, name: str) -> web.Response:
    model = request.app[MODEL]
    offset, size = page_request(request.query)
    secrets, next_offset = model.list_versions(name, offset, size)
    version = request.query["api-version"]
    return respond(request, _page(request, [model.item(s, version, versioned=True) for s in secrets],
                                  next_offset, size))


async def delete_secret(request: web.Request, name: str) -> web.Response:
    model = request.app[MODEL]
    secret, deleted = model.delete(name)
    version = request.query["api-version"]
    if deleted is None:  # a vault without soft delete: nothing to recover
        return respond(request, model.bundle(secret, version, with_value=False))
    return respond(request, model.deleted_bundle(secret, deleted, version))


async def backup_secret(request: web.Request, name: str) -> web.Response:
    raise errors.not_supported("secret backup")


async def restore_secret(request: web.Request) -> web.Response:
    raise errors.not_supported("secret restore")


# -- soft-deleted secrets ------------------------------------------------------------------------
async def get_deleted(request: web.Request, name: str) -> web.Response:
    model = request.app[MODEL]
    secret, deleted = model.get_deleted(name)
    return respond(request, model.deleted_bundle(secret, deleted, request.query["api-version"]))


async def list_deleted(request: web.Request) -> web.Response:
    model = request.app[MODEL]
    offset, size = page_request(request.query)
    found, next_offset = model.list_deleted(offset, size)
    version = request.query["api-version"]
    items = [model.deleted_bundle(secret, deleted, version, item=True) for secret, deleted in found]
    return respond(request, _page(request, items, next_offset, size))


async def recover_deleted(request: web.Request, name: str) -> web.Response:
    model = request.app[MODEL]
    secret = model.recover(name)
    return respond(request, model.bundle(secret, request.query["api-version"], with_value=False))


async def purge_deleted(request: web.Request, name: str) -> web.Response:
    request.app[MODEL].purge(name)
    return web.Response(status=204, headers={"x-ms-request-id": str(uuid.uuid4())})
