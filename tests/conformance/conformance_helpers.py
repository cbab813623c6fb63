"""Shared by the conformance tests: the world's fixed ids and the admin steps, done over REST."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests

from emulator.profile import Profile
from lib.emulator import SECRET_HEADER

ARM = "https://management.azure.com/"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ID1_CLIENT_ID = "b88b8fbf-dfd8-48a9-a921-5c8306bc9310"
ID1_PRINCIPAL_ID = "cc887e8f-20ff-4ab7-b9f3-f3f54b1c934a"
SYSTEM_CLIENT_ID = "a2637c82-5eff-4fc5-b058-ee2e7a05f681"
SYSTEM_PRINCIPAL_ID = "15a76ff3-0756-4b47-b362-9d74a68a035b"


@dataclass
class World:
    """The emulated world as the official clients see it, plus the admin steps done over REST."""

    profile: Profile
    http: requests.Session

    @property
    def ca(self) -> str:
        return self.profile.ca_bundle

    @property
    def rg_scope(self) -> str:
        return f"/subscriptions/{self.profile.subscription_id}/resourceGroups/{self.profile.resource_group}"

    def identity_id(self, name: str = "ID1") -> str:
        return f"{self.rg_scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"

    def admin_token(self) -> str:
        response = self.http.post(
            f"{self.profile.endpoints['login']}/{self.profile.tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": self.profile.admin["clientId"],
                  "client_secret": self.profile.admin["clientSecret"], "scope": ARM + ".default"},
            timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def arm(self, method: str, path: str, api_version: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.profile.endpoints["arm"] + path, params={"api-version": api_version},
                                 json=body, headers={"Authorization": f"Bearer {self.admin_token()}"}, timeout=10)

    def grant_reader(self, principal_id: str) -> None:
        path = f"{self.rg_scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        role = (f"/subscriptions/{self.profile.subscription_id}"
                f"/providers/Microsoft.Authorization/roleDefinitions/{READER}")
        response = self.arm("PUT", path, "2022-04-01", {"properties": {
            "roleDefinitionId": role, "principalId": principal_id, "principalType": "ServicePrincipal"}})
        assert response.status_code == 201, response.text

    def create_and_assign_id1(self) -> None:
        created = self.arm("PUT", self.identity_id(), "2023-01-31", {"location": self.profile.location})
        assert created.status_code == 201, created.text
        vm = f"{self.rg_scope}/providers/Microsoft.Compute/virtualMachines/{self.profile.vm_name}"
        patched = self.arm("PATCH", vm, "2024-03-01", {"identity": {
            "type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {self.identity_id(): {}}}})
        assert patched.status_code == 200, patched.text

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.profile.control + path, json=body, timeout=10,
                                 headers={SECRET_HEADER: self.profile.control_secret})
