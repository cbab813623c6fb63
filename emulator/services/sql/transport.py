"""The byte pipe under a TDS session: a TCP stream, optionally wrapped in TLS, carrying TDS packets.

TLS is done with ``ssl.SSLObject`` over memory BIOs (not ``start_tls``) because TDS needs both
shapes, decided by the first byte the client sends (hand-written, see tds.py's docstring):

- TDS 8.0 (``Encrypt=strict``): the first byte is a TLS record (0x16); TLS comes first, with ALPN
  ``tds/8.0``, and PRELOGIN/LOGIN7 travel inside it.
- TDS 7.4: PRELOGIN in clear, then the TLS handshake records travel *inside* PRELOGIN packets
  (capped at TLS 1.2, as the real driver needs), then the stream switches to raw TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable

from . import tds

READ_CHUNK = 65536
# A message before login is a PRELOGIN (tens of bytes), a TLS handshake record or a LOGIN7: measured with
# ODBC Driver 18 and mssql-python 2.75 KB and with pytds 2.6 KB for a 1,200-character token (LOGIN7 is about
# 350 bytes plus two per token character). 64 KiB takes a token of 32,000 characters, several times the
# largest Entra token (a JWT with group claims stops at about 200 groups): nothing unauthenticated buffers more.
LOGIN_MESSAGE_LIMIT = 64 * 1024
# After login: a batch or an RPC with its parameters. SQL Server takes up to 65,536 network packets; the
# emulator, which holds a request in memory to run it, takes 16 MiB and refuses more with an error.
REQUEST_MESSAGE_LIMIT = 16 * 1024 * 1024


class MessageTooLarge(tds.ProtocolError):
    """A message longer than the limit for its phase; ``drained`` when its rest was read and dropped, so
    the connection can go on (after login), else the connection closes (before login)."""

    def __init__(self, limit: int, drained: bool) -> None:
        super().__init__(f"message larger than {limit} bytes")
        self.limit = limit
        self.drained = drained


class Transport:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.tls: ssl.SSLObject | None = None
        self._incoming: ssl.MemoryBIO | None = None
        self._outgoing: ssl.MemoryBIO | None = None
        self.packet_size = tds.DEFAULT_PACKET_SIZE

    # -- raw bytes ---------------------------------------------------------------------------------
    async def _fill(self) -> bool:
        """Append at least one more plaintext byte to the buffer; False at end of stream."""
        if self.tls is None:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                return False
            self.buffer += data
            return True
        assert self._incoming is not None
        got = False
        while True:
            try:
                chunk = self.tls.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                self._flush_tls()
                if got:
                    return True
                raw = await self.reader.read(READ_CHUNK)
                if not raw:
                    return False
                self._incoming.write(raw)
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return got
            if not chunk:
                return got
            self.buffer += chunk
            got = True

    async def read_exactly(self, count: int) -> bytes | None:
        while len(self.buffer) < count:
            if not await self._fill():
                return None
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def write(self, data: bytes) -> None:
        if self.tls is None:
            self.writer.write(data)
            return
        view = memoryview(data)
        for start in range(0, len(data), 16384 * 4):
            self.tls.write(view[start:start + 16384 * 4])
        self._flush_tls()

    def _flush_tls(self) -> None:
        if self._outgoing is not None and self._outgoing.pending:
            self.writer.write(self._outgoing.read())

    async def drain(self) -> None:
        await self.writer.drain()

    # -- packets and messages ------------------------------------------------------------------------
    async def read_packet(self) -> tuple[int, int, bytes] | None:
        header = await self.read_exactly(tds.HEADER_SIZE)
        if header is None:
            return None
        packet_type, status, length, _spid, _pid, _window = tds.HEADER.unpack(header)
        if length < tds.HEADER_SIZE:
            raise tds.ProtocolError("packet length below the header size")
        payload = await self.read_exactly(length - tds.HEADER_SIZE)
        if payload is None:
            return None
        return packet_type, status, payload

    async def read_message(self, limit: int = LOGIN_MESSAGE_LIMIT, drain: bool = False
                           ) -> tuple[int, int, bytes] | None:
        """One message (packets up to EOM): (type, status of the first packet, payload). A message longer
        than ``limit`` raises ``MessageTooLarge`` — at once, or with ``drain`` after its remaining
        packets were read and dropped (memory stays bounded either way)."""
        first = await self.read_packet()
        if first is None:
            return None
        packet_type, status, payload = first
        if status & tds.STATUS_EOM:
            return packet_type, status, payload
        parts = [payload]
        size = len(payload)
        while True:
            packet = await self.read_packet()
            if packet is None:
                return None
            kind, more_status, more = packet
            if kind != packet_type:
                if kind == tds.ATTENTION:  # the client gave up on the message it was sending
                    return tds.ATTENTION, more_status, b""
                raise tds.ProtocolError("packet type changed inside a message")
            size += len(more)
            if size > limit:
                parts.clear()
                if not drain:
                    raise MessageTooLarge(limit, drained=False)
                while not more_status & tds.STATUS_EOM:
                    packet = await self.read_packet()
                    if packet is None:
                        return None
                    kind, more_status, _dropped = packet
                    if kind == tds.ATTENTION:
                        return tds.ATTENTION, more_status, b""
                raise MessageTooLarge(limit, drained=True)
            parts.append(more)
            if more_status & tds.STATUS_EOM:
                return packet_type, status, b"".join(parts)

    def send_message(self, packet_type: int, payload: bytes) -> None:
        self.write(tds.packets(packet_type, payload, self.packet_size))

    def message(self, packet_type: int) -> MessageStream:
        """An outgoing message written piece by piece (see ``MessageStream``)."""
        return MessageStream(self, packet_type)

    # -- TLS ---------------------------------------------------------------------------------------
    async def start_tls_strict(self, context: ssl.SSLContext, first_bytes: bytes) -> None:
        """TDS 8: the TLS handshake on the bare socket; ``first_bytes`` were already read."""

        async def receive() -> bytes:
            raw = await self.reader.read(READ_CHUNK)
            if not raw:
                raise ConnectionResetError("client left during the TLS handshake") from None
            return raw

        await self._handshake(context, first_bytes, wrap=lambda records: records, receive=receive)

    async def start_tls_in_prelogin(self, context: ssl.SSLContext) -> None:
        """TDS 7.x: handshake records wrapped in PRELOGIN packets, then raw TLS."""

        async def receive() -> bytes:
            found = await self.read_message()
            if found is None:
                raise ConnectionResetError("client left during the TLS handshake") from None
            kind, _status, payload = found
            if kind != tds.PRELOGIN:
                raise tds.ProtocolError("expected a TLS handshake inside PRELOGIN packets") from None
            return payload

        await self._handshake(
            context, b"", wrap=lambda records: tds.packets(tds.PRELOGIN, records, self.packet_size), receive=receive)

    async def _handshake(self, context: ssl.SSLContext, first_bytes: bytes, *,
                         wrap: Callable[[bytes], bytes], receive: Callable[[], Awaitable[bytes]]) -> None:
        """Run a server-side handshake through memory BIOs; ``wrap`` frames outgoing records, ``receive``
        returns the next incoming TLS bytes (bare, or unwrapped from PRELOGIN packets)."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        incoming.write(first_bytes)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    self.writer.write(wrap(outgoing.read()))
                    await self.writer.drain()
                incoming.write(await receive())
        if outgoing.pending:
            self.writer.write(wrap(outgoing.read()))
        self.tls, self._incoming, self._outgoing = tls, incoming, outgoing
        await self.writer.drain()

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.close()


