"""The emulated services, one folder each (routes.py, handlers.py, models.py, errors.py).

To add a service: copy a folder, give it a ``create(context)`` returning a listener, and list it
below (and its port in core/settings.py); one that seeds state goes in ``SEEDING_SERVICES`` (core/world.py),
which is part of the world's fingerprint, so existing data dirs are seeded again at their next start (a seeder
whose output changes shape while world.json stays the same needs ``STATE_VERSION`` bumped for the same effect).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from emulator.core.context import EmulatorContext
from emulator.core.http import Listener
from emulator.core.world import SEEDING_SERVICES
from emulator.profile import CONTROL_PREFIX

from .control.models import ControlledEmulator


def create_listeners(context: EmulatorContext, emulator: ControlledEmulator) -> list[Listener]:
    """Every listener; the control plane gets the running emulator as a small interface, not the app."""
    from . import arm, blob, control, datalake, dfs, imds, keyvault, login, sql, storage

    context.scope_resolvers.append(lambda scope: storage.scope_exists(context, scope))
    listeners: list[Listener] = [
        imds.create(context, subapps={CONTROL_PREFIX: control.create_app(emulator)}),
        login.create(context),
        arm.create(context, provider_routes=[*keyvault.ARM_ROUTES, *storage.ARM_ROUTES]),
        blob.create(context),
        dfs.create(context),
        datalake.create(context),
        keyvault.create(context),
        sql.create(context),
    ]
    return listeners


def seeders() -> list[Callable[[EmulatorContext], None]]:
    """Functions that write each service's part of the declared world into the store (core/world.py lists them)."""
    return [importlib.import_module(f"{__name__}.{name}").seed for name in SEEDING_SERVICES]
