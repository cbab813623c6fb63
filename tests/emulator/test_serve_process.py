"""The emulator as its own process (``azure-emulator serve``): what it sets up for itself, how it stops.

Ctrl+C stops it wherever the signal lands. Python's default handler raises KeyboardInterrupt in whatever
the main thread runs. When that is a finalizer (asyncio collects a closed connection's TLS transport in
``__del__``), the exception is printed as "ignored" and the emulator went on serving: one Ctrl+C in ten
was lost this way when pressed right after a request. The emulator now handles SIGINT itself and stops
its loop.

The emulator runs in a child process (a signal goes to a whole process; the trust settings are the
process's own), inside a loopback-only network namespace (tests/netns.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

# Serves, then has the loop run a finalizer that receives SIGINT: the worst place for KeyboardInterrupt.
SERVE_THEN_INTERRUPT_IN_A_FINALIZER = """
import os, signal, sys, threading, time
from pathlib import Path
from emulator.app import Emulator
from emulator.core.settings import Settings

emulator = Emulator(Settings.for_tests(Path(sys.argv[1])))


class Finalizer:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        total = 0
        for number in range(200_000):  # Python runs signal handlers between bytecodes: here, in __del__
            total += number


def when_serving():
    while emulator.profile is None:
        time.sleep(0.01)
    print("serving", flush=True)
    emulator._loop.call_soon_threadsafe(Finalizer)  # made and collected at once, inside the loop


threading.Thread(target=when_serving, daemon=True).start()
emulator.run_forever()
print("stopped", flush=True)
print("handler restored" if signal.getsignal(signal.SIGINT) is signal.default_int_handler else "handler left",
      flush=True)
"""


@pytest.fixture(scope="module")
def isolated() -> None:
    try:
        check_namespaces()
    except NoNamespace as reason:
        pytest.fail(f"the interrupt test runs the emulator in a loopback-only namespace: {reason}")


def _sigint_as_a_terminal_gives_it() -> None:
    """The child starts with SIGINT's default action, as from a terminal, whatever the suite inherited: a suite
    started in the background by a shell without job control inherits SIGINT ignored, and so would the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_inside_a_finalizer_still_stops_the_emulator(tmp_path: Path, isolated: None) -> None:
    process = subprocess.run(
        loopback_only([sys.executable, "-c", SERVE_THEN_INTERRUPT_IN_A_FINALIZER, str(tmp_path / "data")]),
        capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=_sigint_as_a_terminal_gives_it)
    assert process.stdout.splitlines() == ["serving", "stopped", "handler restored"], process.stderr[-2000:]
    assert process.returncode == 0
    assert "KeyboardInterrupt" not in process.stderr


# `serve` (stopping at once: its stdin is closed), watched: was aiohttp imported before the trust was set, and
# what does OpenSSL's default context trust afterwards?
SERVE_AND_REPORT_TRUST = """
import json, ssl, sys
from emulator import cli

imported_first = []
set_trust = cli.trust_only_our_ca


def watched(data_dir):
    imported_first.append("aiohttp" in sys.modules)
    set_trust(data_dir)


cli.trust_only_our_ca = watched
ports = [arg for name in ("imds", "login", "arm", "blob", "dfs", "datalake", "keyvault", "sql")
         for arg in (f"--{name}-port", "0")]
code = cli.main(["serve", "--until-stdin-closes", "--in-memory", "--data-dir", sys.argv[1], *ports])
trusted = [dict(pair[0] for pair in c["subject"]) for c in ssl.create_default_context().get_ca_certs()]
print(json.dumps({"code": code, "aiohttp_first": imported_first, "trusted": trusted}))
"""


def test_serve_trusts_only_the_emulators_own_ca(tmp_path: Path, isolated: None) -> None:
    """The emulator dials out to nothing; importing aiohttp builds a verified client context all the same, and
    loading the system's CA bundle into it was ~30 ms of every start. `serve` points OpenSSL's default trust at
    its own CA before that import: afterwards this process trusts exactly that CA."""
    import json

    process = subprocess.run(loopback_only([sys.executable, "-c", SERVE_AND_REPORT_TRUST, str(tmp_path / "d")]),
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.returncode == 0, process.stderr[-2000:]
    found = json.loads(process.stdout.splitlines()[-1])
    assert found["code"] == 0
    assert found["aiohttp_first"] == [False]  # set before aiohttp builds its context
    assert found["trusted"] == [{"organizationName": "Managed Identity Workbook emulator",
                                 "commonName": "Managed Identity Workbook local CA"}]


# Started with SIGINT ignored (nohup, or `&` in a shell without job control): Ctrl+C stays ignored, as Python leaves it.
SERVE_WITH_SIGINT_IGNORED = """
import os, signal, sys, threading, time
from pathlib import Path
from emulator.app import Emulator
from emulator.core.settings import Settings

signal.signal(signal.SIGINT, signal.SIG_IGN)
emulator = Emulator(Settings.for_tests(Path(sys.argv[1])))


def when_serving():
    while emulator.profile is None:
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.5)
    print("stopped by the ignored SIGINT" if emulator._stopped.is_set() else "still serving", flush=True)
    emulator.request_shutdown()


threading.Thread(target=when_serving, daemon=True).start()
emulator.run_forever()
print("still ignored" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "changed", flush=True)
"""


def test_an_ignored_ctrl_c_stays_ignored(tmp_path: Path, isolated: None) -> None:
    process = subprocess.run(
        loopback_only([sys.executable, "-c", SERVE_WITH_SIGINT_IGNORED, str(tmp_path / "data")]),
        capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout.splitlines() == ["still serving", "still ignored"], process.stderr[-2000:]
    assert process.returncode == 0
