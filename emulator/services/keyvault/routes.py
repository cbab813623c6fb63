"""Key Vault's routing tables: the data plane (this service's own host) and its Resource Manager routes.

Each data-plane route names the RBAC data action it needs (``Route.action``, checked in an RBAC vault)
and ``POLICY_PERMISSIONS`` the access-policy permission (checked in an access-policy vault), as the
REST reference states them ("This operation requires the secrets/<permission> permission") and the
Key Vault data actions list them. Resource Manager routes are mounted on the ARM host by
``services.create_listeners`` and pass ARM's own checks first (token, api-version, RBAC action).
"""

from emulator.core.http import KIB, Route

from . import arm_handlers, errors

SECRETS = "Microsoft.KeyVault/vaults/secrets"
READ_METADATA = f"{SECRETS}/readMetadata/action"
SMALL_BODY = 16 * KIB  # requests that carry no body, or a small JSON one
SET_BODY = 256 * KIB  # a 25,600-byte value survives JSON escaping (up to 6 bytes a character) in this
UPDATE_BODY = 64 * KIB

ROUTES = [
    Route("GET", "/secrets", "list_secrets", READ_METADATA, SECRETS, errors.API_VERSIONS, SMALL_BODY),
    Route("POST", "/secrets/restore", "restore_secret", f"{SECRETS}/restore/action", SECRETS, errors.API_VERSIONS,
          SET_BODY),
    Route("GET", "/secrets/{name}/versions", "list_versions", READ_METADATA, SECRETS, errors.API_VERSIONS,
          SMALL_BODY),
    Route("POST", "/secrets/{name}/backup", "backup_secret", f"{SECRETS}/backup/action", SECRETS,
          errors.API_VERSIONS, SMALL_BODY),
    Route("PUT", "/secrets/{name}", "set_secret", f"{SECRETS}/setSecret/action", SECRETS, errors.API_VERSIONS,
          SET_BODY),
    Route("GET", "/secrets/{name}", "get_secret", f"{SECRETS}/getSecret/action", SECRETS, errors.API_VERSIONS,
          SMALL_BODY),
    Route("PATCH", "/secrets/{name}", "update_secret", f"{SECRETS}/update/action", SECRETS, errors.API_VERSIONS,
          UPDATE_BODY),
    Route("DELETE", "/secrets/{name}", "delete_secret", f"{SECRETS}/delete", SECRETS, errors.API_VERSIONS,
          SMALL_BODY),
    Route("GET", "/secrets/{name}/{version}", "get_secret", f"{SECRETS}/getSecret/action", SECRETS,
          errors.API_VERSIONS, SMALL_BODY),
    Route("PATCH", "/secrets/{name}/{version}", "update_secret", f"{SECRETS}/update/action", SECRETS,
          errors.API_VERSIONS, UPDATE_BODY),
    Route("GET", "/deletedsecrets", "list_deleted", READ_METADATA, SECRETS, errors.API_VERSIONS, SMALL_BODY),
    Route("GET", "/deletedsecrets/{name}", "get_deleted", READ_METADATA, SECRETS, errors.API_VERSIONS, SMALL_BODY),
    Route("DELETE", "/deletedsecrets/{name}", "purge_deleted", f"{SECRETS}/purge/action", SECRETS,
          errors.API_VERSIONS, SMALL_BODY),
    Route("POST", "/deletedsecrets/{name}/recover", "recover_deleted", f"{SECRETS}/recover/action", SECRETS,
          errors.API_VERSIONS, SMALL_BODY),
]

POLICY_PERMISSIONS = {
    "list_secrets": "list", "list_versions": "list", "list_deleted": "list",
    "get_secret": "get", "get_deleted": "get",
    "set_secret": "set", "update_secret": "set",
    "delete_secret": "delete", "purge_deleted": "purge", "recover_deleted": "recover",
    "backup_secret": "backup", "restore_secret": "restore",
}

# -- Resource Manager: Microsoft.KeyVault/vaults ---------------------------------------------------
RG = "/subscriptions/{subscription}/resourceGroups/{resource_group}"
VAULTS = "Microsoft.KeyVault/vaults"
VAULT_API_VERSIONS = ("2015-06-01", "2016-10-01", "2018-02-14", "2019-09-01", "2021-10-01", "2022-07-01",
                      "2022-11-01", "2023-02-01", "2023-07-01", "2024-11-01", "2025-05-01", "2026-05-15")

ARM_ROUTES = [
    Route("GET", "/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults", arm_handlers.list_vaults,
          f"{VAULTS}/read", VAULTS, VAULT_API_VERSIONS),
    Route("GET", RG + "/providers/Microsoft.KeyVault/vaults", arm_handlers.list_vaults_in_group,
          f"{VAULTS}/read", VAULTS, VAULT_API_VERSIONS),
    Route("GET", RG + "/providers/Microsoft.KeyVault/vaults/{name}", arm_handlers.get_vault,
          f"{VAULTS}/read", VAULTS, VAULT_API_VERSIONS),
    Route("PUT", RG + "/providers/Microsoft.KeyVault/vaults/{name}", arm_handlers.put_vault,
          f"{VAULTS}/write", VAULTS, VAULT_API_VERSIONS),
    Route("PATCH", RG + "/providers/Microsoft.KeyVault/vaults/{name}", arm_handlers.patch_vault,
          f"{VAULTS}/write", VAULTS, VAULT_API_VERSIONS),
    Route("PUT", RG + "/providers/Microsoft.KeyVault/vaults/{name}/accessPolicies/{kind}",
          arm_handlers.update_access_policy, f"{VAULTS}/accessPolicies/write", f"{VAULTS}/accessPolicies",
          VAULT_API_VERSIONS),
]
