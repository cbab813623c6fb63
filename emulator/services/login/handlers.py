"""Thin handlers for discovery, keys and the client-credentials grant."""

from __future__ import annotations

import json
import time

from aiohttp import web

from . import errors
from .models import EntraModel

MODEL = web.AppKey("entra_model", EntraModel)


def entra_json(body: object, status: int = 200) -> web.Response:
    """JSON as Entra writes it: compact. ODBC Driver 18 finds the token by the literal text
    '"access_token":"' (no space), so a pretty-printed answer leaves it without a token."""
    return web.json_response(body, status=status, dumps=lambda value: json.dumps(value, separators=(",", ":")))


def render_error(_request: web.Request, exc: errors.EntraError) -> web.Response:
    return entra_json(exc.body(), status=exc.status)


def _base(request: web.Request) -> str:
    """The configured login endpoint (the profile's), as Entra names login.microsoftonline.com whatever
    the request's Host header says: a forged Host must not steer a client's token requests elsewhere."""
    context = request.app[MODEL].context
    configured = context.endpoints.get("login")
    if configured:
        return configured
    # A listener started on its own (no profile yet): the configured host and the port it is bound to.
    port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
    return f"{request.scheme}://{context.settings.host}:{port}"


async def openid_configuration_v2(request: web.Request, tenant: str) -> web.Response:
    tenant_id = request.app[MODEL].check_tenant(tenant)
    base = f"{_base(request)}/{tenant_id}"
    return entra_json({
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": f"https://login.microsoftonline.com/{tenant_id}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    })


async def openid_configuration_v1(request: web.Request, tenant: str) -> web.Response:
    tenant_id = request.app[MODEL].check_tenant(tenant)
    base = f"{_base(request)}/{tenant_id}"
    return entra_json({
        "token_endpoint": f"{base}/oauth2/token",
        "jwks_uri": f"{base}/discovery/keys",
        "issuer": request.app[MODEL].context.issuer.issuer,
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["pairwise"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    })


async def keys(request: web.Request, tenant: str) -> web.Response:
    model = request.app[MODEL]
    model.check_tenant(tenant)
    return entra_json(model.context.issuer.key.jwks())


async def _client_credentials(request: web.Request, tenant: str) -> tuple[EntraModel, dict[str, str]]:
    model = request.app[MODEL]
    model.check_tenant(tenant)
    try:
        form = await request.post() if request.content_type == "application/x-www-form-urlencoded" else {}
    except (UnicodeDecodeError, ValueError, LookupError):
        # Not a form we can read (bad bytes, or a charset= no codec has): no parameter can be read from it,
        # so Entra's answer is the first missing parameter's.
        form = {}
    fields = {k: str(v) for k, v in form.items()}
    grant_type = fields.get("grant_type")
    if not grant_type:
        raise errors.missing_parameter("grant_type")
    if grant_type != "client_credentials":
        raise errors.unsupported_grant_type(grant_type)
    if not fields.get("client_id"):
        raise errors.missing_parameter("client_id")
    if not fields.get("client_secret"):
        raise errors.missing_parameter("client_assertion' or 'client_secret")
    return model, fields


async def token_v2(request: web.Request, tenant: str) -> web.Response:
    model, fields = await _client_credentials(request, tenant)
    scope = fields.get("scope", "").strip()
    if not scope:
        raise errors.missing_parameter("scope")
    principal = model.authenticate_client(fields["client_id"], fields["client_secret"])
    resources = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
    if len(resources) != 1 or not resources[0].endswith("/.default"):
        raise errors.invalid_scope(scope)
    # Entra takes everything before "/.default" as the resource, so "X//.default" is resource "X/": the
    # documented way to get a token whose audience keeps its trailing slash (Microsoft identity platform,
    # "Scopes and permissions", trailing slash and /.default). The Azure CLI asks for
    # "https://management.core.windows.net//.default"; SQL clients for "https://database.windows.net//.default".
    issued = model.issue(principal, resources[0].removesuffix("/.default"))
    lifetime = issued.expires_on - issued.issued_at
    return entra_json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                              "access_token": issued.access_token})


async def token_v1(request: web.Request, tenant: str) -> web.Response:
    model, fields = await _client_credentials(request, tenant)
    resource = fields.get("resource", "").strip()
    if not resource:
        raise errors.missing_parameter("resource")
    principal = model.authenticate_client(fields["client_id"], fields["client_secret"])
    issued = model.issue(principal, resource)
    return entra_json({
        "token_type": "Bearer", "expires_in": str(issued.expires_on - int(time.time())),
        "ext_expires_in": str(issued.expires_on - issued.issued_at), "expires_on": str(issued.expires_on),
        "not_before": str(issued.not_before), "resource": resource, "access_token": issued.access_token,
    })
