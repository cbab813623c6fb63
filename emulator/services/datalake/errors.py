"""Every wire error of the emulated Data Lake Storage Gen1 (WebHDFS) endpoint.

Body shape, as Gen1 answered (recorded in the azure-datalake-store SDK's test cassettes)::

    {"RemoteException":{"exception":"FileNotFoundException","message":"File/Folder does not exist:
     /a/b [<request id>][<time>]","javaClassName":"java.io.FileNotFoundException"}}

with the headers ``x-ms-request-id``, ``x-ms-webhdfs-version`` and ``Status`` (Gen1's own error
number, e.g. ``0x8309000A`` for a missing path, ``0x83090AA2`` for an ACL refusal). Statuses per
exception class follow azure-rest-api-specs (DataLakeStore filesystem.json, "AdlsRemoteException"
subtypes) and Hadoop's WebHDFS "Error Responses": IllegalArgumentException and
UnsupportedOperationException 400, SecurityException 401, AccessControlException,
FileAlreadyExistsException and IOException 403, FileNotFoundException 404, BadOffsetException 400,
RuntimeException 500. One grep for an exception name finds it here.
"""

from __future__ import annotations

# Gen1's error numbers, where a recorded answer shows them (the "Status" header; 0x0 on success).
STATUS_NOT_FOUND = "0x8309000A"
STATUS_ACL_DENIED = "0x83090AA2"
STATUS_BAD_OFFSET = "0x83090015"
ACL_DENIED_TEXT = ("Forbidden. ACL verification failed. Either the resource does not exist or the user is not "
                   "authorized to perform the requested operation.")
MAX_WRITE_BYTES = 4 * 1024 * 1024  # "The maximum content size is 4MB" (CREATE and APPEND, filesystem.json)


