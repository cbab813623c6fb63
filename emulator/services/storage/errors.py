"""Every Azure Storage data-plane error the emulator answers with (Blob codes; DFS renames a few).

One catalogue for the storage account's data: the blob endpoint renders these as XML
(``<Error><Code>…</Code><Message>…</Message>…</Error>`` with ``x-ms-error-code``), the Data Lake
Gen2 endpoint as JSON with its own names for a few codes (``ContainerNotFound`` → ``FilesystemNotFound``).
The storage model raises them, so both endpoints refuse the same things the same way.

Codes and messages as Azure's "Blob service error codes" and "Common REST API error codes" pages and
reference/storage.md give them (Azure's typo "specifed" in InvalidResourceName included).
"""

from __future__ import annotations

from typing import Any

# Where Azure sends a bearer challenge (401) instead of a bare 403: requests of x-ms-version
# 2019-12-12 and later (older clients, e.g. a Java SDK of 2020, saw 403 AuthenticationFailed for an
# expired token; .NET 12.13 clients in 2024 saw 401 InvalidAuthenticationInfo with the challenge).
BEARER_CHALLENGE_SINCE = "2019-12-12"


class StorageError(Exception):
    """A storage refusal: status, Azure's code and message, extra XML elements and headers."""

    def __init__(self, status: int, code: str, message: str, *, details: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}  # e.g. {"AuthenticationErrorDetail": "…"} or {"HeaderName": "…"}
        self.headers = headers or {}


def challenge(tenant_id: str) -> dict[str, str]:
    """The bearer challenge Storage sends with a 401 (the SDK reads the tenant and resource from it)."""
    return {"WWW-Authenticate": f"Bearer authorization_uri=https://login.microsoftonline.com/{tenant_id}/oauth2/"
                                "authorize resource_id=https://storage.azure.com"}


# -- authentication ----------------------------------------------------------------------------------
_AUTH_FAILED = ("Server failed to authenticate the request. Make sure the value of Authorization header is "
                "formed correctly including the signature.")
_SEE_CHALLENGE = ("Server failed to authenticate the request. Please refer to the information in the "
                  "www-authenticate header.")


def authentication_failed(detail: str) -> StorageError:
    """403: a SAS or SharedKey signature that does not hold, or (older versions) a bad bearer token."""
    return StorageError(403, "AuthenticationFailed", _AUTH_FAILED, details={"AuthenticationErrorDetail": detail})


def invalid_bearer(detail: str, tenant_id: str, version: str) -> StorageError:
    """A bearer token Storage refuses: 401 with the challenge since 2019-12-12, 403 before."""
    if version >= BEARER_CHALLENGE_SINCE:
        return StorageError(401, "InvalidAuthenticationInfo", _SEE_CHALLENGE,
                            details={"AuthenticationErrorDetail": detail}, headers=challenge(tenant_id))
    return authentication_failed(detail)


def no_authentication(tenant_id: str, version: str) -> StorageError:
    """No SAS, no Authorization header, and the resource is not public."""
    if version >= BEARER_CHALLENGE_SINCE:
        return StorageError(401, "NoAuthenticationInformation", _SEE_CHALLENGE, headers=challenge(tenant_id))
    return resource_not_found()


def invalid_authentication_info() -> StorageError:
    return StorageError(400, "InvalidAuthenticationInfo",
                        "Authentication information is not given in the correct format. Check the value of "
                        "Authorization header.")


def authorization_permission_mismatch() -> StorageError:
    return StorageError(403, "AuthorizationPermissionMismatch",
                        "This request is not authorized to perform this operation using this permission.")


def authorization_protocol_mismatch() -> StorageError:
    return StorageError(403, "AuthorizationProtocolMismatch",
                        "This request is not authorized to perform this operation using this protocol.")


def authorization_source_ip_mismatch(ip: str) -> StorageError:
    return StorageError(403, "AuthorizationSourceIPMismatch",
                        f"This request is not authorized to perform this operation using this source IP {ip}.")


def authorization_resource_type_mismatch() -> StorageError:
    return StorageError(403, "AuthorizationResourceTypeMismatch",
                        "This request is not authorized to perform this operation using this resource type.")


def authorization_failure(detail: str) -> StorageError:
    return StorageError(403, "AuthorizationFailure", "This request is not authorized to perform this operation.",
                        details={"AuthenticationErrorDetail": detail})


