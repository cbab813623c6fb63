"""A thin Resource Manager REST helper for the notebooks' admin steps and reads.

Notebooks show the URL and body of every call; this only saves repeating the header, the CA
bundle and the error unpacking. ``ArmError`` carries ARM's own ``code`` and ``message``.
"""

from __future__ import annotations

import uuid
from typing import Any

import requests

from .target import Target

#: Built-in role definition ids (the same GUIDs in every Azure tenant).
ROLE_IDS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Account Contributor": "17d1049b-9a84-46fb-8f53-869881c3d3ab",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
}
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

    # -- the tutorial's portal steps, as REST ---------------------------------------------------------
    def grant(self, role: str, principal_id: str, scope: str) -> dict[str, Any]:
        """Create a role assignment (Access control (IAM) → Add role assignment)."""
        body = {"properties": {
            "roleDefinitionId": f"/subscriptions/{self.target.subscription_id}/providers/"
                                f"Microsoft.Authorization/roleDefinitions/{ROLE_IDS[role]}",
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
        }}
        name = str(uuid.uuid4())
        return self.call("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
                         ROLE_ASSIGNMENTS_API, body)

    def revoke(self, assignment_id: str) -> None:
        self.call("DELETE", assignment_id, ROLE_ASSIGNMENTS_API)

    def assignments_for(self, principal_id: str, scope: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"{scope}/providers/Microsoft.Authorization/roleAssignments",
                          ROLE_ASSIGNMENTS_API)
        return [a for a in found["value"] if a["properties"]["principalId"] == principal_id]
