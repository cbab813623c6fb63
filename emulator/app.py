"""The emulator process: one asyncio loop, one listener per kind of Azure host.

``Emulator(settings).start_in_thread()`` is what tests use; ``run_forever`` is what the command
line uses. Either way the profile (endpoints, CA bundle, ids) is written to the data directory for
``lib`` to find.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import secrets
import signal
import threading
import time
from collections.abc import Coroutine
from typing import Any

from .core.context import EmulatorContext
from .core.directory import Directory
from .core.faults import FaultInjector
from .core.files import DataDirError, StartError, describe_os_error, ensure_private_dir
from .core.http import Listener
from .core.peers import opened_by_our_user, require_owner_only
from .core.rbac import ROLE_ASSIGNMENT_TYPE, Rbac, assignment_document, role_definition_id
from .core.settings import Settings
from .core.store import Store
from .core.tls import ensure_certificates
from .core.tokens import SigningKey, TokenIssuer, TokenVerifier
from .core.world import World
from .profile import Profile, write_profile
from .services.control.models import PROGRESS_FILE, ProgressBook

log = logging.getLogger(__name__)


def require_loopback(host: str) -> None:
    """The emulator hands a token to whoever asks IMDS, and its admin secret is in the world file: it
    listens on loopback only, whatever ``--host`` says."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise StartError(f"--host {host} is not a loopback address: the emulator answers anyone who can reach it, "
                         "so it listens on loopback only (127.0.0.1, ::1 or localhost).")


def build_context(settings: Settings) -> EmulatorContext:
    world = World.load(settings.world_file)
    try:
        ensure_private_dir(settings.data_dir)
        store = Store(None if settings.in_memory else settings.data_dir)
        key = SigningKey.load_or_create(settings.data_dir)
        certificates = ensure_certificates(settings.data_dir)
    except OSError as exc:
        raise DataDirError(describe_os_error(exc, settings.data_dir)) from None
    rbac = Rbac(store, settings)
    context = EmulatorContext(
        settings=settings,
        world=world,
        store=store,
        certificates=certificates,
        issuer=TokenIssuer(key, world.tenant_id),
        verifier=TokenVerifier([key], world.tenant_id),
        directory=Directory(world, store),
        rbac=rbac,
        faults=FaultInjector(),
    )
    context.reset_hooks.append(rbac.forget_changes)
    return context


def seed_world(context: EmulatorContext) -> None:
    """Write the declared world into the store (first start, and on reset)."""
    from .services import seeders

    world, store = context.world, context.store
    store.clear()
    for seed in seeders():
        seed(context)
    for grant in world.admin.get("roleAssignments", []):
        role = context.rbac.role_by_name(grant["role"])
        definition_id = role_definition_id(world.subscription_id, role.id)
        document = assignment_document(grant["scope"], grant["name"], definition_id, world.admin["objectId"],
                                       created_by=None)
        store.put(document["id"], ROLE_ASSIGNMENT_TYPE, document)
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('seeded', ?)", (str(time.time()),))
        db.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('world', ?)",
                   (world.fingerprint,))


def _seeded_from(store: Store) -> str | None:
    """The fingerprint of the world the store was seeded from; "" if an emulator that did not record it seeded
    it; None if it was never seeded."""
    with store.reading() as db:
        if db.execute("SELECT 1 FROM meta WHERE name = 'seeded'").fetchone() is None:
            return None
        found = db.execute("SELECT value FROM meta WHERE name = 'world'").fetchone()
    return found[0] if found else ""


