"""Every Azure Resource Manager wire error the emulator answers with.

Body shape ``{"error": {"code": …, "message": …}}``; 401s also carry ``WWW-Authenticate``
(reference/arm.md). One grep for a code finds it here.
"""

from __future__ import annotations

import datetime as dt

ARM_AUDIENCES = (
    "https://management.azure.com/", "https://management.azure.com",
    "https://management.core.windows.net/", "https://management.core.windows.net",
)


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _unauthorized(code: str, message: str) -> ArmError:
    challenge = ('Bearer authorization_uri="https://login.windows.net/", error="invalid_token", '
                 f'error_description="{message}"')
    return ArmError(401, code, message, {"WWW-Authenticate": challenge})


# -- authentication (401) ------------------------------------------------------------------------
def authentication_missing() -> ArmError:
    return _unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")


def authentication_bad_format() -> ArmError:
    return _unauthorized("AuthenticationFailed",
                         "Authentication failed. The 'Authorization' header is provided in an invalid format.")


def invalid_token() -> ArmError:
    return _unauthorized("InvalidAuthenticationToken", "The access token is invalid.")


def token_not_yet_valid(nbf: int) -> ArmError:
    return _unauthorized("InvalidAuthenticationToken",
                         f"The access token validity starts at '{_utc(nbf)}', which is later than the current "
                         f"time '{_utc(None)}'.")


def wrong_issuer(issuer: str, tenant: str) -> ArmError:
    return _unauthorized("InvalidAuthenticationTokenTenant",
                         f"The access token is from the wrong issuer '{issuer}'. It must match the tenant "
                         f"'https://sts.windows.net/{tenant}/' associated with this subscription. Please use "
                         "the authority (URL) 'https://login.windows.net/" + tenant + "' to get the token.")


def expired_token(exp: int) -> ArmError:
    return _unauthorized("ExpiredAuthenticationToken",
                         f"The access token expiry UTC time '{_utc(exp)}' is earlier than current UTC time "
                         f"'{_utc(None)}'.")


def wrong_audience(audience: str) -> ArmError:
    allowed = ",".join(f"'{a}'" for a in ARM_AUDIENCES)
    return _unauthorized("InvalidAuthenticationTokenAudience",
                         f"The access token has been obtained for wrong audience or resource '{audience}'. It "
                         f"should exactly match with one of the allowed audiences {allowed}.")


def _utc(epoch: int | None) -> str:
    moment = dt.datetime.now(dt.timezone.utc) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return f"{moment:%m/%d/%Y %H:%M:%S}"


# -- authorization (403) ---------------------------------------------------------------------------
def authorization_failed(object_id: str, action: str, scope: str) -> ArmError:
    return ArmError(403, "AuthorizationFailed",
                    f"The client '{object_id}' with object id '{object_id}' does not have authorization to "
                    f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                    "recently granted, please refresh your credentials.")


def linked_authorization_failed(object_id: str, action: str, scope: str, linked_action: str,
                                linked_scope: str) -> ArmError:
    return ArmError(403, "LinkedAuthorizationFailed",
                    f"The client '{object_id}' with object id '{object_id}' has permission to perform action "
                    f"'{action}' on scope '{scope}'; however, it does not have permission to perform action(s) "
                    f"'{linked_action}' on the linked scope(s) '{linked_scope}' (respectively) or the linked "
                    "scope(s) are invalid.")


