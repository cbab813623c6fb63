"""``azure-emulator`` / ``python -m emulator``: start, status, stop, reset, env.

``start`` runs the emulator in the background (a detached child process running ``serve``) and
returns once it answers; ``serve`` runs it in the foreground. The other commands talk to the
running emulator's control plane, found through the profile in the data directory.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .core.files import DataDirError, StartError, describe_os_error, ensure_private_dir
from .core.settings import DEFAULT_PORTS, Settings, default_data_dir
from .core.world import DEFAULT_WORLD_FILE, world_fingerprint
from .profile import PROFILE_FILE, Profile, env_lines, read_profile

LOG_FILE = "emulator.log"
_CANNOT_START = "azure-emulator: "
# What the emulator keeps in its data dir (removed by `reset --hard`; the log stays).
_STATE_FILES = ("profile.json", "state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm", "token-signing-key.pem",
                "ca.pem", "server.pem", "server-key.pem", "sql", "blob", "datalake", "keyvault", "az",
                "progress.json")


def _control(profile: Profile, method: str, operation: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The control plane's answer, or None when nothing (or not our emulator) answers."""
    from lib.emulator import EmulatorControl, EmulatorControlError  # imported here: `serve` never needs it

    try:
        return EmulatorControl.from_profile(profile, timeout=timeout).call(method, operation)
    except EmulatorControlError:
        return None


def _running_profile(data_dir: Path) -> Profile | None:
    try:
        profile = read_profile(data_dir)
    except DataDirError:
        return None  # an unreadable profile names no running emulator; `start` rewrites it
    if profile is not None and _control(profile, "GET", "health", timeout=0.5) is not None:
        return profile
    return None


def _running_or_say(data_dir: Path) -> Profile | None:
    """The running emulator's profile; when none runs, None after telling the user (on stderr) to start it."""
    profile = _running_profile(data_dir)
    if profile is None:
        print(f"The emulator is not running (data dir {data_dir}); start it first.", file=sys.stderr)
    return profile


def _settings(args: argparse.Namespace) -> Settings:
    ports = dict(DEFAULT_PORTS)
    for name in DEFAULT_PORTS:
        value = getattr(args, f"{name}_port", None)
        if value is not None:
            ports[name] = value
    return Settings(
        host=args.host, ports=ports, data_dir=Path(args.data_dir), in_memory=args.in_memory,
        world_file=Path(args.world), imds_throttling=not args.no_throttling,
        owner_only=getattr(args, "owner_only", False),
    )


def _print_env(profile: Profile, data_dir: Path, shell: str) -> None:
    for line in env_lines(profile, data_dir / PROFILE_FILE, shell):
        print(line)


def _stop_when_stdin_closes(emulator: Any) -> None:
    """The program that started us holds our stdin open: when it ends, however it ends (even killed),
    the pipe closes and we stop too. Works the same on every system (a watched pid would not)."""
    import threading

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        while True:  # until the process ends: a request made before the loop runs would be lost
            emulator.request_shutdown()
            time.sleep(0.2)

    threading.Thread(target=watch, name="stdin-lifeline", daemon=True).start()