class MessageStream:
    """One outgoing message sent while it is still being produced, as SQL Server streams a result:
    each full packet leaves as soon as more bytes are known to follow it, so the client decodes the
    first rows while the emulator encodes the next. ``end`` sends the rest with EOM. Callers write
    whole tokens, so what is pending at any moment ends on a token boundary."""

    def __init__(self, transport: Transport, packet_type: int) -> None:
        self.transport = transport
        self.packet_type = packet_type
        self.pending = bytearray()
        self.packet_id = 1
        self.started = False  # a packet of this message has gone out
        self.ended = False

    def write(self, tokens: bytes | bytearray) -> None:
        self.pending += tokens
        size = self.transport.packet_size
        room = size - tds.HEADER_SIZE
        full = (len(self.pending) - 1) // room  # keep at least one byte back for the EOM packet
        if full <= 0:
            return
        with memoryview(self.pending) as view:
            self.transport.write(tds.packets(self.packet_type, view[:full * room], size, self.packet_id, last=False))
        del self.pending[:full * room]
        self.packet_id = (self.packet_id + full) & 0xFF
        self.started = True

    def end(self, tokens: bytes = b"") -> None:
        self.pending += tokens
        self.transport.write(tds.packets(self.packet_type, bytes(self.pending), self.transport.packet_size,
                                         self.packet_id))
        self.pending.clear()
        self.ended = True
