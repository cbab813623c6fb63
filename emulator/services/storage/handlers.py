"""Thin Resource Manager handlers for storage accounts: read, list, listKeys, listServiceSas.

ARM's ``before`` has authenticated the caller and checked RBAC by the time these run. Errors are
ARM's (arm/errors.py): these are Resource Manager answers, JSON, not the storage data plane's XML.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from emulator.core.http import loads_json
from emulator.services.arm import errors as arm_errors
from emulator.services.arm.handlers import MODEL, respond

from . import sas
from .models import StorageModel, model_for
from .rows import Account

_SERVICE_PREFIX = {"blob": "/blob/", "file": "/file/", "queue": "/queue/", "table": "/table/"}
_PERMISSIONS = re.compile(r"^[rwdlacup]+$")
_PROTOCOLS = ("https", "https,http")
_RESPONSE_HEADERS = ("rscc", "rscd", "rsce", "rscl", "rsct")


def _model(request: web.Request) -> StorageModel:
    return model_for(request.app[MODEL].context)


def _account(request: web.Request, resource_group: str, name: str, *, action: bool = False) -> Account:
    model = request.app[MODEL]
    group = model.resource_group(resource_group)  # 404 ResourceGroupNotFound first, as ARM does
    found = _model(request).account_by_resource_group(group["name"], name)
    if found is None:
        if action:
            raise arm_errors.storage_account_not_found(name)
        raise arm_errors.resource_not_found("Microsoft.Storage/storageAccounts", name, group["name"])
    return found


def _document(request: web.Request, account: Account) -> dict[str, Any]:
    storage = _model(request)
    document = request.app[MODEL].store.get(account.resource_id) or {}
    endpoints = {kind: f"{url}/{account.name}/" for kind, url in storage.endpoints.items()}
    return {**document, "properties": {**document.get("properties", {}), "primaryEndpoints": endpoints}}


async def get_account(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    return respond(_document(request, _account(request, resource_group, name)))


async def list_accounts(request: web.Request, subscription: str, resource_group: str) -> web.Response:
    group = request.app[MODEL].resource_group(resource_group)
    accounts = [a for a in _model(request).accounts.values() if a.resource_group.lower() == group["name"].lower()]
    return respond({"value": [_document(request, a) for a in accounts]})


async def list_keys(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    account = _account(request, resource_group, name, action=True)
    created = (request.app[MODEL].store.get(account.resource_id) or {}).get("properties", {}).get("creationTime")
    return respond({"keys": [{"creationTime": created, "keyName": f"key{i + 1}", "value": value, "permissions": "FULL"}
                             for i, value in enumerate(account.keys)]})


async def list_service_sas(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    """Sign a service SAS (``sv=2015-04-05``) with the account key, from the tutorial's body."""
    account = _account(request, resource_group, name, action=True)
    body = await _json(request)
    canonical = _required(body, "canonicalizedResource")
    prefix = next((p for p in _SERVICE_PREFIX.values() if canonical.startswith(p)), None)
    if prefix != "/blob/":
        raise arm_errors.invalid_values_for_request_parameters(
            "canonicalizedResource must start with /blob/<account>/<container> (the emulator signs Blob SAS only).")
    parts = canonical[len(prefix):].split("/", 2)
    if parts[0] != account.name or len(parts) < 2 or not parts[1]:
        raise arm_errors.invalid_values_for_request_parameters(
            f"canonicalizedResource must name this account: /blob/{account.name}/<container>[/<blob>].")
    resource = _required(body, "signedResource")
    if resource not in ("b", "c") or (resource == "b") != (len(parts) == 3 and bool(parts[2])):
        raise arm_errors.invalid_values_for_request_parameters(
            "signedResource must be 'c' for a container or 'b' for a blob, matching canonicalizedResource.")
    permissions = _required(body, "signedPermission")
    if not _PERMISSIONS.match(permissions):
        raise arm_errors.invalid_values_for_request_parameters("signedPermission may hold only r, w, d, l, a, c, u, p.")
    fields = {"sr": resource, "sp": _ordered(permissions), "se": _time(body, "signedExpiry", required=True)}
    if body.get("signedStart"):
        fields["st"] = _time(body, "signedStart")
    protocol = body.get("signedProtocol")
    if protocol is not None:
        if protocol not in _PROTOCOLS:
            raise arm_errors.invalid_values_for_request_parameters("signedProtocol must be 'https' or 'https,http'.")
        fields["spr"] = protocol
    if body.get("signedIp"):
        fields["sip"] = str(body["signedIp"])
    if body.get("signedIdentifier"):
        raise arm_errors.invalid_values_for_request_parameters("signedIdentifier (stored access policies) is not "
                                                               "emulated.")
    for header in _RESPONSE_HEADERS:
        if body.get(header):
            fields[header] = str(body[header])
    key_name = body.get("keyToSign") or "key1"
    if key_name not in ("key1", "key2"):
        raise arm_errors.invalid_values_for_request_parameters("keyToSign must be 'key1' or 'key2'.")
    key = account.key_bytes(int(key_name[-1]) - 1)
    return respond({"serviceSasToken": sas.service_sas(key, canonical, fields)})


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = loads_json(raw) if raw else None
    except ValueError:
        raise arm_errors.invalid_request_content("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise arm_errors.invalid_request_content("The body must be a JSON object.")
    return body


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise arm_errors.invalid_values_for_request_parameters(f"'{name}' is required.")
    return value


def _time(body: dict[str, Any], name: str, required: bool = False) -> str:
    value = _required(body, name) if required else str(body.get(name))
    if sas.parse_time(value) is None:
        raise arm_errors.invalid_values_for_request_parameters(
            f"'{name}' must be an ISO 8601 time in UTC, e.g. 2017-09-23T00:00:00Z.")
    return value


def _ordered(permissions: str) -> str:
    return "".join(p for p in sas.BLOB_PERMISSIONS if p in permissions)
