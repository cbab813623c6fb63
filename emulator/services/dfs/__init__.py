"""Azure Data Lake Storage Gen2's endpoint (``<account>.dfs.core.windows.net``), path style on its own HTTPS port.

URLs are ``https://127.0.0.1:<port>/<account>/<filesystem>/<path>``, which azure-storage-file-datalake uses
for an IP host (as azure-storage-blob does). The data is the storage account's (services/storage: one
model for the blob and DFS endpoints, with the hierarchical namespace in storage/namespace.py), so a file
written here is a blob there and the other way round. The SDK also sends some of its calls (download,
properties, filesystem create/delete/list) to the *blob* API at the same URL: this listener answers those
with the blob endpoint's handlers (handlers.py says how a request is told apart).

Rooms: routes.py (operations as data: verb, resource/action, handler, RBAC action, SAS permissions, body
limit), handlers.py (thin: dispatch, authorize, call the model, answer), models.py (the Gen2 operations:
create, append/flush, rename, delete, ACLs, listings), errors.py (the storage catalogue as Gen2's JSON).
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import RouteTable, build_app
from emulator.services.blob import handlers as blob_handlers
from emulator.services.storage.listener import StorageListener
from emulator.services.storage.models import StorageModel, model_for

from . import handlers
from .errors import CATALOGUE
from .models import DataLake
from .routes import ROUTES

TABLE = RouteTable(ROUTES)
HOLDER = "dfs"


class DfsListener(StorageListener):
    """The DFS endpoint's listener on the shared storage model (storage/listener.py)."""

    def __init__(self, context: EmulatorContext, model: StorageModel) -> None:
        app = build_app(TABLE, handlers, CATALOGUE)
        app[handlers.MODEL] = DataLake(model)
        app[blob_handlers.MODEL] = model  # the Blob REST requests this listener answers too
        super().__init__(HOLDER, app, context, model)


def create(context: EmulatorContext) -> DfsListener:
    return DfsListener(context, model_for(context, HOLDER))
