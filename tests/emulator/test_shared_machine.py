"""A machine shared by learners. Owner-only mode (``serve --owner-only``): an emulator answers only the
processes of the user who started it. Another user's connection gets 403 before any request is read (HTTP,
TLS included) or is closed (SQL).

The other user is real: ``setpriv`` runs curl and bash as ``nobody`` inside the loopback-only network
namespace in which the emulator serves (tests/netns.py), so nothing here reaches beyond loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.core.peers import _address, connection_uid, opened_by_our_user

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from emu_helpers import request_after_the_refusal  # noqa: E402
from netns import NoNamespace, check_namespaces, loopback_only  # noqa: E402

NOBODY = "65534"
TOKEN_REQUEST = ("GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
                 " HTTP/1.0\\r\\nMetadata: true\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")


def test_proc_net_tcp_addresses_are_read_in_host_order() -> None:
    assert _address("0100007F:1F90") == (_address("0100007F:1F90")[0], 8080)
    assert str(_address("0100007F:1F90")[0]) == "127.0.0.1"
    assert str(_address("00000000000000000000000001000000:0050")[0]) == "::1"
    assert str(_address("0000000000000000FFFF00000100007F:0050")[0]) == "127.0.0.1"  # IPv4-mapped


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_the_kernel_names_the_user_of_a_loopback_connection(family: int, host: str) -> None:
    with socket.socket(family) as server:
        server.bind((host, 0))
        server.listen()
        with socket.create_connection(server.getsockname()[:2]) as _client:
            accepted, peer = server.accept()
            with accepted:
                assert connection_uid(peer, accepted.getsockname()) == os.getuid()
                assert opened_by_our_user(peer, accepted.getsockname())
                assert connection_uid(("127.0.0.1", 1), accepted.getsockname()) is None  # no such connection
                assert not opened_by_our_user(("127.0.0.1", 1), accepted.getsockname())


def _refusing_listener_exchange(client: Callable[[int], object]) -> object:
    """Run ``client(port)`` in a thread against an HTTP listener that refuses every connection (owner-only)."""
    from aiohttp import web

    from emulator.core.http import HttpListener

    async def main() -> object:
        listener = HttpListener("refusing", web.Application(), None)
        listener.connection_filter = lambda peer, ours: False
        port = await listener.start("127.0.0.1", 0)
        try:
            return await asyncio.to_thread(client, port)
        finally:
            await listener.stop()

    return asyncio.run(main())


def test_a_refused_client_can_finish_sending_and_reads_the_whole_403() -> None:
    """The refusal closes lingeringly. Closed at once, the client's first write after the 403 drew a reset and its
    next one a broken pipe: bash's printf (one write per line) died of SIGPIPE in a CI run and printed nothing."""

    def client(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            return request_after_the_refusal(conn)

    answer = _refusing_listener_exchange(client)
    assert isinstance(answer, bytes) and answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert answer.endswith(b"answers only the processes of the user who started it: use your own "
                           b"(azure-emulator status).\n")


def test_a_refused_client_that_keeps_sending_is_cut_off() -> None:
    from emulator.core.http import REFUSED_DRAIN_LIMIT

    def client(port: int) -> str:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.recv(1, socket.MSG_PEEK)
            try:
                for _ in range(REFUSED_DRAIN_LIMIT // 4096 + 64):
                    conn.sendall(b"x" * 4096)
                    time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError) as exc:
                return type(exc).__name__
            return "still open"

    assert _refusing_listener_exchange(client) in ("BrokenPipeError", "ConnectionResetError")


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], dict]]:
    """An owner-only emulator serving as root in a loopback-only namespace; the prefix that joins it."""
    try:
        check_namespaces()
    except NoNamespace as exc:
        pytest.fail(f"{exc}: the owner-only tests need a second user and a namespace (run as root, as CI does)")
    data_dir = tmp_path_factory.mktemp("owner-only")
    ports = [arg for name in ("imds", "login", "arm", "blob", "dfs", "datalake", "keyvault", "sql")
             for arg in (f"--{name}-port", "0")]
    process = subprocess.Popen(
        loopback_only([sys.executable, "-m", "emulator", "serve", "--owner-only", "--in-memory",
                       "--data-dir", str(data_dir), *ports]),
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while not (data_dir / "profile.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.05)
        time.sleep(0.2)  # the profile is written once every listener is bound
        profile = json.loads((data_dir / "profile.json").read_text())
        yield ["nsenter", f"--net=/proc/{process.pid}/ns/net", "--"], profile
    finally:
        process.terminate()
        process.wait(timeout=15)


def _run(prefix: list[str], user: str | None, script: str) -> str:
    as_user = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user else []
    done = subprocess.run([*prefix, *as_user, "bash", "-c", script], capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


def _port(profile: dict, name: str) -> str:
    return profile["endpoints"][name].rsplit(":", 1)[-1].split(",")[-1]


def test_imds_answers_its_owner_and_refuses_another_user(owned) -> None:
    prefix, profile = owned
    script = f'exec 3<>/dev/tcp/127.0.0.1/{_port(profile, "imds")}; printf "{TOKEN_REQUEST}" >&3; cat <&3'
    mine = _run(prefix, None, script)
    assert mine.startswith("HTTP/1.0 200") and '"access_token"' in mine, mine[:300]
    theirs = _run(prefix, NOBODY, script)
    assert theirs.startswith("HTTP/1.1 403 Forbidden"), theirs[:300]
    assert "answers only the processes of the user who started it" in theirs
    assert "access_token" not in theirs


def test_tls_listeners_refuse_another_user_after_the_handshake(owned) -> None:
    prefix, profile = owned
    for name in ("login", "arm", "keyvault"):
        url = profile["endpoints"][name] + "/"
        mine = _run(prefix, None, f"curl -sk -o /dev/null -w '%{{http_code}}' {url}")
        theirs = _run(prefix, NOBODY, f"curl -sk -w ' %{{http_code}}' {url}")
        assert mine != "403" and mine.isdigit(), (name, mine)
        assert theirs.endswith(" 403") and "answers only the processes" in theirs, (name, theirs)


def test_sql_closes_another_users_connection(owned) -> None:
    prefix, profile = owned
    # A PRELOGIN packet header and nothing more: the owner's connection stays open waiting for the rest (timeout
    # ends the read: 124), another user's is closed at once (end of file, or a reset for the unread bytes).
    script = (f'exec 3<>/dev/tcp/127.0.0.1/{_port(profile, "sql")} && printf "\\x12\\x01\\x00\\x2f" >&3; '
              'timeout 2 cat <&3 >/dev/null 2>&1; echo "read ended: $?"')
    assert _run(prefix, None, script).strip() == "read ended: 124"
    assert _run(prefix, NOBODY, script).strip() in ("read ended: 0", "read ended: 1")


def test_owner_only_needs_linux(monkeypatch) -> None:
    from emulator.core import peers
    from emulator.core.files import StartError

    monkeypatch.setattr(peers.sys, "platform", "win32")
    with pytest.raises(StartError, match="needs Linux"):
        peers.require_owner_only()


def test_serve_until_stdin_closes_stops_when_its_starter_ends(tmp_path: Path) -> None:
    """The Jupyter server extension holds the emulator's stdin: if the server dies, even by SIGKILL, the pipe
    closes and the emulator stops with it (no orphan emulators on a hub)."""
    data_dir = tmp_path / "lifeline"
    process = subprocess.Popen(
        loopback_only([sys.executable, "-m", "emulator", "serve", "--until-stdin-closes", "--in-memory",
                       "--data-dir", str(data_dir), "--imds-port", "0", "--login-port", "0", "--arm-port", "0",
                       "--blob-port", "0", "--dfs-port", "0", "--datalake-port", "0", "--keyvault-port", "0",
                       "--sql-port", "0"]),
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while not (data_dir / "profile.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.05)
        time.sleep(0.5)
        assert process.poll() is None, "it must keep serving while its stdin is open"
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
