"""A raw TDS client for the tests that must send what no real driver sends: malformed parameters, odd
framing, fuzzed PRELOGIN/LOGIN7/RPC messages. Written by hand because no client library lets a test put
impossible bytes on the wire; it follows [MS-TDS] and does only what the tests need: TDS 8 (TLS first,
ALPN tds/8.0) or TDS 7.4 (PRELOGIN in clear, then TLS inside PRELOGIN packets), LOGIN7 with a FEDAUTH
security token, and a reader for the tokens the emulator answers with (enough to find errors, DONE
and the rows of simple queries). Loopback only."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
from dataclasses import dataclass, field
from typing import Any

PRELOGIN, LOGIN7, SQL_BATCH, RPC, REPLY, ATTENTION, FEDAUTH_TOKEN = 0x12, 0x10, 0x01, 0x03, 0x04, 0x06, 0x08
HEADER = struct.Struct(">BBHHBB")


class Closed(Exception):
    """The server closed the connection (or sent nothing) before a whole reply arrived."""


@dataclass(frozen=True)
class Column:
    """A COLMETADATA column: its name, flags and TYPE_INFO (type id, length, scale)."""

    name: str
    flags: int
    type_id: int
    size: int
    scale: int

    @property
    def nullable(self) -> bool:
        return bool(self.flags & 0x0001)


@dataclass
class Reply:
    """What one reply message carried: errors and infos (number, message), the DONE statuses, rows."""

    errors: list[tuple[int, str]] = field(default_factory=list)
    infos: list[tuple[int, str]] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)  # of the last COLMETADATA
    loginack: bool = False
    payload: bytes = b""
    envchanges: list[int] = field(default_factory=list)  # ENVCHANGE types, in order
    tokens: list[int] = field(default_factory=list)  # every token type, in order
    return_statuses: list[int] = field(default_factory=list)  # RETURNSTATUS values, in order

    @property
    def error_numbers(self) -> list[int]:
        return [number for number, _ in self.errors]


def packets(kind: int, payload: bytes, size: int = 4096, status: int = 0) -> bytes:
    room = size - 8
    chunks = [payload[i:i + room] for i in range(0, len(payload), room)] or [b""]
    out = b""
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        out += HEADER.pack(kind, (0x01 if last else 0) | status, len(chunk) + 8, 0, (index + 1) & 0xFF, 0) + chunk
    return out


def prelogin_payload(encryption: int = 0x01, fedauth: bool = True) -> bytes:
    options = [(0x00, bytes([18, 6, 0, 2, 0, 0])), (0x01, bytes([encryption])), (0x02, b"\x00"),
               (0x03, b"\x00\x00\x00\x00"), (0x04, b"\x00")]
    if fedauth:
        options.append((0x06, b"\x01"))
    offset = 5 * len(options) + 1
    head, body = b"", b""
    for token, value in options:
        head += struct.pack(">BHH", token, offset + len(body), len(value))
        body += value
    return head + b"\xff" + body


def login7_payload(token: str, database: str = "workbookdb", library: int = 0x01, echo: int = 0,
                   workflow: int = 0x01) -> bytes:
    """LOGIN7 with a FEDAUTH feature extension: library 1 (security token) carries the JWT; library 2
    (the ADAL workflow, a driver that fetches its own token) carries a workflow byte instead."""
    fields = ["raw-tds-test", "", "", "raw_tds", "localhost", "", "raw-tds", "", database]
    fixed = 94
    data = b""
    offsets = []
    position = fixed
    for index, text in enumerate(fields):
        encoded = text.encode("utf-16-le")
        if index == 5:  # the extension slot: ibExtension points at a DWORD with the FeatureExt offset
            offsets.append((position, 4))
            data += b"\x00\x00\x00\x00"
            position += 4
            continue
        offsets.append((position, len(encoded) // 2))
        data += encoded
        position += len(encoded)
    if library == 0x01:
        feature_data = bytes([(library << 1) | echo]) + struct.pack("<I", len(token) * 2) + token.encode("utf-16-le")
    else:
        feature_data = bytes([(library << 1) | echo, workflow])  # 0x01: what ODBC sends for ServicePrincipal
    features = bytes([0x02]) + struct.pack("<I", len(feature_data)) + feature_data + b"\xff"
    feature_offset = position
    extension_at = offsets[5][0] - fixed
    data = data[:extension_at] + struct.pack("<I", feature_offset) + data[extension_at + 4:]
    data += features
    header = struct.pack("<IIIIIIBBBBiI", fixed + len(data), 0x74000004, 4096, 0x07000000, 1234, 0,
                         0xE0, 0x03, 0x00, 0x10, 0, 0x0409)
    layout = b""
    for (offset, count) in offsets[:5]:
        layout += struct.pack("<HH", offset, count)
    layout += struct.pack("<HH", *offsets[5])  # ibExtension, cbExtension
    for (offset, count) in offsets[6:]:
        layout += struct.pack("<HH", offset, count)
    layout += b"\x00" * 6  # ClientID
    layout += struct.pack("<HH", position, 0)  # SSPI
    layout += struct.pack("<HH", position, 0)  # AtchDBFile
    layout += struct.pack("<HH", position, 0)  # ChangePassword
    layout += struct.pack("<I", 0)  # cbSSPILong
    payload = header + layout
    assert len(payload) == fixed, len(payload)
    return payload + data


def fedauth_token_payload(token: str) -> bytes:
    """A Federated Authentication Token message (packet type 0x08): DataLen, then the token (no nonce)."""
    encoded = token.encode("utf-16-le")
    body = struct.pack("<I", len(encoded)) + encoded
    return struct.pack("<I", len(body)) + body


def parse_fedauthinfo(data: bytes) -> dict[int, str]:
    """The options of a FEDAUTHINFO token (0xEE) at the start of ``data``: {1: STS URL, 2: SPN}."""
    assert data[0] == 0xEE, f"not FEDAUTHINFO: {data[:1].hex()}"
    (length,) = struct.unpack_from("<I", data, 1)
    body = data[5:5 + length]
    (count,) = struct.unpack_from("<I", body, 0)
    found = {}
    for index in range(count):
        info_id, size, offset = struct.unpack_from("<BII", body, 4 + 9 * index)
        found[info_id] = body[offset:offset + size].decode("utf-16-le")
    return found


def all_headers() -> bytes:
    transaction = struct.pack("<IHQI", 18, 0x0002, 0, 1)
    return struct.pack("<I", 4 + len(transaction)) + transaction


def sql_batch_payload(text: str) -> bytes:
    return all_headers() + text.encode("utf-16-le")


def rpc_payload(proc_id: int, params: bytes, name: str | None = None) -> bytes:
    head = struct.pack("<HH", 0xFFFF, proc_id) if name is None else \
        struct.pack("<H", len(name)) + name.encode("utf-16-le")
    return all_headers() + head + b"\x00\x00" + params


def param(name: str, type_info: bytes, value: bytes, output: bool = False) -> bytes:
    encoded = name.encode("utf-16-le")
    return bytes([len(name)]) + encoded + bytes([1 if output else 0]) + type_info + value


def nvarchar_param(name: str, text: str) -> bytes:
    data = text.encode("utf-16-le")
    return param(name, b"\xe7" + struct.pack("<H", 8000) + b"\x09\x04\xd0\x00\x34", struct.pack("<H", len(data)) + data)


class RawTds:
    """One connection to the emulator's SQL endpoint, logged in or not, speaking raw TDS."""

    def __init__(self, port: int, ca: str, *, strict: bool = True, timeout: float = 10.0) -> None:
        self.raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock: Any = self.raw
        self.strict = strict
        self.ca = ca
        self.packet_size = 4096
        if strict:
            context = ssl.create_default_context(cafile=ca)
            context.set_alpn_protocols(["tds/8.0"])
            self.sock = context.wrap_socket(self.raw, server_hostname="localhost")

    # -- bytes --------------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv_exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            try:
                chunk = self.sock.recv(count - len(data))
            except (ConnectionResetError, ssl.SSLError, OSError) as exc:
                raise Closed(str(exc)) from None
            if not chunk:
                raise Closed(f"closed after {len(data)} of {count} bytes")
            data += chunk
        return data

    def read_packet(self) -> tuple[int, int, bytes]:
        """(type, status, payload) of the next packet."""
        kind, status, length, _spid, _pid, _window = HEADER.unpack(self._recv_exactly(8))
        return kind, status, self._recv_exactly(length - 8)

    def read_message(self) -> tuple[int, bytes]:
        payload = b""
        while True:
            kind, status, chunk = self.read_packet()
            payload += chunk
            if status & 0x01:
                return kind, payload

    def request(self, kind: int, payload: bytes, status: int = 0) -> Reply:
        self.send(packets(kind, payload, self.packet_size, status))
        return self.reply()

    def reply(self) -> Reply:
        kind, payload = self.read_message()
        assert kind == REPLY, f"reply packet type {kind:#x}"
        return parse_tokens(payload)

    # -- the handshake ------------------------------------------------------------------------------
    def prelogin(self, payload: bytes | None = None) -> bytes:
        self.send(packets(PRELOGIN, payload if payload is not None else prelogin_payload()))
        kind, answer = self.read_message()
        assert kind == REPLY
        if not self.strict and payload is None:
            self._inband_tls()
        return answer

    def _inband_tls(self) -> None:
        """TDS 7.4: the TLS handshake travels in PRELOGIN packets, then the socket carries raw TLS."""
        context = ssl.create_default_context(cafile=self.ca)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    self.raw.sendall(packets(PRELOGIN, outgoing.read()))
                _kind, data = self.read_message()
                incoming.write(data)
        if outgoing.pending:
            self.raw.sendall(packets(PRELOGIN, outgoing.read()))
        # from here on TLS records flow bare on the socket
        self.sock = _BioSocket(self.raw, tls, incoming, outgoing)

    def login(self, token: str, database: str = "workbookdb", payload: bytes | None = None) -> Reply:
        answer = self.request(LOGIN7, payload if payload is not None else login7_payload(token, database))
        if answer.loginack:
            self.packet_size = 4096
        return answer

    def batch(self, text: str) -> Reply:
        return self.request(SQL_BATCH, sql_batch_payload(text))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawTds:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _BioSocket:
    """TLS over a socket through memory BIOs (the in-band handshake left the SSLObject there)."""

    def __init__(self, raw: socket.socket, tls: ssl.SSLObject, incoming: ssl.MemoryBIO,
                 outgoing: ssl.MemoryBIO) -> None:
        self.raw, self.tls, self.incoming, self.outgoing = raw, tls, incoming, outgoing

    def sendall(self, data: bytes) -> None:
        self.tls.write(data)
        self.raw.sendall(self.outgoing.read())

    def recv(self, count: int) -> bytes:
        while True:
            try:
                return self.tls.read(count)
            except ssl.SSLWantReadError:
                data = self.raw.recv(65536)
                if not data:
                    return b""
                self.incoming.write(data)

    def close(self) -> None:
        self.raw.close()


