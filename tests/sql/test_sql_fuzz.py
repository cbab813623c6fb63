"""Fuzzing the TDS decoders: PRELOGIN, LOGIN7 and RPC messages, each mutated (bits flipped, bytes set,
inserted, deleted, duplicated, cut short) and sent in well-formed packets. Seeded (``WORKBOOK_FUZZ_SEED``
picks another seed; a failure prints the seed and the case), bounded in count and in time (a longer run by
hand: ``WORKBOOK_FUZZ_CASES=5000 WORKBOOK_FUZZ_SECONDS=60``).

What must hold for every case: the emulator answers with a whole reply message — never a silent close
where the framing was well formed — and logs no error (an error log is an unexpected exception: a bug);
after login, the same connection answers a query after each case; at the end a real client is served."""

from __future__ import annotations

import logging
import os
import random
import struct
import time
from collections.abc import Callable, Iterator

import pytest
import raw_tds
from raw_tds import Closed, RawTds, nvarchar_param, param, rpc_payload
from sql_helpers import SqlTarget

SEED = int(os.environ.get("WORKBOOK_FUZZ_SEED", "20240611"))
CASES = int(os.environ.get("WORKBOOK_FUZZ_CASES", "150"))          # per family, at most …
SECONDS = float(os.environ.get("WORKBOOK_FUZZ_SECONDS", "3"))      # … and no longer than this (longer runs by hand)
MINIMUM_CASES = 25    # a family that ran fewer cases than this proved nothing


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """One to three random edits of the message."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not out:
            out += bytes([rng.randrange(256)])
        at = rng.randrange(len(out))
        edit = rng.randrange(6)
        if edit == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif edit == 1:
            out[at] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif edit == 2:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif edit == 3:
            del out[at:at + rng.randint(1, 8)]
        elif edit == 4:
            out[at:at] = out[at:at + rng.randint(1, 16)]
        else:
            del out[at:]
    return bytes(out)


def _cases(family: str) -> Iterator[tuple[int, random.Random]]:
    """(case number, its own generator) until the count or the time runs out; never fewer than MINIMUM_CASES (a
    loaded machine takes longer for them, rather than running too few)."""
    master = random.Random(f"{SEED}-{family}")
    deadline = time.monotonic() + SECONDS
    for case in range(CASES):
        if case >= MINIMUM_CASES and time.monotonic() > deadline:
            return
        yield case, random.Random(master.getrandbits(64))


@pytest.fixture
def no_emulator_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING, logger="emulator")
    yield
    failures = [r for r in caplog.records if r.name.startswith("emulator") and r.levelno >= logging.ERROR]
    assert not failures, f"seed {SEED}: the emulator logged errors: {[r.getMessage() for r in failures]}"


def _served_by_a_real_client(target: SqlTarget) -> None:
    with target.admin() as connection:
        assert connection.execute("SELECT COUNT(*) FROM Products").fetchone()[0] == 300


def _answered(action: Callable[[], object], what: str) -> object:
    try:
        return action()
    except Closed as exc:
        pytest.fail(f"seed {SEED}, {what}: connection closed without a reply ({exc})")


def test_fuzzed_prelogin(target: SqlTarget, no_emulator_errors: None) -> None:
    """TDS 7.4: PRELOGIN in clear. Each case is answered with a PRELOGIN reply or error 17828."""
    valid = raw_tds.prelogin_payload()
    ran = 0
    for case, rng in _cases("prelogin"):
        mutated = _mutate(rng, valid)
        client = RawTds(target.port, target.ca, strict=False, timeout=5)
        try:
            client.send(raw_tds.packets(raw_tds.PRELOGIN, mutated))
            kind, payload = _answered(client.read_message, f"prelogin case {case} {mutated.hex()}")  # type: ignore[misc]
        finally:
            client.close()
        assert kind == raw_tds.REPLY
        if payload[:1] == b"\xaa":  # an ERROR token: the structure was refused
            assert raw_tds.parse_tokens(payload).error_numbers == [17828], (case, mutated.hex())
        ran += 1
    assert ran >= MINIMUM_CASES
    _served_by_a_real_client(target)


def test_fuzzed_login7(target: SqlTarget, no_emulator_errors: None) -> None:
    """TDS 8: LOGIN7 inside TLS. Each case gets LOGINACK or an error (17832, 18456, 4060 …), never silence."""
    valid = raw_tds.login7_payload(target.admin_token())
    ran = logged_in = 0
    for case, rng in _cases("login7"):
        mutated = _mutate(rng, valid)
        client = RawTds(target.port, target.ca, timeout=5)
        try:
            client.prelogin()
            answer = _answered(lambda: client.request(raw_tds.LOGIN7, mutated), f"login7 case {case}")  # noqa: B023
            assert isinstance(answer, raw_tds.Reply)
            if answer.loginack:
                logged_in += 1
                assert client.batch("SELECT 1 AS n").rows == [[1]]
            else:
                assert answer.errors and answer.done[-1] & 0x02, (case, mutated.hex())
        finally:
            client.close()
        ran += 1
    assert ran >= MINIMUM_CASES
    _served_by_a_real_client(target)


def _rpc_seeds() -> list[bytes]:
    """Well-formed RPCs with one parameter of each kind the decoder reads, to mutate."""
    def executesql(declaration: str, value: bytes) -> bytes:
        return rpc_payload(10, nvarchar_param("", "SELECT @p AS v") + nvarchar_param("", f"@p {declaration}")
                           + value)

    return [
        executesql("int", param("@p", b"\x26\x04", b"\x04" + struct.pack("<i", 7))),
        executesql("float", param("@p", b"\x6d\x08", b"\x08" + struct.pack("<d", 1.5))),
        executesql("decimal(10,2)", param("@p", b"\x6a\x09\x0a\x02", b"\x05\x01" + struct.pack("<I", 12345))),
        executesql("nvarchar(20)", nvarchar_param("@p", "hello")),
        executesql("varbinary(max)", param("@p", b"\xa5\xff\xff", struct.pack("<QI", 3, 3) + b"abc"
                                           + struct.pack("<I", 0))),
        executesql("date", param("@p", b"\x28", b"\x03" + (738000).to_bytes(3, "little"))),
        executesql("datetime2(7)", param("@p", b"\x2a\x07", b"\x08" + bytes(5) + (738000).to_bytes(3, "little"))),
        executesql("datetimeoffset(7)", param("@p", b"\x2b\x07", b"\x0a" + bytes(5) + (738000).to_bytes(3, "little")
                                              + struct.pack("<h", 60))),
        executesql("uniqueidentifier", param("@p", b"\x24\x10", b"\x10" + bytes(range(16)))),
        executesql("datetime", param("@p", b"\x6f\x08", b"\x08" + struct.pack("<iI", 45000, 300))),
        rpc_payload(13, param("@handle", b"\x26\x04", b"\x00", output=True) + nvarchar_param("", "@a int")
                    + nvarchar_param("", "SELECT @a + 1 AS v") + param("@a", b"\x26\x04", b"\x04\x01\x00\x00\x00")),
        rpc_payload(0, nvarchar_param("", "SELECT 1"), name="sp_executesql"),
    ]


def test_fuzzed_rpc(target: SqlTarget, no_emulator_errors: None) -> None:
    """After login: each mutated RPC is answered (its result or SQL Server's error, then DONE) and the
    same connection answers a query afterwards."""
    seeds = _rpc_seeds()
    client = raw_tds.connect(target.port, target.ca, target.admin_token())
    ran = 0
    try:
        for seed_payload in seeds:  # the seeds themselves are well formed: each is answered without error
            answer = client.request(raw_tds.RPC, seed_payload)
            assert not answer.errors, answer.errors
        for case, rng in _cases("rpc"):
            mutated = _mutate(rng, rng.choice(seeds))
            answer = _answered(lambda: client.request(raw_tds.RPC, mutated), f"rpc case {case} {mutated.hex()}")  # noqa: B023
            assert isinstance(answer, raw_tds.Reply) and answer.done, (case, mutated.hex())
            follow = _answered(lambda: client.batch("SELECT 2 AS n"), f"query after rpc case {case}")
            assert isinstance(follow, raw_tds.Reply) and follow.rows == [[2]], (case, mutated.hex())
            ran += 1
    finally:
        client.close()
    assert ran >= MINIMUM_CASES
    _served_by_a_real_client(target)
