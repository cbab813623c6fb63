"""MS-TDS wire format, written by hand for the emulator: packets, PRELOGIN, LOGIN7, the token stream.

No library implements the *server* side of TDS with federated authentication, so this module is our
own reading of [MS-TDS] (Microsoft Open Specifications) plus what reference/sql-tds.md measured
against the real Microsoft ODBC Driver 18. It knows nothing about sockets, TLS or SQL: it turns bytes
into requests and results into bytes. Values in results are encoded by encoding.py, RPC parameters
decoded by rpc.py. Everything is little-endian unless the spec says otherwise
(the packet header and PRELOGIN offsets are big-endian).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# -- packet types and status bits (2.2.3.1) ---------------------------------------------------------
SQL_BATCH = 0x01
PRE_TDS7_LOGIN = 0x02
RPC = 0x03
REPLY = 0x04
ATTENTION = 0x06
BULK_LOAD = 0x07
FEDAUTH_TOKEN = 0x08
TRANSACTION_MANAGER = 0x0E
LOGIN7 = 0x10
SSPI = 0x11
PRELOGIN = 0x12

LOGIN_ODBC = 0x02  # LOGIN7 OptionFlags2 fODBC

STATUS_EOM = 0x01
STATUS_RESET_CONNECTION = 0x08
STATUS_RESET_CONNECTION_SKIP_TRAN = 0x10

HEADER = struct.Struct(">BBHHBB")
HEADER_SIZE = 8
DEFAULT_PACKET_SIZE = 4096
MAX_PACKET_SIZE = 32767
MIN_PACKET_SIZE = 512

TDS74 = 0x74000004

# PRELOGIN options (2.2.6.5)
PL_VERSION, PL_ENCRYPTION, PL_INSTOPT, PL_THREADID, PL_MARS = 0x00, 0x01, 0x02, 0x03, 0x04
PL_TRACEID, PL_FEDAUTHREQUIRED, PL_NONCEOPT, PL_TERMINATOR = 0x05, 0x06, 0x07, 0xFF
ENCRYPT_OFF, ENCRYPT_ON, ENCRYPT_NOT_SUP, ENCRYPT_REQ = 0x00, 0x01, 0x02, 0x03

# LOGIN7 feature extensions (2.2.6.4)
FEATURE_SESSIONRECOVERY = 0x01
FEATURE_FEDAUTH = 0x02
FEATURE_TERMINATOR = 0xFF
FEDAUTH_LIBRARY_SECURITYTOKEN = 0x01
FEDAUTH_LIBRARY_ADAL = 0x02  # the driver gets the token itself, from where the server's FEDAUTHINFO says
# ADAL workflows (2.2.6.4): ODBC Driver 18 sends 0x01 for ActiveDirectoryServicePrincipal, Password, Msi and
# Interactive alike (measured), 0x02 for ActiveDirectoryIntegrated (Kerberos)
FEDAUTH_WORKFLOW_PASSWORD, FEDAUTH_WORKFLOW_INTEGRATED = 0x01, 0x02
FEDAUTHINFO_STSURL, FEDAUTHINFO_SPN = 0x01, 0x02

# Tokens (2.2.7)
TOKEN_COLMETADATA = 0x81
TOKEN_ERROR = 0xAA
TOKEN_INFO = 0xAB
TOKEN_RETURNVALUE = 0xAC
TOKEN_LOGINACK = 0xAD
TOKEN_FEATUREEXTACK = 0xAE
TOKEN_ROW = 0xD1
TOKEN_NBCROW = 0xD2
TOKEN_ENVCHANGE = 0xE3
TOKEN_DONE = 0xFD
TOKEN_DONEPROC = 0xFE
TOKEN_DONEINPROC = 0xFF
TOKEN_RETURNSTATUS = 0x79
TOKEN_FEDAUTHINFO = 0xEE

DONE_FINAL = 0x00
DONE_MORE = 0x01
DONE_ERROR = 0x02
DONE_INXACT = 0x04
DONE_COUNT = 0x10
DONE_ATTN = 0x20
DONE_SRVERROR = 0x100

# DONE CurCmd values SQL Server uses
CMD_SELECT = 0xC1
CMD_INSERT = 0xC3
CMD_DELETE = 0xC4
CMD_UPDATE = 0xC5
CMD_OTHER = 0x00
CMD_EXECUTE = 0xE0

ENV_DATABASE = 1
ENV_LANGUAGE = 2
ENV_PACKETSIZE = 4
ENV_COLLATION = 7
ENV_BEGIN_TRAN = 8
ENV_COMMIT_TRAN = 9
ENV_ROLLBACK_TRAN = 10
ENV_RESET_ACK = 18

# SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, IgnoreCase|IgnoreKana|IgnoreWidth, SortId 52
COLLATION = bytes([0x09, 0x04, 0xD0, 0x00, 0x34])

# Type ids (2.2.5.4)
T_NULL = 0x1F
T_INT1, T_BIT, T_INT2, T_INT4, T_DATETIM4, T_FLT4, T_MONEY, T_DATETIME, T_FLT8 = (
    0x30, 0x32, 0x34, 0x38, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E)
T_MONEY4, T_INT8 = 0x7A, 0x7F
T_GUID, T_INTN, T_DECIMAL, T_NUMERIC, T_BITN = 0x24, 0x26, 0x37, 0x3F, 0x68
T_DECIMALN, T_NUMERICN, T_FLTN, T_MONEYN, T_DATETIMN = 0x6A, 0x6C, 0x6D, 0x6E, 0x6F
T_DATEN, T_TIMEN, T_DATETIME2N, T_DATETIMEOFFSETN = 0x28, 0x29, 0x2A, 0x2B
T_CHAR, T_VARCHAR, T_BINARY, T_VARBINARY = 0x2F, 0x27, 0x2D, 0x25
T_BIGVARBINARY, T_BIGVARCHAR, T_BIGBINARY, T_BIGCHAR = 0xA5, 0xA7, 0xAD, 0xAF
T_NVARCHAR, T_NCHAR, T_XML, T_UDT = 0xE7, 0xEF, 0xF1, 0xF0
T_TEXT, T_IMAGE, T_NTEXT, T_SSVARIANT, T_TVP = 0x23, 0x22, 0x63, 0x62, 0xF3

PLP_NULL = 0xFFFFFFFFFFFFFFFF
PLP_UNKNOWN = 0xFFFFFFFFFFFFFFFE


class ProtocolError(Exception):
    """The peer sent bytes that are not TDS as we understand it. Before login the connection is closed
    (after an error message where one can be sent); after login the request gets an error token."""


class Truncated(ProtocolError):
    """A message ended inside a field it announced (SQL Server: 4002, "the stream ended unexpectedly")."""


# -- packets ----------------------------------------------------------------------------------------
def packets(packet_type: int, payload: bytes | bytearray | memoryview, size: int, packet_id: int = 1,
            last: bool = True) -> bytes | bytearray:
    """Split (part of) one message into packets of at most ``size`` bytes, the last one with EOM
    unless more of the message follows (``last=False``); one buffer, the payload copied into it once."""
    room = size - HEADER_SIZE
    length = len(payload)
    eom = STATUS_EOM if last else 0
    if length <= room:
        return HEADER.pack(packet_type, eom, length + HEADER_SIZE, 0, packet_id & 0xFF, 0) + payload
    count = -(-length // room)
    out = bytearray(length + count * HEADER_SIZE)
    view = memoryview(payload)
    for index in range(count):
        chunk = view[index * room:(index + 1) * room]
        at = index * size
        HEADER.pack_into(out, at, packet_type, eom if index == count - 1 else 0, len(chunk) + HEADER_SIZE, 0,
                         (packet_id + index) & 0xFF, 0)
        out[at + HEADER_SIZE:at + HEADER_SIZE + len(chunk)] = chunk
    return out


# -- small readers ----------------------------------------------------------------------------------
class Reader:
    """A cursor over one message's bytes; raises ProtocolError instead of IndexError/struct.error."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if count < 0 or end > len(self.data):
            raise Truncated("message truncated")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple[Any, ...]:
        try:
            values = fmt.unpack_from(self.data, self.pos)
        except struct.error:
            raise Truncated("message truncated") from None
        self.pos += fmt.size
        return values

    def u8(self) -> int:
        return self.unpack(_U8)[0]

    def u16(self) -> int:
        return self.unpack(_U16)[0]

    def u32(self) -> int:
        return self.unpack(_U32)[0]

    def u64(self) -> int:
        return self.unpack(_U64)[0]

    def b_varchar(self) -> str:
        return self.take(self.u8() * 2).decode("utf-16-le", "replace")

    def us_varchar(self) -> str:
        return self.take(self.u16() * 2).decode("utf-16-le", "replace")

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos


