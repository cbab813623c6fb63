"""Hardening of the shared core (issue: control plane, private files, limits, no 500s, a CLI that explains).

Each test here failed on the main of 2026-12-02: the control plane answered anyone, the data dir
was 0755 and its keys 0644, bodies of 256 MiB were buffered before any check, a trickling client
kept its socket forever, and a corrupt profile made every CLI command end in a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from emu_helpers import Azure, request_after_the_refusal

from emulator import cli
from emulator.app import Emulator
from emulator.core.http import ErrorCatalogue, HttpListener, Route, RouteTable, build_app
from emulator.core.settings import Settings
from emulator.services.arm import errors as arm_errors
from emulator.services.arm import handlers as arm_handlers
from lib.emulator import SECRET_HEADER, EmulatorControl, EmulatorControlError

POSIX = os.name == "posix"


# -- the control plane answers only the workbook -------------------------------------------------
def _raw_control(world: Azure, method: str, operation: str, headers: dict[str, str], data: Any = None):
    return requests.request(method, f"{world.control_url}/{operation}", headers=headers, data=data, timeout=10)


def test_control_plane_refuses_a_caller_without_the_secret(world: Azure) -> None:
    for operation, method in [("health", "GET"), ("reset", "POST"), ("shutdown", "POST"), ("faults", "POST")]:
        response = _raw_control(world, method, operation, {})
        assert response.status_code == 401, (operation, response.text)
        assert response.json()["error"]["code"] == "Unauthorized"
        assert str(world.profile.extra) not in response.text
        assert "emulator" in response.json()["error"]["message"]
    wrong = _raw_control(world, "GET", "health", {SECRET_HEADER: "not-the-secret"})
    assert wrong.status_code == 401
    assert "dataDir" not in wrong.text and "/" not in wrong.json()["error"].get("dataDir", "")


def test_a_cross_site_page_cannot_reset_shut_down_or_inject(world: Azure, emulator: Emulator) -> None:
    """The shape a web page can send without a preflight: text/plain, an Origin, no custom header."""
    world.control("POST", "/faults", {"service": "imds", "status": 503, "count": 5})
    simple = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    for operation in ("reset", "shutdown", "faults", "settings"):
        response = _raw_control(world, "POST", operation, simple, data='{"status": 500}')
        assert response.status_code == 403, (operation, response.text)
    # Even with the secret (a page cannot know it, but the rule must not depend on that): Origin refused.
    with_secret = _raw_control(world, "POST", "reset", {**simple, SECRET_HEADER: world.profile.control_secret})
    assert with_secret.status_code == 403
    assert world.control("GET", "/faults").json()["imds"]["remaining"] == 5, "nothing was reset"
    assert world.control("GET", "/health").json()["status"] == "ok", "still running"


def test_control_plane_refuses_a_foreign_host_header(world: Azure) -> None:
    """DNS rebinding: a page's own host name resolving to 127.0.0.1 still names itself in Host."""
    response = _raw_control(world, "GET", "health",
                            {"Host": "rebind.evil.example:29400", SECRET_HEADER: world.profile.control_secret})
    assert response.status_code == 403
    assert "dataDir" not in response.text