def connect(port: int, ca: str, token: str, *, strict: bool = True) -> RawTds:
    client = RawTds(port, ca, strict=strict)
    client.prelogin()
    answer = client.login(token)
    assert answer.loginack, answer.errors
    return client


# -- reading the token stream ---------------------------------------------------------------------
def _b_varchar(data: bytes, at: int) -> tuple[str, int]:
    count = data[at]
    return data[at + 1:at + 1 + count * 2].decode("utf-16-le"), at + 1 + count * 2


def _us_varchar(data: bytes, at: int) -> tuple[str, int]:
    (count,) = struct.unpack_from("<H", data, at)
    return data[at + 2:at + 2 + count * 2].decode("utf-16-le"), at + 2 + count * 2


def _type_info(data: bytes, at: int) -> tuple[tuple[int, int, int], int]:
    """(type id, length/max length, scale) and the position after TYPE_INFO, for the types the emulator sends."""
    kind = data[at]
    at += 1
    if kind in (0x26, 0x68, 0x6D, 0x6E, 0x6F, 0x24):  # INTN BITN FLTN MONEYN DATETIMN GUID
        return (kind, data[at], 0), at + 1
    if kind in (0x30, 0x32, 0x34, 0x38, 0x3B, 0x3E, 0x7F, 0x3D, 0x3A, 0x3C, 0x7A):  # fixed types
        sizes = {0x30: 1, 0x32: 1, 0x34: 2, 0x38: 4, 0x3B: 4, 0x3E: 8, 0x7F: 8, 0x3D: 8, 0x3A: 4, 0x3C: 8, 0x7A: 4}
        return (kind, sizes[kind], 0), at
    if kind in (0x6A, 0x6C):  # DECIMALN NUMERICN
        return (kind, data[at], data[at + 2]), at + 3
    if kind == 0x28:  # DATEN
        return (kind, 3, 0), at
    if kind in (0x29, 0x2A, 0x2B):  # TIMEN DATETIME2N DATETIMEOFFSETN
        return (kind, 0, data[at]), at + 1
    if kind in (0xE7, 0xEF, 0xA7, 0xAF):  # NVARCHAR NCHAR BIGVARCHAR BIGCHAR
        (size,) = struct.unpack_from("<H", data, at)
        return (kind, size, 0), at + 2 + 5
    if kind in (0xA5, 0xAD):  # BIGVARBINARY BIGBINARY
        (size,) = struct.unpack_from("<H", data, at)
        return (kind, size, 0), at + 2
    if kind in (0x23, 0x63, 0x22):  # TEXT NTEXT IMAGE: length, collation (not IMAGE), table name parts
        (size,) = struct.unpack_from("<I", data, at)
        at += 4 + (5 if kind != 0x22 else 0)
        parts = data[at]
        at += 1
        for _ in range(parts):
            _part, at = _us_varchar(data, at)
        return (kind, size, 0), at
    if kind == 0xF1:  # XML without a schema
        return (kind, 0xFFFF, 0), at + 1
    raise ValueError(f"type {kind:#x} not read by this test client")


