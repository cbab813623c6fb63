"""The DFS endpoint's routing table: which Data Lake Gen2 operation a request is, and what it needs.

Data Lake Gen2 operations share paths and differ by verb and one query parameter (``resource`` for
filesystems and creation, ``action`` for updates and properties) — the REST reference's "Filesystem"
and "Path" operation groups and azure-rest-api-specs' DataLakeStorage.json. So, as for the blob
endpoint, ``OPERATIONS`` is the table (Azure's name, verb, level, the parameter's value, handler, the
RBAC action or data action and SAS permissions it needs, body limit) and ``ROUTES`` hands every
request of a level and verb to ``handlers.dispatch_<level>``.

RBAC data actions per operation as Microsoft's "Azure permissions for … data operations" lists them:
create, append, flush and properties need ``blobs/write``; rename ``blobs/move/action``; ACL changes
``blobs/modifyPermissions/action`` (and ``blobs/manageOwnership/action`` to change the owner or group);
reads ``blobs/read``; delete ``blobs/delete``. ``acl=True``: when RBAC does not grant, the path's POSIX
ACLs decide (storage/namespace.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.core.http import KIB, MIB, Route
from emulator.services.blob import routes as blob_routes
from emulator.services.storage.access import Need

_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
BLOB_MOVE = f"{_BLOBS}/move/action"
MODIFY_PERMISSIONS = f"{_BLOBS}/modifyPermissions/action"
MANAGE_OWNERSHIP = f"{_BLOBS}/manageOwnership/action"

SMALL_BODY = 64 * KIB
MAX_APPEND = 4000 * MIB  # Append Data's limit since 2019-12-12 (as Put Block's)
MAX_LIST_RESULTS = 5000
MAX_ACL_RECORDS = 2000  # setAccessControlRecursive: "If omitted or greater than 2,000, … up to 2,000 items"
RENAME = "(rename)"  # the key of Rename: a PUT on a path with x-ms-rename-source instead of ?resource=


@dataclass(frozen=True)
class Operation:
    name: str  # Azure's name for it
    method: str  # GET also answers HEAD where the table says HEAD
    level: str  # "account", "filesystem" or "path"
    key: str | None  # the value of ?resource= (account, filesystem, file/directory) or ?action=; None: neither
    handler: str  # a function of handlers.py
    need: Need
    max_body: int = SMALL_BODY


_READ = Need(blob_routes.BLOB_READ, sas="r", acl=True)
_WRITE = Need(blob_routes.BLOB_WRITE, sas="w", acl=True)
_CREATE = Need(blob_routes.BLOB_WRITE, sas="cw", create=("c", blob_routes.BLOB_ADD), acl=True)

OPERATIONS = [
    Operation("List Filesystems", "GET", "account", "account", "list_filesystems",
              Need(blob_routes.CONTAINER_READ, data=False)),
    Operation("Create Filesystem", "PUT", "filesystem", "filesystem", "create_filesystem",
              Need(blob_routes.CONTAINER_WRITE, data=False)),
    Operation("Set Filesystem Properties", "PATCH", "filesystem", "filesystem", "set_filesystem_properties",
              Need(blob_routes.CONTAINER_WRITE, data=False)),
    Operation("Get Filesystem Properties", "HEAD", "filesystem", "filesystem", "filesystem_properties",
              Need(blob_routes.CONTAINER_READ, data=False)),
    Operation("Delete Filesystem", "DELETE", "filesystem", "filesystem", "delete_filesystem",
              Need(blob_routes.CONTAINER_DELETE, data=False)),
    Operation("List Paths", "GET", "filesystem", "filesystem", "list_paths",
              Need(blob_routes.BLOB_READ, sas="l", sas_resources=("c",), acl=True)),
    Operation("Create File", "PUT", "path", "file", "create_path", _CREATE),
    Operation("Create Directory", "PUT", "path", "directory", "create_path", _CREATE),
    Operation("Rename", "PUT", "path", RENAME, "rename_path", Need(BLOB_MOVE, sas="m", acl=True)),
    Operation("Append Data", "PATCH", "path", "append", "append_data",
              Need(blob_routes.BLOB_WRITE, sas="aw", acl=True), MAX_APPEND),
    Operation("Flush Data", "PATCH", "path", "flush", "flush_data", _WRITE),
    Operation("Set Properties", "PATCH", "path", "setProperties", "set_path_properties", _WRITE),
    Operation("Set Access Control", "PATCH", "path", "setAccessControl", "set_access_control",
              Need(MODIFY_PERMISSIONS, sas="p", acl=True)),
    Operation("Set Access Control Recursive", "PATCH", "path", "setAccessControlRecursive",
              "set_access_control_recursive", Need(MODIFY_PERMISSIONS, sas="p", acl=True)),
    Operation("Read", "GET", "path", None, "read_path", _READ),
    Operation("Get Properties", "HEAD", "path", None, "path_properties", _READ),
    Operation("Get Status", "HEAD", "path", "getStatus", "path_properties", _READ),
    Operation("Get Access Control", "HEAD", "path", "getAccessControl", "path_properties",
              Need(blob_routes.BLOB_READ, sas="re", acl=True)),
    Operation("Delete", "DELETE", "path", None, "delete_path", Need(blob_routes.BLOB_DELETE, sas="d", acl=True)),
]

# Real Data Lake Gen2 operations (by ?action= or verb) the emulator does not have: answered 501 by name.
NOT_EMULATED = {"lease": "Path Lease", "concurrentappend": "Concurrent Append", "undelete": "Path Undelete",
                "expiry": "Set Expiry"}


def _routes() -> list[Route]:
    """One route per level and verb, streamed: handlers read the one body they take (Append Data) themselves,
    after authorization, and a Blob REST request on this listener (handlers.py) reads its own as the blob
    endpoint does. The limit is the largest of the level's Data Lake and Blob operations."""
    patterns = {"account": "/{account}", "filesystem": "/{account}/{filesystem}",
                "path": "/{account}/{filesystem}/{path:path}"}
    blob_levels = {"account": "service", "filesystem": "container", "path": "blob"}
    routes = []
    for level, pattern in patterns.items():
        for method in ("GET", "PUT", "PATCH", "DELETE", "POST"):
            limits = [op.max_body for op in OPERATIONS if op.level == level and op.method == method]
            limits += [op.max_body for op in blob_routes.OPERATIONS
                       if op.level == blob_levels[level] and op.method == method]
            routes.append(Route(method, pattern, f"dispatch_{level}", max_body=max(limits, default=SMALL_BODY),
                                streamed=True))
    return routes


ROUTES = _routes()
