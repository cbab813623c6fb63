"""A thin Resource Manager REST helper for the notebooks' admin steps and reads.

Notebooks show the method, URL and body of every call before they send it::

    request = admin.role_assignment("Reader", principal_id, scope=t.resource_group_id)
    display(admin.shown(request, az="az role assignment create …", powershell="New-AzRoleAssignment …"))
    assignment = admin.send(request)

This only saves repeating the header, the CA bundle and the error unpacking. ``ArmError`` carries
ARM's own ``code`` and ``message``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from .display import ShownCall, shown_call
from .roles import ROLE_IDS, role_definition_id
from .target import Target

__all__ = ["IDENTITY_API", "KEYVAULT_API", "ROLE_ASSIGNMENTS_API", "ROLE_IDS", "VM_API", "ArmClient", "ArmError",
           "ArmRequest", "detach_identity_body", "raise_for_arm"]

KEYVAULT_API = "2023-07-01"  # Microsoft.KeyVault/vaults on Resource Manager
ROLE_ASSIGNMENTS_API = "2022-04-01"
IDENTITY_API = "2023-01-31"
VM_API = "2024-07-01"


def detach_identity_body(vm_identity: dict[str, Any] | None, identity_id: str) -> dict[str, Any]:
    """The VM PATCH body that detaches one user-assigned identity and nothing else.

    ``{"identity": {"type": "SystemAssigned"}}`` would drop *every* user-assigned identity of the VM; a
    ``null`` for the one identity keeps the others. When it is the last one, the type loses
    ``UserAssigned`` instead, and the system-assigned identity, if on, stays on with its principal: what
    ``az vm identity remove`` sends (azure-cli's vm module, ``_remove_identities_by_aaz``: "if all emsis are
    gone, we need to update the type"), and what aad-pod-identity learned against Compute (PR #695).
    """
    identity = vm_identity or {}
    kinds = {k.strip() for k in str(identity.get("type", "None")).split(",")}
    others = [i for i in (identity.get("userAssignedIdentities") or {}) if i.lower() != identity_id.lower()]
    if others:
        return {"identity": {"type": "SystemAssigned, UserAssigned" if "SystemAssigned" in kinds else "UserAssigned",
                             "userAssignedIdentities": {identity_id: None}}}
    return {"identity": {"type": "SystemAssigned" if "SystemAssigned" in kinds else "None"}}


@dataclass(frozen=True)
class ArmRequest:
    """One Resource Manager call, before it is sent: what a lesson shows, then sends."""

    method: str
    path: str  # /subscriptions/…, appended to Resource Manager's address
    api_version: str
    body: Any = None

    def url(self, target: Target) -> str:
        return f"{target.arm}{self.path}?api-version={self.api_version}"


class ArmError(Exception):
    """A Resource Manager error answer: HTTP status plus ARM's ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def raise_for_arm(response: requests.Response) -> requests.Response:
    if response.status_code < 400:
        return response
    try:
        error = response.json()["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        code, message = "Unknown", response.text[:500]
    raise ArmError(response.status_code, code, message)


class ArmClient:
    """Calls ``target.arm`` with a bearer token from ``token`` (a string or a callable)."""

    def __init__(self, target: Target, token: Any) -> None:
        self.target = target
        self._token = token
        self.session = requests.Session()
        self.last_request: ArmRequest | None = None

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {getattr(token, 'token', token)}"}

    def call(self, method: str, path: str, api_version: str, body: Any = None) -> dict[str, Any]:
        response = self.session.request(
            method, f"{self.target.arm}{path}", params={"api-version": api_version}, json=body,
            headers=self._headers(), verify=self.target.verify, timeout=30,
        )
        raise_for_arm(response)
        return response.json() if response.content else {}

    def send(self, request: ArmRequest) -> dict[str, Any]:
        """Send a request built (and shown) before; remembered as ``last_request``."""
        self.last_request = request
        return self.call(request.method, request.path, request.api_version, request.body)

    def shown(self, request: ArmRequest, *, az: str | Sequence[str] | None = None,
              powershell: str | Sequence[str] | None = None, title: str = "") -> ShownCall:
        """The request as a lesson displays it: method, URL, the bearer header (never the token) and the body."""
        headers = {"Authorization": "Bearer <the admin's token for https://management.azure.com/>"}
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        return shown_call(request.method, request.url(self.target), request.body, headers=headers, az=az,
                          powershell=powershell, title=title)

    # -- the tutorial's portal steps, as REST ---------------------------------------------------------
    def role_assignment(self, role: str, principal_id: str, scope: str) -> ArmRequest:
        """The PUT that *Access control (IAM) → Add role assignment* sends (not sent yet): a new GUID as the
        assignment's name, the role's definition id, the identity's principal id."""
        body = {"properties": {
            "roleDefinitionId": role_definition_id(self.target.subscription_id, role),
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
        }}
        return ArmRequest("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                          ROLE_ASSIGNMENTS_API, body)

    def grant(self, role: str, principal_id: str, scope: str) -> dict[str, Any]:
        """Create a role assignment (Access control (IAM) → Add role assignment); the request is ``last_request``."""
        return self.send(self.role_assignment(role, principal_id, scope))

    def revoke(self, assignment_id: str) -> None:
        self.send(ArmRequest("DELETE", assignment_id, ROLE_ASSIGNMENTS_API))

    def assignments_for(self, principal_id: str, scope: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"{scope}/providers/Microsoft.Authorization/roleAssignments",
                          ROLE_ASSIGNMENTS_API)
        return [a for a in found["value"] if a["properties"]["principalId"] == principal_id]
