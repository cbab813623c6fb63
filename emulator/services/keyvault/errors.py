"""Every wire error the emulated Key Vault data plane answers with.

Body shape ``{"error": {"code": …, "message": …, "innererror": {"code": …}}}`` (``innererror`` only where
Key Vault sends one). Every 401 carries the challenge header, so a client can always learn where to get
a token. One grep for a code finds it here. Sources of the texts are cited beside each; the few that
no public source shows verbatim say so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# Audiences Key Vault accepts: its App ID URI without a trailing slash, or its application id (v2
# tokens). A token for "https://vault.azure.net/" (with the slash) is refused with AKV10022 -- Key Vault's
# own messages list exactly these two (argoproj-labs/argocd-vault-plugin#621, Azure/go-autorest#525).
VAULT_RESOURCE = "https://vault.azure.net"
KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
VAULT_AUDIENCES = (VAULT_RESOURCE, KEY_VAULT_APP_ID)

# Key Vault data-plane versions: the dated ones and the 7.x names (release months, approximate: the
# one api-version rule only needs them to fall between 2016-10-01 and today).
API_VERSIONS = ("2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01")
NAMED_VERSIONS = {
    "7.0-preview": "2018-06-01", "7.0": "2018-10-01", "7.1-preview": "2019-11-01", "7.1": "2020-06-01",
    "7.2-preview": "2020-09-01", "7.2": "2021-02-01", "7.3-preview": "2021-06-01", "7.3": "2022-01-01",
    "7.4-preview.1": "2022-07-01", "7.4": "2023-02-01", "7.5-preview.1": "2023-09-01", "7.5": "2024-02-01",
    "7.6-preview.1": "2024-07-01", "7.6-preview.2": "2024-10-01", "7.6": "2025-03-01",
    "7.7-preview.1": "2025-05-01",
}
LATEST_VERSION = API_VERSIONS[-1]
MAX_SECRET_BYTES = 25 * 1024  # "a maximum size of 25k bytes" per secret value (Key Vault service limits)


class KeyVaultError(Exception):
    def __init__(self, status: int, code: str, message: str, inner: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return {"error": error}


# -- authentication (401) ----------------------------------------------------------------------
def challenge(tenant_id: str) -> str:
    """The header the SDK's challenge policy parses: tenant from ``authorization``, scope from ``resource``."""
    return f'Bearer authorization="https://login.windows.net/{tenant_id}", resource="{VAULT_RESOURCE}"'


def _unauthorized(tenant_id: str, message: str) -> KeyVaultError:
    return KeyVaultError(401, "Unauthorized", message, headers={"WWW-Authenticate": challenge(tenant_id)})


def missing_token(tenant_id: str) -> KeyVaultError:
    # reference/keyvault.md: the answer to the SDK's first, token-less request.
    return _unauthorized(tenant_id, "Request is missing a Bearer or PoP token.")


def token_expired(tenant_id: str) -> KeyVaultError:
    # reference/keyvault.md; Microsoft's Key Vault troubleshooting page.
    return _unauthorized(tenant_id, "[TokenExpired] Error validating token: 'S2S12086'.")


def token_not_yet_valid(tenant_id: str, nbf: int) -> KeyVaultError:
    # Azure/azure-sdk-for-java#26624 quotes "Token not yet valid"; the time is the emulator's addition.
    return _unauthorized(tenant_id, f"Token not yet valid: it is valid from {_utc(nbf)}.")


def wrong_audience(tenant_id: str, audience: str) -> KeyVaultError:
    # argoproj-labs/argocd-vault-plugin#621, crossplane-contrib/provider-azure#346.
    return _unauthorized(tenant_id, f"AKV10022: Invalid audience. Expected {VAULT_RESOURCE} or {KEY_VAULT_APP_ID}, "
                                    f"found: {audience}.")


def wrong_issuer(tenant_id: str, issuer: str) -> KeyVaultError:
    # MicrosoftDocs/azure-docs#75410, microsoft/SynapseML#1923.
    return _unauthorized(tenant_id, f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{tenant_id}/, "
                                    f"found {issuer}.")


def unknown_signing_key(tenant_id: str, encoded_header: str) -> KeyVaultError:
    # hashicorp/terraform-provider-azurerm#30912, vcsjones/AzureSignTool#330.
    return _unauthorized(tenant_id, "AKV10046: Unable to resolve the key used for signature validation. "
                                    f"EncodedJwtHeader: '{encoded_header}'.")


def invalid_token(tenant_id: str, detail: str) -> KeyVaultError:
    # No public source quotes Key Vault's text for a forged or malformed token; code as for every 401.
    return _unauthorized(tenant_id, f"The bearer token is invalid: {detail}")


def _utc(epoch: int) -> str:
    return f"{dt.datetime.fromtimestamp(epoch, dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


