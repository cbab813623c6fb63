"""Resource Manager's routing table: path, verb, handler, RBAC action, accepted api-versions.

ARM treats paths case-insensitively (``resourcegroups`` works as well as ``resourceGroups``), and
repeated slashes as one: ``//subscriptions/…`` is ``/subscriptions/…`` (Node's @azure/arm-authorization
sends that for a scope written with its leading slash, as its docs show, and Azure answers it).
"""

from __future__ import annotations

import re

from emulator.core.http import Match, Route, RouteTable

RG = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
AUTHZ = "/providers/Microsoft.Authorization"

RESOURCE_GROUP_VERSIONS = (
    "2016-06-01", "2016-09-01", "2017-05-10", "2018-05-01", "2019-05-10", "2019-10-01", "2020-06-01",
    "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01",
    "2025-04-01",
)
ROLE_ASSIGNMENT_VERSIONS = ("2015-07-01", "2018-01-01-preview", "2018-09-01-preview", "2020-04-01-preview",
                            "2020-08-01-preview", "2020-10-01-preview", "2022-04-01")
ROLE_DEFINITION_VERSIONS = ("2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview")
IDENTITY_VERSIONS = ("2018-11-30", "2021-09-30-preview", "2022-01-31-preview", "2023-01-31",
                     "2023-07-31-preview", "2024-11-30")
SUBSCRIPTION_VERSIONS = ("2015-11-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01",
                         "2021-01-01", "2022-12-01")
# GET /metadata/endpoints: "1.0" (Azure Stack's documented version, Go autorest) and dated versions; the answer's
# shape changes with the version (see ArmModel.cloud_metadata).
METADATA_VERSIONS = ("2015-01-01", "2019-05-01", "2022-09-01")
METADATA_LEGACY_VERSION = "1.0"
VM_VERSIONS = ("2021-03-01", "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01", "2022-11-01",
               "2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01")

RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions"
IDENTITIES = "Microsoft.ManagedIdentity/userAssignedIdentities"
VMS = "Microsoft.Compute/virtualMachines"
SUBSCRIPTIONS = "Microsoft.Resources/subscriptions"
TENANTS = "Microsoft.Resources/tenants"
READ_SUBSCRIPTION = "Microsoft.Resources/subscriptions/read"
READ_RESOURCE_GROUP = "Microsoft.Resources/subscriptions/resourceGroups/read"

# How before() authorizes a route besides ARM's usual check (the route's action at the request's scope):
# - no token at all: how a client discovers the cloud's endpoints (`az cloud register`);
ANONYMOUS = frozenset({"metadata_endpoints"})
# - any signed-in caller of the tenant: the answer lists what the caller may see (`az login` lists these);
SIGNED_IN = frozenset({"list_subscriptions", "list_tenants"})
# - also a caller that holds a role assignment *below* the scope: a Reader of one resource group sees the
#   subscription (`az login` finds it) and, listing groups, the groups it may read; nothing at all is still 403.
PARTLY_VISIBLE = frozenset({"get_subscription", "list_resource_groups"})

ROUTES = [
    Route("GET", "/metadata/endpoints", "metadata_endpoints", None, "metadata/endpoints", METADATA_VERSIONS),
    Route("GET", "/tenants", "list_tenants", None, TENANTS, SUBSCRIPTION_VERSIONS),
    Route("GET", "/subscriptions", "list_subscriptions", READ_SUBSCRIPTION, SUBSCRIPTIONS, SUBSCRIPTION_VERSIONS),
    Route("GET", "/subscriptions/{subscription}", "get_subscription", READ_SUBSCRIPTION, SUBSCRIPTIONS,
          SUBSCRIPTION_VERSIONS),
    Route("GET", "/subscriptions/{subscription}/resourcegroups", "list_resource_groups",
          READ_RESOURCE_GROUP, RESOURCE_GROUPS, RESOURCE_GROUP_VERSIONS),
    Route("GET", RG, "get_resource_group",
          "Microsoft.Resources/subscriptions/resourcegroups/read", RESOURCE_GROUPS, RESOURCE_GROUP_VERSIONS),
    Route("PUT", "{scope:path}" + AUTHZ + "/roleAssignments/{name}", "put_role_assignment",
          "Microsoft.Authorization/roleAssignments/write", ROLE_ASSIGNMENTS, ROLE_ASSIGNMENT_VERSIONS),
    Route("GET", "{scope:path}" + AUTHZ + "/roleAssignments/{name}", "get_role_assignment",
          "Microsoft.Authorization/roleAssignments/read", ROLE_ASSIGNMENTS, ROLE_ASSIGNMENT_VERSIONS),
    Route("DELETE", "{scope:path}" + AUTHZ + "/roleAssignments/{name}", "delete_role_assignment",
          "Microsoft.Authorization/roleAssignments/delete", ROLE_ASSIGNMENTS, ROLE_ASSIGNMENT_VERSIONS),
    Route("GET", "{scope:path}" + AUTHZ + "/roleAssignments", "list_role_assignments",
          "Microsoft.Authorization/roleAssignments/read", ROLE_ASSIGNMENTS, ROLE_ASSIGNMENT_VERSIONS),
    Route("GET", "{scope:path}" + AUTHZ + "/roleDefinitions/{role_id}", "get_role_definition",
          "Microsoft.Authorization/roleDefinitions/read", ROLE_DEFINITIONS, ROLE_DEFINITION_VERSIONS),
    Route("GET", "{scope:path}" + AUTHZ + "/roleDefinitions", "list_role_definitions",
          "Microsoft.Authorization/roleDefinitions/read", ROLE_DEFINITIONS, ROLE_DEFINITION_VERSIONS),
    Route("PUT", RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", "put_identity",
          "Microsoft.ManagedIdentity/userAssignedIdentities/write", IDENTITIES, IDENTITY_VERSIONS),
    Route("GET", RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", "get_identity",
          "Microsoft.ManagedIdentity/userAssignedIdentities/read", IDENTITIES, IDENTITY_VERSIONS),
    Route("DELETE", RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", "delete_identity",
          "Microsoft.ManagedIdentity/userAssignedIdentities/delete", IDENTITIES, IDENTITY_VERSIONS),
    Route("GET", RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "list_identities",
          "Microsoft.ManagedIdentity/userAssignedIdentities/read", IDENTITIES, IDENTITY_VERSIONS),
    Route("GET", RG + "/providers/Microsoft.Compute/virtualMachines/{name}", "get_vm",
          "Microsoft.Compute/virtualMachines/read", VMS, VM_VERSIONS),
    Route("PATCH", RG + "/providers/Microsoft.Compute/virtualMachines/{name}", "patch_vm",
          "Microsoft.Compute/virtualMachines/write", VMS, VM_VERSIONS),
]


def merge_slashes(path: str) -> str:
    return re.sub(r"/{2,}", "/", path)


class ArmRouteTable(RouteTable):
    """The routing table, matched on the path with repeated slashes merged (see the module's docstring)."""

    def match(self, method: str, path: str) -> Match | list[str] | None:
        return super().match(method, merge_slashes(path))
