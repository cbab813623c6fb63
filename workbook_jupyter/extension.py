"""The Jupyter server extension: one private emulator per learner's server, and the learner's progress over HTTP.

Loaded by every Jupyter server of the environment the workbook is installed in
(``etc/jupyter/jupyter_server_config.d/workbook_jupyter.json``). What it does depends on where it runs:

- ``WORKBOOK_TARGET`` set (``make workbook``, Binder's start hook, a real VM with ``azure``): someone already
  chose the target; the extension starts nothing.
- A JupyterHub single-user server (``JUPYTERHUB_SERVICE_PREFIX`` set), or ``--WorkbookExtension.emulator=start``:
  it starts the learner's own emulator before any kernel (``serve`` on free ports, data dir and 0600 profile in
  the learner's home, ``--owner-only`` on Linux so that other learners on the machine are refused), and
  exports ``WORKBOOK_TARGET``, ``WORKBOOK_PROFILE``, ``WORKBOOK_EMULATOR_HOME`` and
  ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` into the server's environment, which kernels and terminals inherit:
  the notebooks need no configuration. An emulator already serving that data dir is used as it is.
  Stopping the server stops the emulator; if the server is killed, the emulator's stdin closes and it stops
  by itself (``--until-stdin-closes``).

``GET <server>/workbook/progress`` answers the learner's progress book (names of notebooks and steps, times,
counts: nothing secret), authenticated like every call to the server: on JupyterHub, a token with
``access:servers`` for this server, which the trainer's service holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from traitlets import Enum, Float, Unicode

from emulator.core.settings import DEFAULT_PORTS, default_data_dir
from emulator.profile import PROFILE_FILE, Profile, read_profile
from lib.emulator import EmulatorControl, EmulatorControlError

from .urls import PROGRESS_PATH

EXTENSION_NAME = "workbook_jupyter"


def _profile_if_running(data_dir: Path) -> Profile | None:
    """The profile of an emulator serving ``data_dir`` now, or None."""
    try:
        profile = read_profile(data_dir)
    except Exception:  # noqa: BLE001 - a damaged profile names no running emulator; serve rewrites it
        return None
    if profile is not None and EmulatorControl.from_profile(profile).is_up(timeout=1.0):
        return profile
    return None


class LearnerEmulator:
    """The learner's emulator as a child process of their server."""

    def __init__(self, data_dir: Path, *, owner_only: bool, start_timeout: float) -> None:
        self.data_dir = data_dir
        self.owner_only = owner_only
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.profile: Profile | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def command(self) -> list[str]:
        ports = [arg for name in DEFAULT_PORTS for arg in (f"--{name}-port", "0")]
        command = [sys.executable, "-m", "emulator", "serve", "--data-dir", str(self.data_dir), *ports,
                   "--until-stdin-closes"]
        return [*command, "--owner-only"] if self.owner_only else command

    def start(self) -> Profile:
        """Use the emulator already serving the data dir, or start one; its profile."""
        running = _profile_if_running(self.data_dir)
        if running is not None:
            self.profile = running
            return running
        from emulator.core.files import ensure_private_dir

        ensure_private_dir(self.data_dir)
        (self.data_dir / PROFILE_FILE).unlink(missing_ok=True)
        with (self.data_dir / "emulator.log").open("ab") as log:
            # stdin stays a pipe we hold: when this server ends, however it ends, the emulator sees EOF and stops.
            self.process = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            profile = _profile_if_running(self.data_dir)
            if profile is not None and profile.pid == self.process.pid:
                self.profile = profile
                return profile
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the emulator did not start; see {self.data_dir / 'emulator.log'}")

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if self.profile is not None:
            with contextlib.suppress(EmulatorControlError):
                EmulatorControl.from_profile(self.profile, timeout=2.0).shutdown()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


class ProgressHandler(ExtensionHandlerMixin, APIHandler):
    """``GET /workbook/progress``: the learner's progress book, for the trainer's table."""

    auth_resource = "workbook"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        extension: WorkbookExtension = self.extensionapp  # type: ignore[assignment]
        # The control-plane call blocks (urllib): off the server's event loop.
        answer = await asyncio.get_running_loop().run_in_executor(None, extension.progress_answer)
        self.set_header("Cache-Control", "no-store")
        self.finish(answer)


class WorkbookExtension(ExtensionApp):
    """Starts the learner's emulator with their server (on JupyterHub) and serves their progress."""

    name = EXTENSION_NAME
    load_other_extensions = True

    emulator = Enum(["auto", "start", "off"], default_value="auto", config=True,
                    help="auto: start a private emulator when this is a JupyterHub single-user server and no "
                         "WORKBOOK_TARGET is set; start: always (unless WORKBOOK_TARGET is set); off: never.")
    data_dir = Unicode("", config=True,
                       help="The emulator's data dir (default: WORKBOOK_EMULATOR_HOME or ~/.mi-workbook/emulator).")
    start_timeout = Float(30.0, config=True, help="Seconds to wait for the emulator to answer.")

    learner_emulator: LearnerEmulator | None = None

    def should_start(self) -> bool:
        if os.environ.get("WORKBOOK_TARGET") or self.emulator == "off":
            return False
        return self.emulator == "start" or bool(os.environ.get("JUPYTERHUB_SERVICE_PREFIX"))

    def initialize_settings(self) -> None:
        # Runs while the server initialises, before it can start a kernel: the environment set here is the one
        # every kernel and terminal inherits.
        if not self.should_start():
            return
        data_dir = Path(self.data_dir) if self.data_dir else default_data_dir()
        owner_only = sys.platform.startswith("linux")
        self.learner_emulator = LearnerEmulator(data_dir, owner_only=owner_only, start_timeout=self.start_timeout)
        try:
            profile = self.learner_emulator.start()
        except Exception as exc:  # noqa: BLE001 - the server still starts; the notebooks' preflight says why
            self.log.error("workbook: the learner's emulator did not start (%s)", exc)
            self.learner_emulator = None
            return
        os.environ.update(profile.env(data_dir / PROFILE_FILE))
        os.environ["WORKBOOK_EMULATOR_HOME"] = str(data_dir)
        self.log.info("workbook: %s emulator in %s (IMDS at %s)",
                      "started an" if self.learner_emulator.started_here else "using the running", data_dir,
                      profile.endpoints["imds"])

    def initialize_handlers(self) -> None:
        self.handlers.append((rf"/{PROGRESS_PATH}", ProgressHandler))

    def progress_answer(self) -> dict[str, Any]:
        """What GET /workbook/progress answers: the learner's progress book, or why there is none."""
        profile = self.current_profile()
        answer: dict[str, Any] = {"emulator": "not running", "progress": None,
                                  "managed": self.learner_emulator is not None and self.learner_emulator.started_here}
        if profile is not None:
            try:
                answer["progress"] = EmulatorControl.from_profile(profile, timeout=3.0).progress()
                answer["emulator"] = "running"
            except EmulatorControlError:
                pass
        return answer

    def current_profile(self) -> Profile | None:
        if self.learner_emulator is not None and self.learner_emulator.profile is not None:
            return self.learner_emulator.profile
        if os.environ.get("WORKBOOK_TARGET") == "azure":
            return None
        configured = os.environ.get("WORKBOOK_PROFILE")
        data_dir = Path(configured).parent if configured else default_data_dir()
        return _profile_if_running(data_dir)

    async def stop_extension(self) -> None:
        if self.learner_emulator is not None:
            self.learner_emulator.stop()
            self.log.info("workbook: the learner's emulator is stopped")