_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")


def b_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return bytes([len(data) // 2]) + data


def us_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return _U16.pack(len(data) // 2) + data


# -- PRELOGIN (2.2.6.5) -----------------------------------------------------------------------------
@dataclass
class Prelogin:
    options: dict[int, bytes]

    @property
    def encryption(self) -> int | None:
        value = self.options.get(PL_ENCRYPTION)
        return value[0] if value else None

    @property
    def fedauth_required(self) -> bool:
        value = self.options.get(PL_FEDAUTHREQUIRED)
        return bool(value and value[0])


def parse_prelogin(data: bytes) -> Prelogin:
    options: dict[int, bytes] = {}
    position = 0
    while True:
        if position >= len(data):
            raise ProtocolError("PRELOGIN without terminator")
        token = data[position]
        if token == PL_TERMINATOR:
            break
        if position + 5 > len(data):
            raise ProtocolError("PRELOGIN option truncated")
        offset, length = struct.unpack_from(">HH", data, position + 1)
        if offset + length > len(data):
            raise ProtocolError("PRELOGIN option outside the message")
        options[token] = data[offset:offset + length]
        position += 5
    if PL_VERSION not in options:
        raise ProtocolError("PRELOGIN without VERSION")
    return Prelogin(options)


def build_prelogin(options: Sequence[tuple[int, bytes]]) -> bytes:
    offset = 5 * len(options) + 1
    head = bytearray()
    body = bytearray()
    for token, value in options:
        head += struct.pack(">BHH", token, offset + len(body), len(value))
        body += value
    return bytes(head) + bytes([PL_TERMINATOR]) + bytes(body)


# -- LOGIN7 (2.2.6.4) -------------------------------------------------------------------------------
@dataclass
class Login7:
    tds_version: int
    packet_size: int
    client_pid: int
    option_flags3: int
    host_name: str
    user_name: str
    app_name: str
    server_name: str
    library: str
    language: str
    database: str
    features: dict[int, bytes] = field(default_factory=dict)
    has_password: bool = False
    option_flags2: int = 0  # 0x02 fODBC: the server sets the ODBC drivers' SET options (options.py)

    @property
    def fedauth_token(self) -> str | None:
        """The JWT of a FEDAUTH feature with library SECURITYTOKEN, if the client sent one."""
        data = self.features.get(FEATURE_FEDAUTH)
        if not data:
            return None
        library = data[0] >> 1
        if library != FEDAUTH_LIBRARY_SECURITYTOKEN or len(data) < 5:
            return None
        (length,) = _U32.unpack_from(data, 1)
        token = data[5:5 + length]
        if len(token) != length:
            raise ProtocolError("FEDAUTH token truncated")
        return token.decode("utf-16-le", "replace")

    @property
    def fedauth_library(self) -> int | None:
        data = self.features.get(FEATURE_FEDAUTH)
        return data[0] >> 1 if data else None

    @property
    def fedauth_workflow(self) -> int | None:
        """The ADAL workflow byte (after the options byte) of a FEDAUTH feature with library ADAL."""
        data = self.features.get(FEATURE_FEDAUTH)
        if not data or data[0] >> 1 != FEDAUTH_LIBRARY_ADAL:
            return None
        if len(data) < 2:
            raise ProtocolError("FEDAUTH ADAL feature without its workflow")
        return data[1]


def parse_fedauth_token(data: bytes) -> str:
    """The token of a Federated Authentication Token message (packet type 0x08, 2.2.6.3): DataLen, then
    FedAuthToken as a length-prefixed UTF-16 string (a nonce would follow; the emulator sends none).
    ODBC Driver 18 counts the string's terminating NUL in the token (measured): it is not part of it."""
    reader = Reader(data)
    total = reader.u32()
    if total > reader.remaining:
        raise Truncated("FEDAUTH message shorter than its DataLen")
    token = reader.take(reader.u32())
    if not token:
        raise ProtocolError("FEDAUTH message without a token")
    return token.decode("utf-16-le", "replace").rstrip("\x00")


def parse_login7(data: bytes) -> Login7:
    if len(data) < 94:
        raise ProtocolError("LOGIN7 too short")
    (length, version, packet_size, _prog, pid, _conn, _f1, flags2, _tf, flags3, _tz, _lcid) = struct.unpack_from(
        "<IIIIIIBBBBiI", data, 0)

    def text(offset_at: int) -> str:
        offset, count = struct.unpack_from("<HH", data, offset_at)
        if offset + count * 2 > len(data):
            raise ProtocolError("LOGIN7 field outside the message")
        return data[offset:offset + count * 2].decode("utf-16-le", "replace")

    _, password_chars = struct.unpack_from("<HH", data, 44)
    login = Login7(
        tds_version=version, packet_size=packet_size, client_pid=pid, option_flags3=flags3,
        host_name=text(36), user_name=text(40), app_name=text(48), server_name=text(52),
        library=text(60), language=text(64), database=text(68), has_password=password_chars > 0,
        option_flags2=flags2,
    )
    if flags3 & 0x10:  # fExtension: ibExtension points at a DWORD offset of the FeatureExt block
        ib_extension, cb_extension = struct.unpack_from("<HH", data, 56)
        if cb_extension >= 4 and ib_extension + 4 <= len(data):
            (feature_offset,) = _U32.unpack_from(data, ib_extension)
            login.features = _parse_features(data, feature_offset)
    return login


def _parse_features(data: bytes, offset: int) -> dict[int, bytes]:
    features: dict[int, bytes] = {}
    reader = Reader(data, offset)
    while reader.remaining > 0:
        feature = reader.u8()
        if feature == FEATURE_TERMINATOR:
            break
        length = reader.u32()
        features[feature] = reader.take(length)
    return features


# -- token encoders -------------------------------------------------------------------------------
def envchange(kind: int, new: bytes, old: bytes) -> bytes:
    body = bytes([kind]) + new + old
    return bytes([TOKEN_ENVCHANGE]) + _U16.pack(len(body)) + body


def env_database(new: str, old: str) -> bytes:
    return envchange(ENV_DATABASE, b_varchar(new), b_varchar(old))


def env_language(new: str) -> bytes:
    return envchange(ENV_LANGUAGE, b_varchar(new), b_varchar(""))


def env_packet_size(new: int, old: int) -> bytes:
    return envchange(ENV_PACKETSIZE, b_varchar(str(new)), b_varchar(str(old)))


def env_collation() -> bytes:
    return envchange(ENV_COLLATION, bytes([len(COLLATION)]) + COLLATION, b"\x00")


def env_begin_transaction(descriptor: bytes) -> bytes:
    return envchange(ENV_BEGIN_TRAN, b"\x08" + descriptor, b"\x00")


def env_end_transaction(kind: int, descriptor: bytes) -> bytes:
    return envchange(kind, b"\x00", b"\x08" + descriptor)


def env_reset_ack() -> bytes:
    return envchange(ENV_RESET_ACK, b"\x00", b"\x00")


def message(token: int, number: int, state: int, severity: int, text: str, server: str,
            procedure: str = "", line: int = 1) -> bytes:
    body = (_I32.pack(number) + bytes([state & 0xFF, severity & 0xFF]) + us_varchar(text)
            + b_varchar(server) + b_varchar(procedure) + _I32.pack(line))
    return bytes([token]) + _U16.pack(len(body)) + body


def loginack(program: str, version: tuple[int, int, int, int]) -> bytes:
    major, minor, build, _revision = version
    body = (b"\x01" + struct.pack(">I", TDS74) + b_varchar(program)
            + bytes([major, minor, (build >> 8) & 0xFF, build & 0xFF]))
    return bytes([TOKEN_LOGINACK]) + _U16.pack(len(body)) + body


def featureextack(acks: dict[int, bytes]) -> bytes:
    body = b"".join(bytes([feature]) + _U32.pack(len(data)) + data for feature, data in acks.items())
    return bytes([TOKEN_FEATUREEXTACK]) + body + bytes([FEATURE_TERMINATOR])


def fedauthinfo(sts_url: str, spn: str) -> bytes:
    """FEDAUTHINFO (2.2.7.12): where a driver that gets its own token gets it (STSURL) and for what (SPN)."""
    options = [(FEDAUTHINFO_SPN, spn.encode("utf-16-le")), (FEDAUTHINFO_STSURL, sts_url.encode("utf-16-le"))]
    offset = 4 + 9 * len(options)  # data offsets count from CountOfInfoIDs
    head, body = bytearray(_U32.pack(len(options))), bytearray()
    for info_id, value in options:
        head += struct.pack("<BII", info_id, len(value), offset + len(body))
        body += value
    payload = bytes(head + body)
    return bytes([TOKEN_FEDAUTHINFO]) + _U32.pack(len(payload)) + payload


def done(status: int = DONE_FINAL, command: int = CMD_OTHER, rowcount: int = 0, token: int = TOKEN_DONE) -> bytes:
    return struct.pack("<BHHQ", token, status, command, rowcount)


def returnstatus(value: int) -> bytes:
    return bytes([TOKEN_RETURNSTATUS]) + _I32.pack(value)


# -- request parsing: ALL_HEADERS, SQL batch, RPC, transaction manager ------------------------------
def skip_all_headers(reader: Reader) -> bytes | None:
    """Skip ALL_HEADERS (TDS 7.2+); return the transaction descriptor if one was sent."""
    if reader.remaining < 4:
        return None
    start = reader.pos
    total = reader.u32()
    if total < 4 or start + total > len(reader.data):
        raise ProtocolError("bad ALL_HEADERS")
    descriptor = None
    while reader.pos < start + total:
        length = reader.u32()
        kind = reader.u16()
        value = reader.take(length - 6)
        if kind == 0x0002 and len(value) >= 8:
            descriptor = value[:8]
    return descriptor


def parse_sql_batch(payload: bytes) -> str:
    reader = Reader(payload)
    skip_all_headers(reader)
    return payload[reader.pos:].decode("utf-16-le", "replace")


def parse_transaction_request(payload: bytes) -> tuple[int, bool]:
    """(request type, begin a new transaction afterwards) of a Transaction Manager request."""
    reader = Reader(payload)
    skip_all_headers(reader)
    kind = reader.u16()
    begin_after = False
    if kind in (7, 8) and reader.remaining > 0:  # COMMIT / ROLLBACK: name, then fBeginXact
        reader.b_varchar()
        if reader.remaining > 0:
            begin_after = bool(reader.u8())
    return kind, begin_after


TM_BEGIN, TM_COMMIT, TM_ROLLBACK, TM_SAVE, TM_GET_DTC, TM_PROPAGATE, TM_PROMOTE = 5, 7, 8, 9, 0, 1, 6