# -- request shape (400) ---------------------------------------------------------------------------
def missing_api_version() -> ArmError:
    return ArmError(400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.")


def invalid_api_version(version: str, resource_type: str, supported: tuple[str, ...]) -> ArmError:
    return ArmError(400, "InvalidApiVersionParameter",
                    f"The api-version '{version}' is invalid. The supported versions for resource type "
                    f"'{resource_type}' are '{', '.join(supported)}'.")


def invalid_request_content(detail: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent",
                    f"The request content was invalid and could not be deserialized: '{detail}'.")


def invalid_role_assignment_id(name: str) -> ArmError:
    return ArmError(400, "InvalidRoleAssignmentId",
                    f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.")


def role_definition_missing(role_definition_id: str) -> ArmError:
    return ArmError(400, "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{role_definition_id}' does not exist.")


def principal_not_found(principal_id: str, tenant: str) -> ArmError:
    return ArmError(400, "PrincipalNotFound",
                    f"Principal {principal_id.replace('-', '')} does not exist in the directory {tenant}. "
                    "Check that you have the correct principal ID. If you are creating this principal and "
                    "then immediately assigning a role, this error might be related to a replication delay. "
                    "In this case, set the role assignment principalType property to a value, such as "
                    "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")


def unmatched_principal_type(principal_id: str, given: str) -> ArmError:
    return ArmError(400, "UnmatchedPrincipalType",
                    f"The PrincipalId '{principal_id.replace('-', '')}' has type 'ServicePrincipal' , which is "
                    f"different from specified PrincipalType '{given}'.")


def invalid_resource_name(name: str) -> ArmError:
    return ArmError(400, "InvalidResourceName",
                    f"Resource name '{name}' is invalid. The name can contain only letters, numbers, "
                    "underscores and hyphens, must start with a letter or number, and be 3 to 128 characters.")


def location_required() -> ArmError:
    return ArmError(400, "LocationRequired", "The location property is required for this definition.")


def location_not_available(location: str, resource_type: str) -> ArmError:
    return ArmError(400, "LocationNotAvailableForResourceType",
                    f"The provided location '{_shorten(location)}' is not available for resource type "
                    f"'{resource_type}'.")


# Tag limits (learn.microsoft.com, "Use tags to organize your Azure resources", Limitations): 50 tags per
# resource, names up to 512 characters without < > % & \ ? / or control characters, values up to 256.
# InvalidTagNameCharacters, InvalidTagName and InvalidTagValueLength are the codes ARM answers with (seen
# in Azure PowerShell's Az.Migrate, which mirrors them, and in deployment logs); no public source shows
# the code for a 51st tag, so InvalidTagCount is this emulator's choice.
def too_many_tags(count: int, limit: int) -> ArmError:
    return ArmError(400, "InvalidTagCount",
                    f"The resource has {count} tags; a resource can have at most {limit} tags.")


def tag_name_characters(name: str) -> ArmError:
    return ArmError(400, "InvalidTagNameCharacters",
                    f"The tag name '{_shorten(name)}' has reserved characters '<,>,%,&,\\,?,/' or control "
                    "characters.")


def tag_name_too_long(name: str, limit: int) -> ArmError:
    return ArmError(400, "InvalidTagName",
                    f"The tag name '{_shorten(name)}' is {len(name)} characters long; tag names can have at "
                    f"most {limit} characters.")


def tag_value_too_long(name: str, limit: int) -> ArmError:
    return ArmError(400, "InvalidTagValueLength",
                    f"The value of tag '{_shorten(name)}' is longer than {limit} characters, the most a tag "
                    "value can have.")


def _shorten(text: str, keep: int = 80) -> str:
    """Quote what the caller sent, but never echo a megabyte back."""
    return text if len(text) <= keep else text[:keep] + "…"


def invalid_identity_type(value: str) -> ArmError:
    return ArmError(400, "InvalidParameter",
                    f"The value '{value}' of parameter 'identity.type' is not valid. Allowed values are "
                    "'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned' and 'None'.")


def user_identities_required() -> ArmError:
    return ArmError(400, "InvalidParameter",
                    "The identity type 'UserAssigned' needs at least one entry in "
                    "'identity.userAssignedIdentities'.")


def identity_name_too_long(name: str) -> ArmError:
    return ArmError(400, "InvalidParameter",
                    f"The user-assigned identity name '{name}' is longer than 24 characters, which virtual "
                    "machines do not support.")


def identity_not_found_for_vm(vm_id: str, identity_id: str) -> ArmError:
    return ArmError(400, "FailedIdentityOperation",
                    f"Identity operation for resource '{vm_id}' failed with error 'The user-assigned identity "
                    f"'{identity_id}' was not found.'.")


# -- not found (404) / conflict (409) / method (405) -----------------------------------------------
def subscription_not_found(subscription: str) -> ArmError:
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")


def resource_group_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def resource_not_found(resource_type: str, name: str, resource_group: str) -> ArmError:
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not "
                    "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def role_assignment_not_found(name: str) -> ArmError:
    return ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")


def role_definition_not_found(role_id: str) -> ArmError:
    return ArmError(404, "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{role_id}' does not exist.")


def invalid_resource_type(path: str) -> ArmError:
    return ArmError(404, "InvalidResourceType",
                    f"The resource type for the path '{path}' could not be found in the emulated Resource Manager.")


def role_assignment_exists() -> ArmError:
    return ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")


def role_assignment_update_not_permitted() -> ArmError:
    return ArmError(409, "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")


def method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")


def body_too_large(limit: int) -> ArmError:
    return ArmError(413, "RequestEntityTooLarge",
                    f"The request content size exceeds the maximum size of {limit // (1024 * 1024)} MB.")


def unsupported_media_type(content_type: str | None) -> ArmError:
    """ARM's answer to a body that is not JSON; a missing Content-Type is quoted as '<null>'
    (Azure/azure-cli issues 10143 and 13056 show the real response)."""
    return ArmError(415, "UnsupportedMediaType",
                    f"The content media type '{_shorten(content_type) if content_type else '<null>'}' is not "
                    "supported. Only 'application/json' is supported.")


def internal_error() -> ArmError:
    return ArmError(500, "InternalServerError",
                    "Encountered internal server error. Diagnostic information: the emulated Resource Manager "
                    "logged the details.")


# -- Microsoft.KeyVault resource provider ----------------------------------------------------------
def vault_name_not_valid(name: str) -> ArmError:
    # Key Vault's "common error codes" page (VaultNameNotValid); the rule as the RP spells it.
    return ArmError(400, "VaultNameNotValid",
                    f"The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric "
                    "characters. The name must begin with a letter, end with a letter or digit, and not contain "
                    "consecutive hyphens.")


def vault_creation_not_emulated(name: str, served: str) -> ArmError:
    # Not Azure's refusal but the emulator's limit, named as such: one vault per Key Vault listener.
    return ArmError(400, "BadRequest",
                    f"The emulated Key Vault resource provider serves one vault, '{served}'; creating the vault "
                    f"'{name}' is not supported by the emulator.")


def key_vault_bad_request(message: str) -> ArmError:
    # The Key Vault resource provider answers invalid vault and access-policy bodies with BadRequest.
    return ArmError(400, "BadRequest", message)


def resource_location_fixed(name: str, location: str, resource_group: str, requested: str) -> ArmError:
    # Resource Manager's answer to a PUT that would move an existing resource to another location.
    return ArmError(400, "InvalidResourceLocation",
                    f"The resource '{name}' already exists in location '{location}' in resource group "
                    f"'{resource_group}'. A resource with the same name cannot be created in location "
                    f"'{requested}'. Please select a new resource name.")
