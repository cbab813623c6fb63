"""The WebHDFS routing table of Data Lake Storage Gen1.

One URL shape, ``/webhdfs/v1/<path>?op=<OPERATION>`` (only the host differs from
``https://<account>.azuredatalakestore.net``); the operation rides in the query, so the table that
matters is ``OPERATIONS``: op → HTTP method, handler, and the flag that skips the two-step redirect
(``write=true`` for CREATE, ``append=true`` for APPEND, ``read=true`` for OPEN).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.core.http import KIB, Route

from .errors import MAX_WRITE_BYTES

PREFIX = "/webhdfs/v1"
SMALL_BODY = 64 * KIB  # GET and DELETE carry no body; a stray one is read (bounded) and ignored


@dataclass(frozen=True)
class Operation:
    method: str
    handler: str  # a function of handlers.py
    redirect_flag: str | None = None  # without <flag>=true the answer is 307 to the same URL with it


OPERATIONS: dict[str, Operation] = {
    "LISTSTATUS": Operation("GET", "list_status"),
    "GETFILESTATUS": Operation("GET", "get_file_status"),
    "GETCONTENTSUMMARY": Operation("GET", "get_content_summary"),
    "GETACLSTATUS": Operation("GET", "get_acl_status"),
    "MSGETACLSTATUS": Operation("GET", "ms_get_acl_status"),  # Gen1's own: every entry (the SDK uses it)
    "CHECKACCESS": Operation("GET", "check_access"),
    "OPEN": Operation("GET", "open_file", "read"),
    "MKDIRS": Operation("PUT", "mkdirs"),
    "CREATE": Operation("PUT", "create", "write"),
    "RENAME": Operation("PUT", "rename"),
    "SETACL": Operation("PUT", "set_acl"),
    "MODIFYACLENTRIES": Operation("PUT", "modify_acl_entries"),
    "REMOVEACLENTRIES": Operation("PUT", "remove_acl_entries"),
    "REMOVEACL": Operation("PUT", "remove_acl"),
    "REMOVEDEFAULTACL": Operation("PUT", "remove_default_acl"),
    "SETPERMISSION": Operation("PUT", "set_permission"),
    "SETOWNER": Operation("PUT", "set_owner"),
    "APPEND": Operation("POST", "append", "append"),
    "DELETE": Operation("DELETE", "delete"),
}

# PUT and POST carry CREATE's and APPEND's bodies: streamed to disk, at most 4 MB per call (Gen1's limit).
_LIMITS = {"GET": (SMALL_BODY, False), "DELETE": (SMALL_BODY, False),
           "PUT": (MAX_WRITE_BYTES, True), "POST": (MAX_WRITE_BYTES, True)}

ROUTES = [
    Route(method, pattern, "webhdfs", max_body=limit, streamed=streamed)
    for pattern in (PREFIX, PREFIX + "/{path:path}")
    for method, (limit, streamed) in _LIMITS.items()
]