def test_control_plane_bodies_must_be_json(world: Azure) -> None:
    response = world.control("POST", "/faults", raw=b'{"service":"imds","status":500}',
                             headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UnsupportedMediaType"
    assert world.control("GET", "/faults").json() == {}, "nothing injected"


def test_the_one_helper_drives_the_control_plane(world: Azure) -> None:
    control = EmulatorControl.from_profile(world.profile)
    assert world.profile.control_secret not in repr(control)
    health = control.health()
    assert health["status"] == "ok" and health["dataDir"]
    control.inject_fault(429, count=2, retry_after=1)
    assert control.faults()["imds"] == {"status": 429, "remaining": 2, "retryAfter": 1}
    control.clear_faults()
    assert control.faults() == {}
    with pytest.raises(EmulatorControlError) as refused:
        control.inject_fault(418)
    assert refused.value.status == 400 and refused.value.code == "InvalidRequestBody"
    stranger = EmulatorControl(world.control_url, "a-guess")
    assert stranger.is_up() is False


# -- private files ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def persistent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    data_dir = tmp_path_factory.mktemp("persistent") / "data"
    settings = Settings(ports={name: 0 for name in Settings().ports}, data_dir=data_dir)
    instance = Emulator(settings).start_in_thread()
    yield instance
    instance.stop()


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX; Windows relies on the profile folder's ACLs")
def test_data_dir_is_private_and_so_are_keys_profile_and_databases(persistent: Emulator) -> None:
    data_dir = persistent.settings.data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("token-signing-key.pem", "server-key.pem", "profile.json", "state.sqlite3"):
        mode = stat.S_IMODE((data_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    profile = json.loads((data_dir / "profile.json").read_text())
    assert len(profile["control_secret"]) >= 32


# -- limits on every listener ----------------------------------------------------------------------
def test_bodies_over_the_limit_are_refused_before_they_are_read(world: Azure) -> None:
    """A 300 MiB Content-Length is answered at once, with the service's own error, nothing buffered."""
    host, port = world.login_url.removeprefix("https://").split(":")
    import ssl

    context = ssl.create_default_context(cafile=world.ca)
    with socket.create_connection((host, int(port)), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall((f"POST /{world.tenant}/oauth2/v2.0/token HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {300 * 1024 * 1024}\r\n\r\n").encode() + b"grant_type=" + b"x" * 1000)
        started = time.monotonic()
        head = tls.recv(65536).decode(errors="replace")
        assert time.monotonic() - started < 5
    assert head.startswith("HTTP/1.1 413"), head[:200]
    assert '"invalid_request"' in head


@pytest.mark.parametrize(("service", "limit_mib"), [("arm", 4), ("login", 1), ("imds", 1)])
def test_chunked_bodies_are_cut_off_at_the_limit(world: Azure, service: str, limit_mib: int) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(limit_mib * 4 + 8):
            yield b"{" * (256 * 1024)  # no Content-Length: aiohttp must stop reading at the limit

    method, url = {
        "arm": ("PUT", f"{world.arm_url}{world.identity_id('Chunked')}?api-version=2023-01-31"),
        "login": ("POST", f"{world.login_url}/{world.tenant}/oauth2/v2.0/token"),
        "imds": ("GET", f"{world.imds_url}/metadata/identity/oauth2/token?api-version=2018-02-01"),
    }[service]
    headers = {"Content-Type": "application/json", "Metadata": "true"}
    if service == "arm":  # ARM authenticates before it reads a body (an unauthenticated one: see below)
        headers["Authorization"] = f"Bearer {world.admin_token()}"
    try:
        response = world.http.request(method, url, data=chunks(), timeout=30, headers=headers)
    except requests.ConnectionError:
        pytest.fail("the connection was dropped instead of answered")
    assert response.status_code == 413, response.text[:300]


def test_an_unauthenticated_body_is_refused_before_it_is_read(world: Azure) -> None:
    """ARM's 4 MiB limit applies to callers it would serve: without a token the answer is 401 before any of
    the body is buffered (else 128 connections × 4 MiB would be half a gigabyte for anyone on the machine)."""
    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"{" * (256 * 1024)

    url = f"{world.arm_url}{world.identity_id('Chunked')}?api-version=2023-01-31"
    try:
        response = world.http.put(url, data=chunks(), timeout=30, headers={"Content-Type": "application/json"})
    except requests.ConnectionError:
        pytest.fail("the connection was dropped instead of answered")
    assert response.status_code == 401, response.text[:300]
    assert response.json()["error"]["code"] == "AuthenticationFailed"


def test_arm_answers_a_large_body_with_its_own_error(world: Azure) -> None:
    response = world.arm("PUT", world.identity_id("Big"), api_version="2023-01-31",
                         raw=json.dumps({"location": "westus", "tags": {"t": "x" * (5 * 1024 * 1024)}}),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"
    assert world.arm("GET", world.identity_id("Big"), api_version="2023-01-31").status_code == 404


class _TinyService:
    """A one-route app built the way every service is, to test what the shared plumbing guarantees."""

    def __init__(self, **listener: Any) -> None:
        async def boom(_request: web.Request) -> web.Response:
            raise ValueError("a bug in a handler")

        async def hello(_request: web.Request) -> web.Response:
            return web.Response(text="hello")

        errors = ErrorCatalogue(
            wire_error=arm_errors.ArmError, render=arm_handlers.render_error,
            not_found=lambda request: arm_errors.invalid_resource_type(request.path),
            method_not_allowed=lambda request, _allowed: arm_errors.method_not_allowed(request.method),
            body_too_large=arm_errors.body_too_large, internal=arm_errors.internal_error,
        )
        table = RouteTable([Route("GET", "/boom", boom), Route("GET", "/hello", hello)])
        self.listener = HttpListener("tiny", build_app(table, None, errors), None, **listener)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self.listener.start("127.0.0.1", 0), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_an_unexpected_exception_becomes_the_services_own_500() -> None:
    service = _TinyService()
    try:
        response = requests.get(f"http://127.0.0.1:{service.port}/boom", timeout=5)
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "InternalServerError"
        assert "ValueError" not in response.text and "Traceback" not in response.text
        assert requests.get(f"http://127.0.0.1:{service.port}/hello", timeout=5).text == "hello"
    finally:
        service.close()


def test_a_client_that_trickles_its_headers_is_cut_off() -> None:
    service = _TinyService(header_timeout=0.5)
    try:
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as slow:
            slow.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n")  # ... and never the blank line
            started = time.monotonic()
            assert slow.recv(100) == b"", "the server should close the socket"
            assert time.monotonic() - started < 3
    finally:
        service.close()


def test_connections_over_the_cap_get_503_and_the_others_keep_working() -> None:
    service = _TinyService(max_connections=3)
    held = [socket.create_connection(("127.0.0.1", service.port), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as extra:
            extra.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            assert extra.recv(100).startswith(b"HTTP/1.1 503")
        held[0].sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"hello" in held[0].recv(1000)
    finally:
        for connection in held:
            connection.close()
        service.close()


def test_a_connection_over_the_cap_may_finish_its_request_and_reads_the_whole_503() -> None:
    """The 503 closes lingeringly (core/http.py _Refusal): a client still sending after the answer came gets no reset
    (which can discard the 503 unread) and reads the answer to its end."""
    service = _TinyService(max_connections=1)
    held = socket.create_connection(("127.0.0.1", service.port), timeout=5)
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as extra:
            answer = request_after_the_refusal(extra)
        assert answer == b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    finally:
        held.close()
        service.close()


# -- a CLI that explains, in one line, with the fix --------------------------------------------------
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("content", ["{not json", "[]", '{"target": "emulator"}'])
def test_a_corrupt_profile_gets_one_line_and_the_fix(tmp_path: Path, capsys, content: str) -> None:
    (tmp_path / "profile.json").write_text(content)
    for command in ("status", "stop", "reset"):
        code, output = _cli(capsys, command, "--data-dir", str(tmp_path))
        assert code == 2, output
        assert "Traceback" not in output and len(output.strip().splitlines()) == 1
        assert "reset --hard" in output


def test_a_profile_from_a_newer_emulator_is_read(tmp_path: Path, capsys, world: Azure) -> None:
    profile = json.loads(json.dumps(world.profile.__dict__))
    profile["a_field_from_the_future"] = {"x": 1}
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    code, output = _cli(capsys, "status", "--data-dir", str(tmp_path))
    assert code == 0, output
    assert '"status": "running"' in output


def test_reset_hard_removes_the_state(tmp_path: Path, capsys) -> None:
    for name in ("profile.json", "state.sqlite3", "ca.pem", "token-signing-key.pem"):
        (tmp_path / name).write_text("damaged")
    (tmp_path / "emulator.log").write_text("kept")
    code, output = _cli(capsys, "reset", "--hard", "--data-dir", str(tmp_path))
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.log"]


@pytest.mark.parametrize("damaged", ["ca.pem", "server-key.pem", "token-signing-key.pem", "state.sqlite3"])
def test_a_damaged_key_certificate_or_database_is_named(tmp_path: Path, capsys, damaged: str) -> None:
    data_dir = tmp_path / "data"
    Emulator(Settings(ports={name: 0 for name in Settings().ports}, data_dir=data_dir)).context.store.close()
    (data_dir / damaged).write_bytes(b"garbage, not what the emulator wrote" * 200)
    code, output = _cli(capsys, "serve", "--data-dir", str(data_dir), "--imds-port", "0", "--login-port", "0",
                        "--arm-port", "0", "--sql-port", "0")
    assert code == 2, output
    assert "Traceback" not in output
    last = output.strip().splitlines()[-1]
    assert "reset --hard" in last and "damaged" in last or "cannot be opened" in last


def test_an_unusable_data_dir_is_named(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for data_dir in (blocker / "data", Path("/sys/mi-workbook-emulator-test")):
        code, output = _cli(capsys, "serve", "--data-dir", str(data_dir), "--imds-port", "0")
        assert code == 2, output
        assert "Traceback" not in output
        assert str(data_dir) in output.strip().splitlines()[-1]


def test_a_port_in_use_is_named(tmp_path: Path, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _cli(capsys, "serve", "--data-dir", str(tmp_path), "--imds-port", str(port),
                            "--login-port", "0", "--arm-port", "0", "--sql-port", "0")
    assert code == 2, output
    assert f"Port {port} (imds) is in use" in output and "--imds-port" in output


def test_request_json_depth_is_measured_before_parsing_without_recursion() -> None:
    """Deep nesting is refused as a ValueError before json.loads recurses (a RecursionError in the middle
    of a collection made a finalizer fail once in a full run); brackets inside strings do not count, and
    nesting up to the limit parses."""
    import sys

    from emulator.core.http import MAX_JSON_DEPTH, loads_json

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # json.loads itself would fail at ~200 levels here; the scan must not recurse
    try:
        with pytest.raises(ValueError, match="nested more than"):
            loads_json(b"[" * 100_000)
        with pytest.raises(ValueError, match="nested more than"):
            loads_json(b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1))
    finally:
        sys.setrecursionlimit(limit)
    deepest = loads_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    for _ in range(MAX_JSON_DEPTH - 1):
        deepest = deepest[0]
    assert deepest == []
    assert loads_json('{"s": "[[[[{{{{\\"]]", "t": "\\\\"}') == {"s": '[[[[{{{{"]]', "t": "\\"}
    for not_json in (b'"unterminated [[[', b'\\"' * 1000, b'"ends in a backslash \\'):
        with pytest.raises(ValueError):
            loads_json(not_json)


# -- stopping --------------------------------------------------------------------------------------
def test_stop_ends_the_loop_even_with_connections_left_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Clients that never hang up (a kept-alive HTTPS connection, a SQL socket mid-login) do not outlive the
    emulator: their handlers are cancelled and awaited, the loop is closed, and nothing is left for the
    garbage collector to report as "Task was destroyed but it is pending!"."""
    import gc
    import ssl

    instance = Emulator(Settings.for_tests(tmp_path)).start_in_thread()
    profile = instance.profile
    assert profile is not None
    kept_alive = requests.Session()
    kept_alive.trust_env = False  # no proxy, and no REQUESTS_CA_BUNDLE overriding the verify below
    kept_alive.verify = profile.ca_bundle
    assert kept_alive.get(f"{profile.endpoints['arm']}/metadata/endpoints", params={"api-version": "2022-09-01"},
                          timeout=10).status_code == 200
    arm_port = int(profile.endpoints["arm"].rsplit(":", 1)[1])
    half_open = ssl.create_default_context(cafile=profile.ca_bundle).wrap_socket(
        socket.create_connection(("127.0.0.1", arm_port), timeout=10), server_hostname="127.0.0.1")
    half_open.sendall(b"GET /metadata/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
    sql_port = int(profile.endpoints["sql"].rsplit(",", 1)[1])
    mid_login = socket.create_connection(("127.0.0.1", sql_port), timeout=10)  # sends no PRELOGIN
    imds_port = int(profile.endpoints["imds"].rsplit(":", 1)[1])
    idle = socket.create_connection(("127.0.0.1", imds_port), timeout=10)
    time.sleep(0.2)  # every listener has accepted its connection and started a handler for it
    loop = instance._loop
    assert loop is not None and asyncio.all_tasks(loop), "the open connections have handlers running"
    try:
        with caplog.at_level("ERROR", logger="asyncio"):
            instance.stop()
            assert instance._thread is not None and not instance._thread.is_alive()
            assert loop.is_closed()
            gc.collect()
        assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
        instance.stop()  # a second stop is harmless
    finally:
        kept_alive.close()
        for connection in (half_open, mid_login, idle):
            connection.close()