# -- authorization (403) -----------------------------------------------------------------------
def access_denied(caller: str, permission: str, vault: str, location: str) -> KeyVaultError:
    # reference/keyvault.md (access-policy vaults).
    return KeyVaultError(
        403, "Forbidden",
        f"The user, group or application '{caller}' does not have secrets {permission} permission on key vault "
        f"'{vault};location={location}'. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125287", "AccessDenied")


def forbidden_by_rbac(caller: str, action: str, resource: str, vault: str, location: str) -> KeyVaultError:
    # hashicorp/terraform-provider-azurerm#27817, microsoft/aoai-api-simulator#18 (RBAC vaults).
    return KeyVaultError(
        403, "Forbidden",
        "Caller is not authorized to perform action on resource.\r\n"
        "If role assignments, deny assignments or role definitions were changed recently, please observe "
        "propagation time.\r\n"
        f"Caller: {caller}\r\nAction: '{action}'\r\nResource: '{resource.lower()}'\r\n"
        "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n"
        f"Vault: {vault};location={location}\r\n", "ForbiddenByRbac")


def secret_disabled(operation: str = "get") -> KeyVaultError:
    # Azure/azure-sdk-for-js#24756, ansible-collections/azure#1989.
    return KeyVaultError(403, "Forbidden", f"Operation {operation} is not allowed on a disabled secret.",
                         "SecretDisabled")


def purge_protected(name: str) -> KeyVaultError:
    # Not quoted verbatim by a public source; code and status as Key Vault's other refusals.
    return KeyVaultError(403, "Forbidden",
                         f"Operation purge is not allowed on secret '{name}': purge protection is enabled for this "
                         "vault, so the secret is purged only when its retention period ends.", "PurgeProtected")


# -- not found (404) / conflict (409) ------------------------------------------------------------
def secret_not_found(name: str, version: str = "") -> KeyVaultError:
    # Azure/azure-sdk-for-js#25489.
    shown = f"{name}/{version}" if version else name
    return KeyVaultError(
        404, "SecretNotFound",
        f"A secret with (name/id) {shown} was not found in this key vault. If you recently deleted this secret you "
        "may be able to recover it using the correct recovery command. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125182")


def deleted_secret_not_found() -> KeyVaultError:
    # What `az keyvault secret show-deleted` prints for a name not in the deleted state.
    return KeyVaultError(404, "SecretNotFound", "Deleted Secret not found")


def deleted_but_recoverable(name: str) -> KeyVaultError:
    # microsoft/AzureKeyVaultExplorer#42; external-secrets/external-secrets#3519 (inner code).
    return KeyVaultError(
        409, "Conflict",
        f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this "
        "state, the secret can only be recovered or purged.", "ObjectIsDeletedButRecoverable")


def path_not_found(path: str) -> KeyVaultError:
    return KeyVaultError(404, "NotFound", f"The requested resource '{path}' does not exist on this vault.")


def method_not_allowed(method: str) -> KeyVaultError:
    return KeyVaultError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")


# -- bad requests (400, 413) -----------------------------------------------------------------------
def missing_api_version() -> KeyVaultError:
    return KeyVaultError(400, "BadParameter", "The 'api-version' query parameter is missing.")


def unsupported_api_version(version: str) -> KeyVaultError:
    # Azure/azure-sdk-for-python#28595, Azure/azure-sdk-for-net#14789.
    return KeyVaultError(400, "BadParameter", f"The specified version ({version}) is not recognized. Consider using "
                                              f"the latest supported version ({LATEST_VERSION}).")


def invalid_name(name: str) -> KeyVaultError:
    # aspnet/MicrosoftConfigurationBuilders#22.
    return KeyVaultError(400, "BadParameter", f"The request URI contains an invalid name: {name}")


def bad_parameter(message: str) -> KeyVaultError:
    return KeyVaultError(400, "BadParameter", message)


def value_too_large(size: int) -> KeyVaultError:
    return KeyVaultError(400, "BadParameter", f"Property value has invalid value: the secret value is {size} bytes; "
                                              f"a secret value may be at most {MAX_SECRET_BYTES} bytes.")


def not_supported(operation: str) -> KeyVaultError:
    return KeyVaultError(400, "BadParameter", f"The emulated vault does not support {operation}.")


def body_too_large(limit: int) -> KeyVaultError:
    return KeyVaultError(413, "RequestEntityTooLarge",
                         f"The request body is larger than the {limit // 1024} KiB this vault accepts; a secret value "
                         f"may be at most {MAX_SECRET_BYTES} bytes.")


def internal_error() -> KeyVaultError:
    return KeyVaultError(500, "InternalServerError",
                         "The emulated vault hit an internal error; the emulator logged the details.")
