"""The blob endpoint's routing table: which operation a request is, and what it needs.

Blob operations share paths and differ by verb and the ``restype``/``comp`` query parameters, so the
table is two-level: ``OPERATIONS`` (data: Azure's operation name, verb, level, query, handler, the
RBAC action or data action and SAS permissions it needs, its body limit) and the path ``ROUTES``
that hand every request at a level to :func:`handlers.dispatch`, which picks the operation.
Actions as the Storage REST reference lists them under "Authorize with Microsoft Entra ID" for
each operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.core.http import KIB, MIB, Route
from emulator.services.storage.access import Need

_STORAGE = "Microsoft.Storage/storageAccounts/blobServices"
CONTAINER_READ = f"{_STORAGE}/containers/read"
CONTAINER_WRITE = f"{_STORAGE}/containers/write"
CONTAINER_DELETE = f"{_STORAGE}/containers/delete"
BLOB_READ = f"{_STORAGE}/containers/blobs/read"
BLOB_WRITE = f"{_STORAGE}/containers/blobs/write"
BLOB_ADD = f"{_STORAGE}/containers/blobs/add/action"
BLOB_DELETE = f"{_STORAGE}/containers/blobs/delete"
DELEGATION_KEY = f"{_STORAGE}/generateUserDelegationKey/action"

SMALL_BODY = 64 * KIB
BLOCK_LIST_BODY = 8 * MIB  # 50,000 <Latest> entries of 64-character ids fit
MAX_PUT_BLOB = 5000 * MIB  # Put Blob's limit since 2019-12-12
MAX_PUT_BLOCK = 4000 * MIB  # Put Block's limit since 2019-12-12


@dataclass(frozen=True)
class Operation:
    name: str  # Azure's name for it
    method: str
    level: str  # "service", "container" or "blob"
    restype: str | None
    comp: str | None
    handler: str  # a function of handlers.py
    need: Need
    max_body: int = SMALL_BODY
    streamed: bool = False  # the handler reads the body itself (blob content)


# acl=True: on an HNS account the path's POSIX ACLs may allow what RBAC does not (container operations: RBAC only)
_WRITE_BLOB = Need(BLOB_WRITE, sas="w", create=("c", BLOB_ADD), acl=True)
_READ_BLOB = Need(BLOB_READ, sas="r", acl=True)

OPERATIONS = [
    Operation("List Containers", "GET", "service", None, "list", "list_containers", Need(CONTAINER_READ, data=False)),
    Operation("Get User Delegation Key", "POST", "service", "service", "userdelegationkey", "user_delegation_key",
              Need(DELEGATION_KEY, data=False, bearer_only=True)),
    Operation("Create Container", "PUT", "container", "container", None, "create_container",
              Need(CONTAINER_WRITE, data=False)),
    Operation("Get Container Properties", "GET", "container", "container", None, "container_properties",
              Need(CONTAINER_READ, data=False)),
    Operation("Delete Container", "DELETE", "container", "container", None, "delete_container",
              Need(CONTAINER_DELETE, data=False)),
    Operation("Get Container Metadata", "GET", "container", "container", "metadata", "container_properties",
              Need(CONTAINER_READ, data=False)),
    Operation("Set Container Metadata", "PUT", "container", "container", "metadata", "set_container_metadata",
              Need(CONTAINER_WRITE, data=False)),
    Operation("List Blobs", "GET", "container", "container", "list", "list_blobs",
              Need(BLOB_READ, sas="l", sas_resources=("c",), acl=True)),
    Operation("Put Blob", "PUT", "blob", None, None, "put_blob", _WRITE_BLOB, MAX_PUT_BLOB, streamed=True),
    Operation("Put Block", "PUT", "blob", None, "block", "put_block", _WRITE_BLOB, MAX_PUT_BLOCK, streamed=True),
    Operation("Put Block List", "PUT", "blob", None, "blocklist", "put_block_list", _WRITE_BLOB, BLOCK_LIST_BODY),
    Operation("Get Block List", "GET", "blob", None, "blocklist", "get_block_list", _READ_BLOB),
    Operation("Get Blob", "GET", "blob", None, None, "get_blob", _READ_BLOB),
    Operation("Delete Blob", "DELETE", "blob", None, None, "delete_blob", Need(BLOB_DELETE, sas="d", acl=True)),
    Operation("Get Blob Metadata", "GET", "blob", None, "metadata", "blob_metadata", _READ_BLOB),
    Operation("Set Blob Metadata", "PUT", "blob", None, "metadata", "set_blob_metadata",
              Need(BLOB_WRITE, sas="w", acl=True)),
    Operation("Set Blob Properties", "PUT", "blob", None, "properties", "set_blob_properties",
              Need(BLOB_WRITE, sas="w", acl=True)),
]

# Real Blob operations (by comp) the emulator does not have: answered 501 with their name, not 400.
NOT_EMULATED = {
    "lease": "Lease", "snapshot": "Snapshot Blob", "tags": "Blob Tags", "copy": "Copy Blob",
    "appendblock": "Append Block", "page": "Put Page", "pagelist": "Get Page Ranges", "seal": "Seal Append Blob",
    "tier": "Set Blob Tier", "undelete": "Undelete", "expiry": "Set Blob Expiry", "query": "Query Blob Contents",
    "acl": "Container ACL", "immutabilitypolicies": "Immutability Policy", "legalhold": "Legal Hold",
    "batch": "Blob Batch", "stats": "Service Stats", "properties": "Service/Account Properties",
    "blobs": "Find Blobs by Tags", "rename": "Rename Container", "incrementalcopy": "Incremental Copy",
    "block-from-url": "Put Block From URL",
}


def _routes() -> list[Route]:
    """One route per path level and verb; handlers.dispatch_<level> picks the operation from OPERATIONS."""
    patterns = {"service": "/{account}", "container": "/{account}/{container}",
                "blob": "/{account}/{container}/{blob:path}"}
    routes = []
    for level, pattern in patterns.items():
        for method in ("GET", "PUT", "DELETE", "POST"):
            at_level = [op for op in OPERATIONS if op.level == level and op.method == method]
            if at_level:
                routes.append(Route(method, pattern, f"dispatch_{level}",
                                    max_body=max(op.max_body for op in at_level),
                                    streamed=any(op.streamed for op in at_level)))
    return routes


ROUTES = _routes()