def _value(data: bytes, at: int, info: tuple[int, int, int]) -> tuple[Any, int]:
    kind, size, _scale = info
    if kind == 0x32:  # BIT
        return bool(data[at]), at + 1
    if kind in (0x30, 0x34, 0x38, 0x7F):
        return int.from_bytes(data[at:at + size], "little", signed=kind != 0x30), at + size
    if kind in (0x3B, 0x3E, 0x3D, 0x3A, 0x3C, 0x7A):
        return data[at:at + size], at + size
    if kind in (0x23, 0x63, 0x22):  # a text pointer (none: NULL), a timestamp, then the data
        pointer = data[at]
        at += 1
        if pointer == 0:
            return None, at
        at += pointer + 8
        (length,) = struct.unpack_from("<I", data, at)
        raw = data[at + 4:at + 4 + length]
        return (raw.decode("utf-16-le") if kind == 0x63 else raw), at + 4 + length
    if kind in (0xE7, 0xEF, 0xA7, 0xAF, 0xA5, 0xAD, 0xF1):
        if size == 0xFFFF:  # PLP
            (total,) = struct.unpack_from("<Q", data, at)
            at += 8
            if total == 0xFFFFFFFFFFFFFFFF:
                return None, at
            chunks = b""
            while True:
                (length,) = struct.unpack_from("<I", data, at)
                at += 4
                if length == 0:
                    break
                chunks += data[at:at + length]
                at += length
            return (chunks.decode("utf-16-le") if kind in (0xE7, 0xEF, 0xF1) else chunks), at
        (length,) = struct.unpack_from("<H", data, at)
        at += 2
        if length == 0xFFFF:
            return None, at
        raw = data[at:at + length]
        return (raw.decode("utf-16-le") if kind in (0xE7, 0xEF) else raw), at + length
    length = data[at]
    at += 1
    raw = data[at:at + length]
    if length == 0:
        return None, at
    if kind == 0x26:  # INTN: a tinyint (one byte) is unsigned
        return int.from_bytes(raw, "little", signed=length != 1), at + length
    if kind == 0x68:
        return bool(raw[0]), at + length
    return raw, at + length