def trust_only_our_ca(data_dir: Path) -> None:
    """Make OpenSSL's default trust, for this process, the emulator's own CA (``<data dir>/ca.pem``; nothing
    before its first start). The emulator dials out to nothing, yet importing aiohttp builds a verified client
    context at once, and loading the system's whole CA bundle into it was ~30 ms of every start (OpenSSL 3
    parses it slowly). Set before that import; the emulator starts no other program that could inherit it."""
    os.environ["SSL_CERT_FILE"] = str(data_dir / "ca.pem")
    os.environ["SSL_CERT_DIR"] = str(data_dir)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    trust_only_our_ca(settings.data_dir)
    from .app import Emulator

    emulator = Emulator(settings)
    if args.until_stdin_closes:
        _stop_when_stdin_closes(emulator)
    print(f"Azure emulator serving; data in {settings.data_dir}. Stop with Ctrl+C or "
          "'azure-emulator stop'.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.run_forever()
    return 0


def _last_reason(log_file: Path) -> str:
    """The one-line reason a background start printed before it exited (see main)."""
    try:
        lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    reasons = [line.removeprefix(_CANNOT_START) for line in lines if line.startswith(_CANNOT_START)]
    return reasons[-1] if reasons else ""


def cmd_start(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    running = _running_profile(data_dir)
    if running is not None:
        print(f"# The emulator is already running (pid {running.pid}).", file=sys.stderr)
        if running.world_fingerprint and running.world_fingerprint != world_fingerprint(Path(args.world)):
            # Started before a `git pull` (or with another world file): the notebooks may expect what it lacks.
            print("# It runs another world than this workbook declares (it was started from an older workbook or "
                  "another world file): restart it to use this one: azure-emulator stop, then start.", file=sys.stderr)
        _print_env(running, data_dir, args.shell)
        return 0
    if args.foreground:
        return cmd_serve(args)
    try:
        ensure_private_dir(data_dir)
        (data_dir / PROFILE_FILE).unlink(missing_ok=True)
        log = open(data_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child, closed below
    except OSError as exc:
        raise DataDirError(describe_os_error(exc, data_dir)) from None
    command = [sys.executable, "-m", "emulator", "serve", *_forwarded(args)]
    options: dict[str, Any] = {}
    if os.name == "nt":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        options["start_new_session"] = True
    with log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **options)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        profile = _running_profile(data_dir)
        if profile is not None:
            print(f"# Azure emulator running (pid {profile.pid}); log in {data_dir / LOG_FILE}", file=sys.stderr)
            _print_env(profile, data_dir, args.shell)
            return 0
        if child.poll() is not None:
            break
        time.sleep(0.02)
    reason = _last_reason(data_dir / LOG_FILE)
    print(reason or f"The emulator did not start; see {data_dir / LOG_FILE}", file=sys.stderr)
    return 1


def _forwarded(args: argparse.Namespace) -> list[str]:
    forwarded = ["--host", args.host, "--data-dir", str(args.data_dir), "--world", str(args.world)]
    for name in DEFAULT_PORTS:
        value = getattr(args, f"{name}_port", None)
        if value is not None:
            forwarded += [f"--{name}-port", str(value)]
    if args.in_memory:
        forwarded.append("--in-memory")
    if args.no_throttling:
        forwarded.append("--no-throttling")
    if args.owner_only:
        forwarded.append("--owner-only")
    return forwarded


def cmd_status(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    profile = read_profile(data_dir)
    health = _control(profile, "GET", "health") if profile else None
    if health is None:
        print(f"The emulator is not running (data dir {data_dir}).")
        return 3
    print(json.dumps({**health, "status": "running", "endpoints": profile.endpoints,
                      "profile": str(data_dir / PROFILE_FILE)}, indent=2))
    return 0


def _with_running(args: argparse.Namespace, method: str, path: str, done: str) -> int:
    data_dir = Path(args.data_dir)
    profile = read_profile(data_dir)
    if profile is None or _control(profile, method, path) is None:
        print(f"The emulator is not running (data dir {data_dir}).")
        return 3
    print(done)
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    code = _with_running(args, "POST", "shutdown", "Stopping the emulator.")
    if code == 0:
        profile = read_profile(Path(args.data_dir))
        deadline = time.monotonic() + 5
        while profile is not None and time.monotonic() < deadline:
            if _control(profile, "GET", "health", timeout=0.3) is None:
                break
            time.sleep(0.05)
    return code


def cmd_reset(args: argparse.Namespace) -> int:
    if args.hard:
        return _hard_reset(Path(args.data_dir))
    return _with_running(args, "POST", "reset", "The emulator's world is reset: no grants, no ID1.")


def _hard_reset(data_dir: Path) -> int:
    """Stop the emulator if it runs, then delete everything it keeps in the data dir (a new CA too)."""
    profile = _running_profile(data_dir)
    if profile is not None:
        _control(profile, "POST", "shutdown")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _control(profile, "GET", "health", timeout=0.3) is not None:
            time.sleep(0.05)
    removed = 0
    for name in _STATE_FILES:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        elif path.exists() or path.is_symlink():
            path.unlink()
            removed += 1
    print(f"Removed the emulator's state in {data_dir} ({removed} entries). The next start creates a new world, "
          "keys and CA.")
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    """The learner's own progress book: which steps of which notebook succeeded (what the trainer sees)."""
    from lib.progress import ordered_steps, table_rows  # `serve` never needs it

    data_dir = Path(args.data_dir)
    profile = _running_or_say(data_dir)
    if profile is None:
        return 3
    if args.clear:
        if _control(profile, "DELETE", "progress") is None:
            return 3
        print("Progress cleared.")
        return 0
    book = _control(profile, "GET", "progress")
    if book is None:
        return 3
    if args.json:
        print(json.dumps(book, indent=2))
        return 0
    rows = table_rows(book)
    if not rows:
        print("No progress recorded yet: run a notebook.")
        return 0
    width = max(len("notebook"), *(len(name) for name, _ in rows))
    print(f"{'notebook'.ljust(width)}  steps that succeeded")
    for name, summary in rows:
        print(f"{name.ljust(width)}  {summary}")
    notebooks = book["notebooks"]
    print(f"\n{sum('finished' in ordered_steps(steps) for steps in notebooks.values())} of {len(notebooks)} "
          "notebooks finished.")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    profile = _running_or_say(data_dir)
    if profile is None:
        return 3
    _print_env(profile, data_dir, args.shell)
    return 0


def cmd_az_profile(args: argparse.Namespace) -> int:
    """What `az` needs to use the emulator: printed as shell lines, or applied (--apply) to its config dir."""
    from lib.azcli import AzCli, AzCliError, default_config_dir, shell_profile  # `serve` never needs it

    data_dir = Path(args.data_dir)
    profile = _running_or_say(data_dir)
    if profile is None:
        return 3
    as_dict = dataclasses.asdict(profile)
    config_dir = default_config_dir(as_dict)
    if not args.apply:
        for line in shell_profile(as_dict, config_dir, args.shell):
            print(line)
        return 0
    az = AzCli.for_emulator(as_dict, az=args.az)
    if not az.available:
        print("The Azure CLI (az) is not on PATH; install it (https://aka.ms/azure-cli) or name it with --az.",
              file=sys.stderr)
        return 4
    try:
        az.use_emulator_cloud()
    except AzCliError as exc:
        print(f"{_CANNOT_START}{exc}", file=sys.stderr)
        return 2
    print(f"# The emulator is az's active cloud in {config_dir}; your own az profile is untouched.", file=sys.stderr)
    for line in shell_profile(as_dict, config_dir, args.shell, register=False):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azure-emulator",
        description="A local emulator of the Azure parts the managed-identity workbook uses "
                    "(IMDS, Entra ID, Resource Manager, data planes), on loopback only.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=str(default_data_dir()),
                        help="state, certificates and profile (default: %(default)s; "
                             "env WORKBOOK_EMULATOR_HOME)")
    common.add_argument("--shell", choices=["sh", "powershell", "cmd"], default="sh",
                        help="how to print environment variables (default: %(default)s)")
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: %(default)s)")
    for name, port in DEFAULT_PORTS.items():
        server.add_argument(f"--{name}-port", type=int, default=None, help=f"{name} port (default: {port}; 0 = any)")
    server.add_argument("--in-memory", action="store_true", help="keep no state after stop (SQL: a temporary folder)")
    server.add_argument("--world", default=str(DEFAULT_WORLD_FILE), help="world file (default: the bundled one)")
    server.add_argument("--no-throttling", action="store_true", help="switch off IMDS throttling (20/s, 5 at once)")
    server.add_argument("--owner-only", action="store_true",
                        help="answer only processes of the user who started it (a machine shared by learners; Linux)")
    server.add_argument("--until-stdin-closes", action="store_true",
                        help="serve: stop when standard input closes (the program that started it has ended)")
    server.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for start (default: %(default)s)")
    server.add_argument("--foreground", action="store_true", help="run in this process instead of the background")

    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", parents=[common, server], help="start in the background and print the profile "
                        "as environment variables").set_defaults(func=cmd_start)
    commands.add_parser("serve", parents=[common, server], help="run in the foreground").set_defaults(func=cmd_serve)
    commands.add_parser("status", parents=[common], help="is it running, and where").set_defaults(func=cmd_status)
    commands.add_parser("stop", parents=[common], help="stop the running emulator").set_defaults(func=cmd_stop)
    reset = commands.add_parser("reset", parents=[common], help="restore the declared world")
    reset.add_argument("--hard", action="store_true",
                       help="stop the emulator and delete its state, keys, certificates and profile")
    reset.set_defaults(func=cmd_reset)
    progress = commands.add_parser(
        "progress", parents=[common],
        help="which steps of which notebook succeeded (the learner's own row of the trainer's table)")
    progress.add_argument("--json", action="store_true", help="print the progress book as JSON")
    progress.add_argument("--clear", action="store_true", help="forget the recorded progress")
    progress.set_defaults(func=cmd_progress)
    commands.add_parser("env", parents=[common], help="print the profile as environment variables").set_defaults(
        func=cmd_env)
    az_profile = commands.add_parser(
        "az-profile", parents=[common],
        help="what the Azure CLI needs to use the emulator as a registered cloud (its own config dir, the CA "
             "for az only, instance discovery off): print it, or --apply it")
    az_profile.add_argument("--apply", action="store_true",
                            help="register the emulator as az's active cloud now, then print the az function")
    az_profile.add_argument("--az", default=None, help="the az executable (default: az on PATH)")
    az_profile.set_defaults(func=cmd_az_profile)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except StartError as exc:
        # One line, no traceback: what is wrong and the fix. A background start reads it from the log.
        print(f"{_CANNOT_START}{exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
