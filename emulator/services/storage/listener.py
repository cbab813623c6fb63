"""The listener every storage endpoint (blob, DFS) runs: one HTTPS port on the shared storage model.

Each endpoint tells the model where it listens (ARM shows it in the accounts' ``primaryEndpoints``) and
holds the model under its own name while it runs, so the last endpoint to stop closes the model.
"""

from __future__ import annotations

from aiohttp import web

from emulator.core.context import EmulatorContext
from emulator.core.http import HttpListener

from .models import StorageModel, forget


class StorageListener(HttpListener):
    """An HttpListener named after its endpoint ("blob", "dfs"), serving ``app`` on ``model``."""

    def __init__(self, name: str, app: web.Application, context: EmulatorContext, model: StorageModel) -> None:
        super().__init__(name, app, context.certificates.https_context)
        self.context = context
        self.model = model

    async def start(self, host: str, port: int) -> int:
        bound = await super().start(host, port)
        self.model.endpoints[self.name] = f"https://{host}:{bound}"
        return bound

    async def stop(self) -> None:
        await super().stop()
        self.model.endpoints.pop(self.name, None)
        forget(self.context, self.name)  # the last listener to stop closes the shared model
