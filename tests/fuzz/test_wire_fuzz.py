"""Fuzzing below HTTP clients: malformed request lines, headers and framing, sent as raw bytes.

No HTTP library would send these, but anything on the learner's machine can. Whatever arrives, each
listener answers with an HTTP status (a 4xx, from aiohttp's parser or the service), never a 5xx, never
silence and never a crash, and then still serves a normal request. Seeded and bounded like
test_http_fuzz.py (no shrinking either).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import urllib.parse

from emu_helpers import ARM, Azure
from fuzz_helpers import http_services
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from emulator.app import Emulator

SEED = 20261203
EXAMPLES_PER_LISTENER = 60
ANSWER_WAIT_SECONDS = 0.4  # loopback answers take milliseconds

MUTATIONS = [
    b"\r\n", b"\n", b"\r", b"\x00", b" ", b"\t", b":", b"HTTP/1.1", b"HTTP/9.9", b"GET", b"\xff\xfe",
    b"Content-Length: -1\r\n", b"Content-Length: 99999999999999999999\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: chunked, gzip\r\n", b"Expect: 100-continue\r\n",
    b"Host: \r\n", b"X: " + b"a" * 9000 + b"\r\n", b"Connection: upgrade\r\nUpgrade: websocket\r\n",
    b"zz\r\nnot-hex\r\n", b"0\r\n\r\n", b"ffffffffffffffff\r\n", b"%", b"/../../", b"?a=%zz&&&=",
]


def _request(host: str, path: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nMetadata: true\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n\r\n{}").encode()


WAITING = b"(waiting)"  # the server is still reading: the request declared more than was sent


def _exchange(url: str, ca: str, payload: bytes) -> bytes:
    """Send ``payload`` and return the start of the answer, or WAITING when none comes while the
    connection stays open (a body or header still expected; the header timeout ends those, tested in
    tests/emulator/test_hardening_core.py). The socket is not half-closed: aiohttp treats an early EOF
    as the client leaving and would drop the answer."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        stream: socket.socket = raw
        if parts.scheme == "https":
            stream = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname=parts.hostname)
        with contextlib.suppress(OSError):  # the server may refuse early and close; its answer is still readable
            stream.sendall(payload)
        stream.settimeout(ANSWER_WAIT_SECONDS)
        try:
            return stream.recv(65536)
        except TimeoutError:
            return WAITING
        except (ConnectionResetError, ssl.SSLError):
            return b""


def _fuzz_listener(name: str, base: str, ca: str, valid: list[bytes], statuses: dict[str, set[int]]) -> None:
    @seed(SEED)
    @settings(max_examples=EXAMPLES_PER_LISTENER, database=None, deadline=None,
              phases=(Phase.explicit, Phase.reuse, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(base_request=st.sampled_from(valid),
           edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 8), st.sampled_from(MUTATIONS)
                                    | st.binary(max_size=12)), min_size=1, max_size=4))
    def one_request(base_request: bytes, edits: list[tuple[int, int, bytes]]) -> None:
        payload = bytearray(base_request)
        for position, removed, inserted in edits:
            at = min(position, len(payload))
            payload[at:at + removed] = inserted
        answer = _exchange(base, ca, bytes(payload))
        if answer == WAITING:
            statuses.setdefault(name, set()).add(0)
            return
        assert answer.startswith(b"HTTP/1."), f"{name}: no HTTP answer to {bytes(payload)[:200]!r}: {answer[:100]!r}"
        status = int(answer.split(b" ", 2)[1])
        statuses.setdefault(name, set()).add(status)
        assert status < 500, f"{name}: {status} for {bytes(payload)[:200]!r}: {answer[:300]!r}"

    one_request()


def test_every_listener_answers_malformed_http_with_a_4xx(world: Azure, fresh: Emulator) -> None:
    services = list(http_services(fresh))
    listeners = {service.listener: service.base_url for service in services}
    statuses: dict[str, set[int]] = {}
    for name, base in listeners.items():
        host = urllib.parse.urlsplit(base).netloc
        valid = [_request(host, route.pattern.replace("{", "").replace("}", ""))
                 for service in services if service.listener == name for route in service.routes]
        _fuzz_listener(name, base, world.ca, valid, statuses)
    assert set(listeners) >= {"imds", "login", "arm"}
    assert all(any(400 <= status < 500 for status in found) for found in statuses.values()), statuses
    print(statuses)
    assert world.token_response(ARM).status_code == 200
    assert world.get_rg("admin").status_code == 200
