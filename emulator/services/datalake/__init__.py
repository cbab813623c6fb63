"""Azure Data Lake Storage Gen1: the WebHDFS endpoint of ``<account>.azuredatalakestore.net``.

The service was retired on 2024-02-29; it is emulated so that the tutorial's lesson (folder ACLs for
the VM's identity, a token for ``https://datalake.azure.net/``, LISTSTATUS, the two-step CREATE)
still runs. Tokens must be for exactly ``https://datalake.azure.net/``; access is POSIX ACLs only.

Rooms: routes.py (the op table), handlers.py (thin, plus ``before``), models.py (namespace, ACL
checks), bodies.py (file contents on disk), errors.py (every RemoteException). The ACL rules
themselves are emulator.core.posix_acl (shared with Data Lake Gen2).
"""

from __future__ import annotations

from emulator.core.context import EmulatorContext
from emulator.core.http import HttpListener, RouteTable, build_app

from . import handlers
from .models import DataLakeGen1, lake_for
from .routes import ROUTES

__all__ = ["create", "seed", "DataLakeGen1", "lake_for"]


def create(context: EmulatorContext) -> HttpListener:
    app = build_app(RouteTable(ROUTES), handlers, handlers.ERRORS, before=handlers.before)
    app[handlers.MODEL] = lake_for(context)
    return HttpListener("datalake", app, context.certificates.https_context)


def seed(context: EmulatorContext) -> None:
    """The declared account (world.json "dataLakeGen1"): root, folders and files, owned by the admin."""
    lake_for(context).seed()
