"""Azure Storage accounts: the model every storage endpoint shares, and their Resource Manager routes.

Why a folder of its own: on Azure one storage account is reached through several hosts — Blob
(``<account>.blob.core.windows.net``), Data Lake Gen2 (``<account>.dfs.core.windows.net``) — that see
the same data (a file written through DFS is a blob). So the account's state and its rules live
here once, and each endpoint is a thin folder of its own (``services/blob``, later ``services/dfs``)
that maps its wire format onto this model. Imports go one way: endpoint → storage → core (and
storage → arm for the Resource Manager routes, which ARM mounts through ``provider_routes``).

Rooms: models.py (accounts, containers, blobs, blocks, metadata, ETags, conditions; SQLite rows),
bodies.py (blob bodies: up to 64 KiB rows in the store, larger ones files: temporary file, fsync, rename),
access.py (SAS → Bearer → SharedKey → anonymous, RBAC data actions), sas.py (strings to sign per version,
user delegation keys, minting),
sharedkey.py (the Shared Key string to sign), wire.py (what the blob and DFS endpoints read from a request
alike: If-* headers, MD5 headers, the raw path), listener.py (the HTTPS listener each endpoint runs on
the model), errors.py (the catalogue of storage data-plane errors),
routes.py + handlers.py (``Microsoft.Storage/storageAccounts`` on Resource Manager: GET, list,
listKeys, listServiceSas).
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext

from .models import StorageModel, model_for
from .routes import ARM_ROUTES

__all__ = ["ARM_ROUTES", "StorageModel", "model_for", "seed", "scope_exists"]


def seed(context: EmulatorContext) -> None:
    """The declared accounts (world.json, key "storage"): ARM documents, containers and blobs."""
    model_for(context).seed()


def scope_exists(context: EmulatorContext, scope: str) -> bool:
    """Role assignments may name a container as their scope (…/blobServices/default/containers/<name>)."""
    return model_for(context).scope_exists(scope)
