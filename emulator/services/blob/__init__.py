"""Azure Blob Storage's endpoint (``<account>.blob.core.windows.net``), path style on its own HTTPS port.

URLs are ``https://127.0.0.1:<port>/<account>/<container>/<blob>``, which azure-storage-blob uses for
an IP host (it takes the account from the first path segment). The data, the auth rules and the
error catalogue belong to the storage account and live in ``services/storage`` (shared with the
Data Lake Gen2 endpoint); this folder maps the Blob REST API onto them.

Rooms: routes.py (operations as data: verb, restype/comp, handler, RBAC action, SAS permissions, body
limit), handlers.py (thin: dispatch, authorize, call the model, answer), render.py (XML listings and
property headers), errors.py (the storage catalogue rendered as Azure's XML errors).
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import RouteTable, build_app
from emulator.services.storage.listener import StorageListener
from emulator.services.storage.models import StorageModel, model_for

from . import handlers
from .errors import CATALOGUE
from .routes import ROUTES

TABLE = RouteTable(ROUTES)


class BlobListener(StorageListener):
    """The blob endpoint's listener on the shared storage model (storage/listener.py)."""

    def __init__(self, context: EmulatorContext, model: StorageModel) -> None:
        app = build_app(TABLE, handlers, CATALOGUE)
        app[handlers.MODEL] = model
        super().__init__("blob", app, context, model)


def create(context: EmulatorContext) -> BlobListener:
    return BlobListener(context, model_for(context, "blob"))
