"""Thin Resource Manager handlers for ``Microsoft.KeyVault/vaults``, mounted on the ARM host.

ARM's ``before`` has already authenticated the caller, checked the api-version and the route's RBAC
action at the request's scope; what is left here is the Key Vault resource provider's own rule that
switching the permission model needs ``Microsoft.Authorization/roleAssignments/write`` too.
"""

from __future__ import annotations

from aiohttp import web

from emulator.services.arm import errors as arm_errors
from emulator.services.arm import handlers as arm
from emulator.services.arm.handlers import respond

from .models import KeyVaultModel, model_for
from .vaults import ROLE_ASSIGNMENT_WRITE, VaultResources


def _vaults(request: web.Request) -> VaultResources:
    return _model(request).resources


def _model(request: web.Request) -> KeyVaultModel:
    return model_for(request.app[arm.MODEL].context)


async def _json(request: web.Request) -> object:
    return await arm._body(request)  # ARM's own body rules: JSON, bounded, its error codes


def _may_change_model(request: web.Request, vaults: VaultResources, body: object) -> None:
    if not vaults.changes_model(body):
        return
    caller = request[arm.CLAIMS]["oid"]
    if not _model(request).context.rbac.is_allowed(caller, ROLE_ASSIGNMENT_WRITE, vaults.id):
        raise arm_errors.authorization_failed(caller, ROLE_ASSIGNMENT_WRITE, vaults.id)


async def list_vaults(request: web.Request, subscription: str) -> web.Response:
    return respond({"value": _vaults(request).list(None)})


async def list_vaults_in_group(request: web.Request, subscription: str, resource_group: str) -> web.Response:
    return respond({"value": _vaults(request).list(resource_group)})


async def get_vault(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    return respond(_vaults(request).get(resource_group, name))


async def put_vault(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    vaults = _vaults(request)
    body = await _json(request)
    if vaults.is_served(resource_group, name):
        _may_change_model(request, vaults, body)
    return respond(vaults.put(resource_group, name, body))


async def patch_vault(request: web.Request, subscription: str, resource_group: str, name: str) -> web.Response:
    vaults = _vaults(request)
    body = await _json(request)
    vaults.get(resource_group, name)  # a vault that is not there is a 404 before anything else
    _may_change_model(request, vaults, body)
    return respond(vaults.patch(resource_group, name, body))


async def update_access_policy(request: web.Request, subscription: str, resource_group: str, name: str,
                               kind: str) -> web.Response:
    body = await _json(request)
    return respond(_vaults(request).update_access_policies(resource_group, name, kind, body))