class Emulator:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        require_loopback(self.settings.host)
        if self.settings.owner_only:
            require_owner_only()
        self.context = build_context(self.settings)
        seeded_from = _seeded_from(self.context.store)
        if seeded_from != self.context.world.fingerprint:
            if seeded_from is not None:
                # A newer workbook (or an edited world file) on an older data dir: its world would lack what the
                # notebooks now expect (a service's resources, a changed declaration), so it starts over.
                log.warning("The declared world changed since %s was seeded (a newer workbook, or an edited world "
                            "file): the emulator's state is reset to it. The learner's progress is kept.",
                            self.settings.data_dir)
            seed_world(self.context)
        self.listeners: list[Listener] = []
        self.ports: dict[str, int] = {}
        self.control_secret = secrets.token_urlsafe(32)  # new at every start; only the private profile has it
        # The learner's progress outlives the world's reset; in memory when the state is.
        self.progress = ProgressBook(None if self.settings.in_memory else self.settings.data_dir / PROGRESS_FILE)
        self.profile: Profile | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def _start_listeners(self) -> None:
        from .services import create_listeners

        self.listeners = create_listeners(self.context, self)
        for listener in self.listeners:
            port = self.settings.ports.get(listener.name, 0)
            listener.connection_filter = opened_by_our_user if self.settings.owner_only else None
            try:
                self.ports[listener.name] = await listener.start(self.settings.host, port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise StartError(f"Port {port} ({listener.name}) is in use: is an emulator already running "
                                 f"(`azure-emulator status`)? Stop it, or pick another port with "
                                 f"--{listener.name}-port.") from None
        self.profile = Profile.build(self.context, self.ports, host=self.settings.host,
                                     control_secret=self.control_secret)
        self.context.endpoints.clear()
        self.context.endpoints.update(self.profile.endpoints)
        try:
            write_profile(self.profile, self.settings.data_dir)
        except OSError as exc:
            raise DataDirError(describe_os_error(exc, self.settings.data_dir)) from None

    async def _stop_listeners(self) -> None:
        for listener in reversed(self.listeners):
            await listener.stop()
        self.listeners = []

    async def _main(self, ready: threading.Event | None, errors: list[BaseException]) -> None:
        self._stopped = asyncio.Event()
        try:
            await self._start_listeners()
        except BaseException as exc:  # report to the starting thread, then leave
            errors.append(exc)
            if ready is not None:
                ready.set()
            await self._stop_listeners()
            return
        if ready is not None:
            ready.set()
        await self._stopped.wait()
        await self._stop_listeners()

    @property
    def pid(self) -> int | None:
        return self.profile.pid if self.profile else None

    def request_shutdown(self) -> None:
        """Ask the loop to stop (safe from any thread, and from inside a handler; a no-op once stopped)."""
        if self._loop is not None and self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended and been closed
                self._loop.call_soon_threadsafe(self._stopped.set)

    def reset(self) -> None:
        self.context.faults.clear()
        for hook in self.context.reset_hooks:
            hook()
        seed_world(self.context)

    def start_in_thread(self, timeout: float = 10.0) -> Emulator:
        ready = threading.Event()
        errors: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run_to_end, args=(self._main(ready, errors),), name="azure-emulator", daemon=True,
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the emulator did not start in time")
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        self.request_shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.context.store.close()

    def run_forever(self) -> None:
        self._loop = asyncio.new_event_loop()
        errors: list[BaseException] = []
        previous = self._stop_on_ctrl_c()
        try:
            self._run_to_end(self._main(None, errors))
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.context.store.close()
        if errors:
            raise errors[0]

    def _run_to_end(self, main: Coroutine[Any, Any, None]) -> None:
        """Run ``main`` on the emulator's loop, then end the loop as ``asyncio.run`` does: what still runs (the
        handler of a connection a client kept open, a SQL session) is cancelled and awaited, async generators
        and the default executor are shut down, and the loop is closed. Left to the garbage collector instead,
        each such task would print "Task was destroyed but it is pending!"."""
        loop = self._loop
        assert loop is not None
        try:
            loop.run_until_complete(main)
        finally:
            try:
                left = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in left:
                    task.cancel()
                if left:
                    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def _stop_on_ctrl_c(self) -> Any:
        """Ctrl+C stops the loop as `azure-emulator stop` does. Python's own handler raises KeyboardInterrupt
        wherever the main thread happens to be: inside a finalizer (a closed connection's transport being
        collected) the exception is printed as "ignored" and the emulator keeps serving. A second Ctrl+C
        interrupts at once, as before. Returns the handler to restore (None off the main thread, or when SIGINT
        is ignored: a process started so, in the background or under nohup, is meant to ignore Ctrl+C, and Python
        leaves it ignored too)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return None

        def interrupted(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.request_shutdown()

        return signal.signal(signal.SIGINT, interrupted)

    def __enter__(self) -> Emulator:
        return self.start_in_thread()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
