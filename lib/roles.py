"""Azure's built-in roles the workbook uses: their names and definition ids (the same GUIDs in every tenant).

A role assignment names its role only by id (``…/roleDefinitions/acdd72a7-…``); :func:`role_name` puts
the name back beside it for a learner.
"""

from __future__ import annotations

#: Built-in role definition ids (Azure's "Azure built-in roles" reference; the same in every tenant).
ROLE_IDS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Account Contributor": "17d1049b-9a84-46fb-8f53-869881c3d3ab",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
    "Managed Identity Operator": "f1a07417-d97a-45cb-824c-7a7467783830",
}
_NAMES = {role_id: name for name, role_id in ROLE_IDS.items()}


def role_definition_id(subscription_id: str, role: str) -> str:
    """``/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<GUID>`` for a role's name."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_IDS[role]}"


def role_name(definition_id: str) -> str:
    """The built-in role's name for a role definition id or GUID; the GUID itself when the role is not one of ours."""
    guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    return _NAMES.get(guid, guid)