def public_access_not_permitted() -> StorageError:
    return StorageError(409, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")


# -- resources -----------------------------------------------------------------------------------------
def resource_not_found() -> StorageError:
    return StorageError(404, "ResourceNotFound", "The specified resource does not exist.")


def account_not_found(account: str) -> StorageError:
    # Azure cannot say this (the account's host name does not resolve); path-style hosts can.
    return StorageError(404, "ResourceNotFound", f"The specified resource does not exist. (No storage account "
                                                 f"'{account}' in the emulated world.)")


def container_not_found() -> StorageError:
    return StorageError(404, "ContainerNotFound", "The specified container does not exist.")


def blob_not_found() -> StorageError:
    return StorageError(404, "BlobNotFound", "The specified blob does not exist.")


def container_already_exists() -> StorageError:
    return StorageError(409, "ContainerAlreadyExists", "The specified container already exists.")


def container_being_deleted() -> StorageError:
    return StorageError(409, "ContainerBeingDeleted", "The specified container is being deleted.")


def blob_already_exists() -> StorageError:
    return StorageError(409, "BlobAlreadyExists", "The specified blob already exists.")


def invalid_resource_name() -> StorageError:
    return StorageError(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")


def resource_name_length(limit_hint: str) -> StorageError:
    return StorageError(400, "OutOfRangeInput",
                        f"The specified resource name length is not within the permissible limits ({limit_hint}).")


# -- request shape -----------------------------------------------------------------------------------------
def condition_not_met() -> StorageError:
    return StorageError(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")


def invalid_range(size: int) -> StorageError:
    return StorageError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.",
                        headers={"Content-Range": f"bytes */{size}"})


def invalid_header_value(name: str, value: str, reason: str = "") -> StorageError:
    message = "The value for one of the HTTP headers is not in the correct format."
    return StorageError(400, "InvalidHeaderValue", message + (f" {reason}" if reason else ""),
                        details={"HeaderName": name, "HeaderValue": value})


def missing_required_header(name: str) -> StorageError:
    return StorageError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not "
                                                      "specified.", details={"HeaderName": name})


def missing_content_length() -> StorageError:
    return StorageError(411, "MissingContentLengthHeader", "The Content-Length header was not specified.")


def invalid_query_parameter(name: str, value: str, reason: str = "") -> StorageError:
    details = {"QueryParameterName": name, "QueryParameterValue": value}
    if reason:
        details["Reason"] = reason
    return StorageError(400, "InvalidQueryParameterValue",
                        "Value for one of the query parameters specified in the request URI is invalid.",
                        details=details)


def out_of_range_query_parameter(name: str, value: str, minimum: int, maximum: int) -> StorageError:
    return StorageError(400, "OutOfRangeQueryParameterValue",
                        "One of the query parameters specified in the request URI is outside the permissible range.",
                        details={"QueryParameterName": name, "QueryParameterValue": value,
                                 "MinimumAllowed": str(minimum), "MaximumAllowed": str(maximum)})


def invalid_metadata() -> StorageError:
    return StorageError(400, "InvalidMetadata",
                        "The metadata specified is invalid. It has characters that are not permitted.")


def metadata_too_large() -> StorageError:
    return StorageError(400, "MetadataTooLarge",
                        "The size of the specified metadata exceeds the maximum size permitted (8 KiB).")


def md5_mismatch(sent: str, computed: str) -> StorageError:
    return StorageError(400, "Md5Mismatch",
                        "The MD5 value specified in the request did not match with the MD5 value calculated by "
                        "the server.", details={"UserSpecifiedMd5": sent, "ServerCalculatedMd5": computed})


def invalid_md5(value: str) -> StorageError:
    return StorageError(400, "InvalidMd5", "The MD5 value specified in the request is invalid. The MD5 value must be "
                                           "128 bits and Base64-encoded.", details={"HeaderValue": value})


def block_count_exceeds_limit() -> StorageError:
    return StorageError(409, "BlockCountExceedsLimit",
                        "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")


def invalid_block_id() -> StorageError:
    return StorageError(400, "InvalidQueryParameterValue",
                        "Value for one of the query parameters specified in the request URI is invalid.",
                        details={"QueryParameterName": "blockid",
                                 "Reason": "a block id is Base64 text of at most 64 bytes"})


def invalid_block_list(reason: str) -> StorageError:
    return StorageError(400, "InvalidBlockList", f"The specified block list is invalid. ({reason})")


def invalid_xml_document(reason: str) -> StorageError:
    return StorageError(400, "InvalidXmlDocument", f"XML specified is not syntactically valid. ({reason})")


def invalid_xml_node_value(node: str, value: str, reason: str = "") -> StorageError:
    message = "The value for one of the XML nodes is not in the correct format."
    return StorageError(400, "InvalidXmlNodeValue", message + (f" {reason}" if reason else ""),
                        details={"XmlNodeName": node, "XmlNodeValue": value})


def request_body_too_large(limit: int) -> StorageError:
    return StorageError(413, "RequestBodyTooLarge",
                        "The request body is too large and exceeds the maximum permissible limit.",
                        details={"MaxLimit": str(limit)})


def unsupported_http_verb(method: str, allowed: list[str]) -> StorageError:
    return StorageError(405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.",
                        headers={"Allow": ", ".join(sorted(set(allowed)))} if allowed else None,
                        details={"HttpVerb": method})


def invalid_uri(path: str) -> StorageError:
    return StorageError(400, "InvalidUri", "The requested URI does not represent any resource on the server.",
                        details={"UriPath": path})


# -- the hierarchical namespace (Data Lake Gen2; both endpoints of an HNS account) --------------------------
# Codes and statuses as azure-storage-file-datalake's StorageErrorCode and Hadoop ABFS's AzureServiceErrorCode
# list them; messages as Azure words them in answers quoted in SDK issues.
def path_conflict() -> StorageError:
    return StorageError(409, "PathConflict", "The specified path, or an element of the path, exists and its resource "
                                             "type is invalid for this operation.")


def directory_not_empty() -> StorageError:
    return StorageError(409, "DirectoryNotEmpty",
                        "The recursive query parameter value must be true to delete a non-empty directory.")


def path_already_exists() -> StorageError:
    return StorageError(409, "PathAlreadyExists", "The specified path already exists.")


def invalid_flush_position() -> StorageError:
    return StorageError(400, "InvalidFlushPosition",
                        "The uploaded data is not contiguous or the position query parameter value is not equal to "
                        "the length of the file after appending the uploaded data.")


def content_length_must_be_zero() -> StorageError:
    return StorageError(400, "ContentLengthMustBeZero",
                        "The Content-Length request header must be zero for this operation.")


def source_path_not_found() -> StorageError:
    return StorageError(404, "SourcePathNotFound", "The source path for a rename operation does not exist.")


def rename_destination_parent_not_found() -> StorageError:
    return StorageError(404, "RenameDestinationParentPathNotFound",
                        "The parent directory of the destination path does not exist.")


def invalid_rename_source_path() -> StorageError:
    return StorageError(409, "InvalidRenameSourcePath",
                        "The source directory cannot be the same as the destination directory, nor can the "
                        "destination be a subdirectory of the source directory.")


def invalid_source_or_destination_resource_type() -> StorageError:
    return StorageError(409, "InvalidSourceOrDestinationResourceType",
                        "The source and destination resource type must be identical.")


def invalid_source_uri(reason: str = "") -> StorageError:
    return StorageError(400, "InvalidSourceUri", "The source URI is invalid." + (f" ({reason})" if reason else ""))


def invalid_access_control_list(reason: str) -> StorageError:
    return StorageError(400, "InvalidAccessControlList", f"The access control list value is invalid. ({reason})")


def invalid_property_name() -> StorageError:
    return StorageError(400, "InvalidPropertyName", "The property name contains invalid characters.")


def missing_required_query_parameter(name: str) -> StorageError:
    return StorageError(400, "MissingRequiredQueryParameter",
                        "A query parameter that's mandatory for this request is not specified.",
                        details={"QueryParameterName": name})


def unsupported_rest_version(version: str) -> StorageError:
    return StorageError(400, "UnsupportedRestVersion",
                        f"The specified Rest Version is Unsupported. ('{version}': the Data Lake Gen2 API starts at "
                        "2018-03-28.)")


def not_emulated(operation: str) -> StorageError:
    """A real Blob operation the emulator does not have: say so rather than pretend."""
    return StorageError(501, "NotImplemented",
                        f"The emulated Blob service does not implement '{operation}'. See the README for what it "
                        "does.")


def internal_error() -> StorageError:
    return StorageError(500, "InternalError",
                        "The server encountered an internal error. Please retry the request. (The emulator logged "
                        "the details.)")


def as_dict(error: StorageError) -> dict[str, Any]:
    """For logs and tests: the parts of a refusal."""
    return {"status": error.status, "code": error.code, "message": error.message, **error.details}