class WebHdfsError(Exception):
    def __init__(self, status: int, exception: str, java_class: str, message: str,
                 gen1_status: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.exception = exception
        self.java_class = java_class
        self.message = message
        self.gen1_status = gen1_status
        self.headers = headers or {}


# -- request shape (400) ---------------------------------------------------------------------------
def illegal_argument(message: str) -> WebHdfsError:
    return WebHdfsError(400, "IllegalArgumentException", "java.lang.IllegalArgumentException", message)


def invalid_parameter(name: str, value: str, why: str) -> WebHdfsError:
    # Hadoop's wording for a parameter it cannot parse (the spec quotes it as an example).
    return illegal_argument(f'Invalid value for webhdfs parameter "{name}": {why} (value: "{value}")')


def missing_parameter(name: str, op: str) -> WebHdfsError:
    return illegal_argument(f'Missing required webhdfs parameter "{name}" for op={op}.')


def unknown_operation(op: str, method: str) -> WebHdfsError:
    shown = op if op else "(none)"
    return invalid_parameter("op", shown, f"No {method} operation named {shown!r}; see the WebHDFS operations "
                                          "of Data Lake Storage Gen1")


def hostile_path(why: str) -> WebHdfsError:
    return illegal_argument(f"Invalid path name: {why}")


def invalid_acl(message: str) -> WebHdfsError:
    return illegal_argument(f'Invalid value for webhdfs parameter "aclspec": {message}')


def unsupported_operation(message: str) -> WebHdfsError:
    return WebHdfsError(400, "UnsupportedOperationException", "java.lang.UnsupportedOperationException", message)


def not_webhdfs(path: str) -> WebHdfsError:
    return unsupported_operation(f"'{path}' is not a WebHDFS URL: Data Lake Storage Gen1 serves "
                                 "/webhdfs/v1/<path>?op=<OPERATION>.")


def bad_offset(op: str, detail: str) -> WebHdfsError:
    return WebHdfsError(400, "BadOffsetException", "org.apache.hadoop.fs.adl.BadOffsetException",
                        f"{op} failed with error 0x83090015 (Bad request. Invalid offset.). {detail}",
                        STATUS_BAD_OFFSET)


def body_too_large(limit: int) -> WebHdfsError:
    # Gen1's own answer to an oversized write was not recorded; the limit is documented (4 MB per call).
    return illegal_argument(f"The request body is larger than {limit // (1024 * 1024)} MB, the most one CREATE or "
                            "APPEND accepts: append larger content in 4 MB chunks.")


# -- authentication (401) ----------------------------------------------------------------------------
def security(message: str, tenant: str) -> WebHdfsError:
    # The class and status are the spec's (AdlsSecurityException, 401); the wording is ours, since no
    # recorded Gen1 answer shows it. The challenge names the authority, as other Azure data planes do.
    challenge = (f'Bearer authorization_uri="https://login.windows.net/{tenant}/oauth2/authorize", '
                 'resource_id="https://datalake.azure.net/"')
    return WebHdfsError(401, "SecurityException", "java.lang.SecurityException", message,
                        headers={"WWW-Authenticate": challenge})


def missing_token(tenant: str) -> WebHdfsError:
    return security("Authentication failed: the 'Authorization' header is missing. Send 'Authorization: Bearer "
                    "<token for https://datalake.azure.net/>'.", tenant)


def bad_scheme(tenant: str) -> WebHdfsError:
    return security("Authentication failed: the 'Authorization' header must be 'Bearer <access token>'.", tenant)


def wrong_audience(audience: str, tenant: str) -> WebHdfsError:
    return security(f"Authentication failed: the access token's audience '{audience}' is not "
                    "'https://datalake.azure.net/'. Ask for a token for exactly that resource, trailing slash "
                    "included.", tenant)


def expired_token(tenant: str) -> WebHdfsError:
    return security("Authentication failed: the access token is expired.", tenant)


def wrong_issuer(issuer: str, tenant: str) -> WebHdfsError:
    return security(f"Authentication failed: the access token's issuer '{issuer}' is not this account's tenant "
                    f"'https://sts.windows.net/{tenant}/'.", tenant)


def invalid_token(tenant: str) -> WebHdfsError:
    return security("Authentication failed: the access token is not valid.", tenant)


# -- authorization and state (403) ---------------------------------------------------------------------
def access_denied(op: str) -> WebHdfsError:
    return WebHdfsError(403, "AccessControlException", "org.apache.hadoop.security.AccessControlException",
                        f"{op} failed with error 0x83090aa2 ({ACL_DENIED_TEXT}).", STATUS_ACL_DENIED)


def file_already_exists(path: str, what: str = "already exists") -> WebHdfsError:
    return WebHdfsError(403, "FileAlreadyExistsException", "org.apache.hadoop.fs.FileAlreadyExistsException",
                        f"{path} {what}.")


def parent_not_directory(path: str) -> WebHdfsError:
    return WebHdfsError(403, "ParentNotDirectoryException", "org.apache.hadoop.fs.ParentNotDirectoryException",
                        f"Parent path is not a directory: {path}")


def directory_not_empty(path: str) -> WebHdfsError:
    return WebHdfsError(403, "PathIsNotEmptyDirectoryException",
                        "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
                        f"`{path} is non empty': Directory is not empty")


# -- not found (404) ------------------------------------------------------------------------------------
def file_not_found(path: str) -> WebHdfsError:
    return WebHdfsError(404, "FileNotFoundException", "java.io.FileNotFoundException",
                        f"File/Folder does not exist: {path}", STATUS_NOT_FOUND)


def not_a_file(path: str) -> WebHdfsError:
    return WebHdfsError(404, "FileNotFoundException", "java.io.FileNotFoundException", f"Path is not a file: {path}",
                        STATUS_NOT_FOUND)


# -- method (405) / server (500) --------------------------------------------------------------------------
def method_not_allowed(method: str) -> WebHdfsError:
    return WebHdfsError(405, "UnsupportedOperationException", "java.lang.UnsupportedOperationException",
                        f"WebHDFS has no {method} operations (GET, PUT, POST and DELETE carry them).")


def internal() -> WebHdfsError:
    return WebHdfsError(500, "RuntimeException", "java.lang.RuntimeException",
                        "The emulated Data Lake Storage Gen1 hit an unexpected error; its log has the details.")