def parse_tokens(data: bytes) -> Reply:
    reply = Reply(payload=data)
    at = 0
    columns: list[tuple[int, int, int]] = []
    while at < len(data):
        token = data[at]
        reply.tokens.append(token)
        at += 1
        if token in (0xAA, 0xAB):  # ERROR, INFO
            (length,) = struct.unpack_from("<H", data, at)
            body = data[at + 2:at + 2 + length]
            (number,) = struct.unpack_from("<i", body, 0)
            message, _ = _us_varchar(body, 6)
            (reply.errors if token == 0xAA else reply.infos).append((number, message))
            at += 2 + length
        elif token in (0xAD, 0xE3):  # LOGINACK, ENVCHANGE
            (length,) = struct.unpack_from("<H", data, at)
            reply.loginack |= token == 0xAD
            if token == 0xE3:
                reply.envchanges.append(data[at + 2])
            at += 2 + length
        elif token == 0xAE:  # FEATUREEXTACK
            while data[at] != 0xFF:
                (length,) = struct.unpack_from("<I", data, at + 1)
                at += 5 + length
            at += 1
        elif token == 0xEE:  # FEDAUTHINFO (read by parse_fedauthinfo)
            (length,) = struct.unpack_from("<I", data, at)
            at += 4 + length
        elif token in (0xFD, 0xFE, 0xFF):  # DONE, DONEPROC, DONEINPROC
            (status,) = struct.unpack_from("<H", data, at)
            reply.done.append(status)
            at += 12
        elif token == 0x79:  # RETURNSTATUS
            reply.return_statuses.append(struct.unpack_from("<i", data, at)[0])
            at += 4
        elif token == 0xAC:  # RETURNVALUE
            at += 2
            _name, at = _b_varchar(data, at)
            at += 1 + 4 + 2
            info, at = _type_info(data, at)
            _value_read, at = _value(data, at, info)
        elif token == 0x81:  # COLMETADATA
            (count,) = struct.unpack_from("<H", data, at)
            at += 2
            columns = []
            if count == 0xFFFF:
                continue
            reply.columns = []
            for _ in range(count):
                (flags,) = struct.unpack_from("<H", data, at + 4)
                at += 6
                info, at = _type_info(data, at)
                name, at = _b_varchar(data, at)
                columns.append(info)
                reply.columns.append(Column(name, flags, *info))
        elif token == 0xD1:  # ROW
            row = []
            for info in columns:
                value, at = _value(data, at, info)
                row.append(value)
            reply.rows.append(row)
        else:
            raise ValueError(f"token {token:#x} at {at - 1} not read by this test client")
    return reply
