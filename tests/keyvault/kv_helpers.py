"""The vault as the tests see it: its URL, raw data-plane calls with a chosen token, and the admin's steps.

Admin steps go through Resource Manager as a notebook does them (access policies, the permission
model, role assignments at the vault's scope); tokens come from the emulated Entra (admin) and IMDS (VM).
"""

from __future__ import annotations

from typing import Any

import requests
from emu_helpers import ROLES, SYSTEM_PRINCIPAL_ID, Azure

from emulator.profile import Profile

VAULT = "https://vault.azure.net"
VAULT_NAME = "mi-workbook-kv"
KV_API = "7.4"
VAULT_API = "2023-07-01"
ROLES = {**ROLES,
         "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
         "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
         "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
         "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395"}
VM = SYSTEM_PRINCIPAL_ID


class Vault(Azure):
    def __init__(self, profile: Profile) -> None:
        super().__init__(profile)
        self.url = profile.endpoints["keyvault"]

    # -- ids -------------------------------------------------------------------------------------
    @property
    def vault_id(self) -> str:
        return f"{self.rg_scope}/providers/Microsoft.KeyVault/vaults/{VAULT_NAME}"

    def role_definition_id(self, role: str) -> str:
        return f"{self.sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"

    # -- tokens ----------------------------------------------------------------------------------
    def admin_vault_token(self) -> str:
        return self.admin_token(VAULT + "/.default")

    def vm_token(self) -> str:
        return self.mi_token(VAULT)

    # -- the data plane, raw ---------------------------------------------------------------------
    def kv(self, method: str, path: str, token: str | None = "admin", api_version: str | None = KV_API,
           body: Any = None, raw: bytes | str | None = None, params: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> requests.Response:
        """One data-plane call. ``token="admin"``: the admin's vault token; ``"vm"``: the VM's; None: no header."""
        if token == "admin":
            token = self.admin_vault_token()
        elif token == "vm":
            token = self.vm_token()
        return self.bearer_call(method, self.url + path, token, api_version, body, raw, params, headers)

    def put_secret(self, name: str, value: str = "s3cret", token: str | None = "admin", **extra: Any) -> Any:
        return self.kv("PUT", f"/secrets/{name}", token, body={"value": value, **extra})

    def secret_names(self) -> list[str]:
        response = self.kv("GET", "/secrets")
        assert response.status_code == 200, response.text
        return sorted(item["id"].rsplit("/", 1)[-1] for item in response.json()["value"])

    def deleted_names(self) -> list[str]:
        response = self.kv("GET", "/deletedsecrets")
        assert response.status_code == 200, response.text
        return sorted(item["recoveryId"].rsplit("/", 1)[-1] for item in response.json()["value"])

    # -- the admin's steps on Resource Manager ---------------------------------------------------------
    def vault_arm(self, method: str = "GET", suffix: str = "", body: Any = None, token: str | None = "admin",
                  api_version: str = VAULT_API) -> requests.Response:
        return self.arm(method, self.vault_id + suffix, token, api_version, body=body)

    def document(self) -> dict[str, Any]:
        response = self.vault_arm()
        assert response.status_code == 200, response.text
        return response.json()

    def policy(self, kind: str, object_id: str = VM, secrets: list[str] | None = None,
               token: str | None = "admin") -> requests.Response:
        entry = {"tenantId": self.tenant, "objectId": object_id, "permissions": {"secrets": secrets or ["get"]}}
        return self.vault_arm("PUT", f"/accessPolicies/{kind}", {"properties": {"accessPolicies": [entry]}}, token)

    def allow(self, object_id: str = VM, *secrets: str) -> None:
        response = self.policy("add", object_id, list(secrets) or ["get"])
        assert response.status_code == 200, response.text

    def rbac_mode(self, enabled: bool, token: str | None = "admin") -> requests.Response:
        return self.vault_arm("PATCH", body={"properties": {"enableRbacAuthorization": enabled}}, token=token)

    def grant_on_vault(self, principal_id: str, role: str) -> str:
        return self.grant(principal_id, role, self.vault_id)
