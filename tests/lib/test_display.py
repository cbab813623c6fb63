"""lib.display and lib.roles: what the notebooks show — requests with their bodies, claims, role names."""

from __future__ import annotations

import base64
import json

import pandas as pd

from lib.display import assignments_frame, claims_table, readable_tables, shown_call
from lib.roles import ROLE_IDS, role_definition_id, role_name


def fake_jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_role_names_beside_ids():
    definition = role_definition_id("sub", "Storage Blob Data Reader")
    assert definition == "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/" \
                         "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert role_name(definition) == "Storage Blob Data Reader"
    assert role_name(ROLE_IDS["Reader"].upper()) == "Reader"
    assert role_name("/x/roleDefinitions/not-one-of-ours") == "not-one-of-ours"


def test_assignments_frame_shows_the_role_name_and_whole_ids():
    assignment = {"name": "a1", "properties": {
        "roleDefinitionId": role_definition_id("sub", "Reader"), "principalId": "P-1",
        "scope": "/subscriptions/sub/resourceGroups/rg"}}
    frame = assignments_frame({"value": [assignment]}, names={"p-1": "the VM"})
    row = frame.iloc[0].to_dict()
    assert row == {"role": "Reader", "role definition id": ROLE_IDS["Reader"], "principal": "the VM",
                   "scope": "/subscriptions/sub/resourceGroups/rg", "assignment (name)": "a1"}


def test_claims_table_full_meanings_and_lifetime():
    token = fake_jwt({"aud": "https://management.azure.com/", "iat": 1_700_000_000, "exp": 1_700_086_399,
                      "oid": "o", "uti": "opaque"})
    table = claims_table(token)
    assert "uti" not in table.index
    assert table.loc["exp", "meaning"].startswith("expires 24 h after iat; ask for a new token")
    assert "(2023-11-14 22:13:20 UTC)" in table.loc["iat", "value"]
    assert len(table.loc["oid", "meaning"]) > 50  # the meaning is whole …
    readable_tables()
    assert table.loc["oid", "meaning"] in table.to_string()  # … and shown whole
    assert pd.get_option("display.max_colwidth") is None


def test_shown_call_text_and_markdown_never_hide_the_body():
    call = shown_call("PUT", "https://arm/x?api-version=1", {"properties": {"principalId": "p"}},
                      headers={"Authorization": "Bearer <token>"}, az="az role assignment create --role Reader",
                      powershell=["New-AzRoleAssignment -RoleDefinitionName Reader"], title="Grant")
    text = repr(call)
    assert text.splitlines()[:3] == ["Grant", "PUT https://arm/x?api-version=1", "Authorization: Bearer <token>"]
    assert '"principalId": "p"' in text
    assert "$ az role assignment create --role Reader" in text
    assert "PS> New-AzRoleAssignment -RoleDefinitionName Reader" in text
    markdown = call._repr_markdown_()
    assert markdown.startswith("**Grant**") and "```http\nPUT https://arm/x?api-version=1" in markdown
    assert "```powershell\nNew-AzRoleAssignment" in markdown and '"principalId": "p"' in markdown
