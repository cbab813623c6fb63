"""One TDS connection from accept to close, and the listener that accepts them.

States: pre-login (TDS 8 strict TLS, or PRELOGIN + in-band TLS) → login (LOGIN7 with a FEDAUTH
security token, verified with the shared verifier) → logged in (SQL batches, RPCs, transaction
manager requests, attention). Encryption is always required: a client that will not encrypt is
answered ENCRYPT_REQ and disconnected before it can send a token. Anything that is not TDS closes
the connection; the listener keeps serving others. Hand-written (see tds.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import ssl
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from emulator.core.files import StartError
from emulator.core.http import ConnectionFilter
from emulator.core.tokens import TokenRejected

from . import errors, rpc, tds
from .errors import SqlError
from .handlers import Handlers, Part
from .models import SQL_AUDIENCES, SessionState, SqlServer
from .options import at_login
from .transport import REQUEST_MESSAGE_LIMIT, MessageStream, MessageTooLarge, Transport

if TYPE_CHECKING:
    from emulator.core.context import EmulatorContext

log = logging.getLogger(__name__)

PRELOGIN_TIMEOUT = 30.0
TLS_RECORD = 0x16
PROGRAM_NAME = "Microsoft SQL Server"
# Logged-in sessions the endpoint serves at once; one more is refused at login with Azure SQL's 10928
# (Azure's limits by tier run from 30 to 30,000; a workbook needs a handful).
SESSION_LIMIT = 100
# Sockets, logged in or not: beyond, a new one is closed at once (bounds what unauthenticated peers hold:
# each at most one pre-login message, LOGIN_MESSAGE_LIMIT, for at most PRELOGIN_TIMEOUT per step).
CONNECTION_LIMIT = 128
REQUEST_QUEUE = 4  # requests read ahead of the one being answered (clients send one at a time)
_TOO_LARGE = -1    # queue marker: a request over the limit arrived and was dropped


class Session:
    def __init__(self, listener: SqlListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.listener = listener
        self.transport = Transport(reader, writer)
        self.handlers = listener.handlers
        self.state: SessionState | None = None
        self.strict = False
        self._queue: asyncio.Queue[tuple[int, int, bytes] | None] = asyncio.Queue(REQUEST_QUEUE)
        self._current: asyncio.Task[None] | None = None
        self._stream: MessageStream | None = None
        self._attention = False
        self._cancel_waiting = False  # an attention came while its request still waited in the queue
        self._hung_up = False  # the client closed its connection while a request of its ran

    async def run(self) -> None:
        try:
            prelogin = await asyncio.wait_for(self._negotiate(), PRELOGIN_TIMEOUT)
            if prelogin is None:
                return
            if not await asyncio.wait_for(self._login(), PRELOGIN_TIMEOUT):
                return
            try:
                await self._serve()
            finally:
                self.listener.logged_in.discard(self)
        except (tds.ProtocolError, ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError,
                asyncio.TimeoutError, OSError) as exc:
            log.debug("sql connection closed: %r", exc)
        except Exception:  # a bug in the emulator: log it, drop this connection, keep serving others
            log.exception("sql: connection failed")
        finally:
            if self.state is not None:
                self.handlers.engine.end_session(self.state)
            with contextlib.suppress(Exception):
                await self.transport.drain()
            self.transport.close()

    # -- pre-login ------------------------------------------------------------------------------------
    async def _negotiate(self) -> tds.Prelogin | None:
        first = await self.transport.read_exactly(1)
        if first is None:
            return None
        if first[0] == TLS_RECORD:  # TDS 8.0: TLS before anything else
            self.strict = True
            initial = first + bytes(self.transport.buffer)
            self.transport.buffer.clear()
            await self.transport.start_tls_strict(self.listener.strict_context, initial)
        else:
            self.transport.buffer[:0] = first
        try:
            payload = await self._read_expected(tds.PRELOGIN, "PRELOGIN")
            if payload is None:
                return None
            prelogin = tds.parse_prelogin(payload)
        except tds.ProtocolError as exc:
            log.info("sql: refused a structurally invalid PRELOGIN (%s)", exc)
            await self._refuse(errors.prelogin_invalid())
            return None
        client = prelogin.encryption
        if self.strict:
            answer = tds.ENCRYPT_NOT_SUP if client == tds.ENCRYPT_NOT_SUP else tds.ENCRYPT_ON
        elif client in (tds.ENCRYPT_ON, tds.ENCRYPT_REQ):
            answer = tds.ENCRYPT_ON
        else:
            answer = tds.ENCRYPT_REQ  # OFF (login-only) becomes full encryption; NOT_SUP is refused below
        options = [
            (tds.PL_VERSION, bytes([errors.SERVER_VERSION[0], errors.SERVER_VERSION[1]])
             + errors.SERVER_VERSION[2].to_bytes(2, "big") + errors.SERVER_VERSION[3].to_bytes(2, "big")),
            (tds.PL_ENCRYPTION, bytes([answer])),
            (tds.PL_INSTOPT, b"\x00"),
            (tds.PL_THREADID, b""),
            (tds.PL_MARS, b"\x00"),
        ]
        if tds.PL_FEDAUTHREQUIRED in prelogin.options:
            options.append((tds.PL_FEDAUTHREQUIRED, b"\x01"))
        self.transport.send_message(tds.REPLY, tds.build_prelogin(options))
        await self.transport.drain()
        if self.strict:
            return prelogin
        if client == tds.ENCRYPT_NOT_SUP or client is None:
            log.info("sql: refused a client that does not support encryption")
            return None  # Azure SQL requires encryption: never let a token travel in clear
        await self.transport.start_tls_in_prelogin(self.listener.inband_context)
        return prelogin

    async def _refuse(self, error: SqlError) -> None:
        """Answer with an error before closing (a connection that is not logged in)."""
        self.transport.send_message(tds.REPLY, self.handlers.error_token(error) + tds.done(tds.DONE_ERROR))
        await self.transport.drain()

    async def _read_expected(self, kind: int, name: str) -> bytes | None:
        """The next message's payload, which must be of ``kind``; None when the client left."""
        message = await self.transport.read_message()
        if message is None:
            return None
        found, _status, payload = message
        if found != kind:
            raise tds.ProtocolError(f"expected {name}, got packet type 0x{found:02x}")
        return payload

    # -- login ------------------------------------------------------------------------------------------
    async def _login(self) -> bool:
        try:
            payload = await self._read_expected(tds.LOGIN7, "LOGIN7")
            if payload is None:
                return False
            login = tds.parse_login7(payload)
            _ = login.fedauth_token, login.fedauth_workflow  # a FEDAUTH feature cut short is a bad LOGIN7 too
        except tds.ProtocolError as exc:
            log.info("sql: refused a structurally invalid LOGIN7 (%s)", exc)
            await self._refuse(errors.login_invalid())
            return False
        try:
            token = await self._token(login)
            self.state = self._authenticate(login, token)
            if len(self.listener.logged_in) >= self.listener.session_limit:
                raise errors.session_limit_reached(self.listener.session_limit)
        except tds.ProtocolError as exc:
            log.info("sql: refused a structurally invalid Federated Authentication Token message (%s)", exc)
            await self._refuse(errors.login_invalid())
            return False
        except SqlError as exc:
            if self.state is not None:
                self.handlers.engine.end_session(self.state)
                self.state = None
            await self._refuse(exc)
            return False
        self.listener.logged_in.add(self)
        state = self.state
        requested = login.packet_size or tds.DEFAULT_PACKET_SIZE
        packet_size = max(tds.MIN_PACKET_SIZE, min(tds.MAX_PACKET_SIZE, requested))
        database = state.database.name
        tokens = [
            tds.env_database(database, "master"),
            self.handlers.error_token(errors.changed_database(database)),
            tds.env_collation(),
            tds.env_language("us_english"),
            self.handlers.error_token(errors.changed_language("us_english")),
            tds.loginack(PROGRAM_NAME, errors.SERVER_VERSION),
            tds.env_packet_size(packet_size, tds.DEFAULT_PACKET_SIZE),
        ]
        if tds.FEATURE_FEDAUTH in login.features:
            tokens.append(tds.featureextack({tds.FEATURE_FEDAUTH: b""}))
        tokens.append(tds.done(tds.DONE_FINAL))
        self.transport.send_message(tds.REPLY, b"".join(tokens))
        self.transport.packet_size = packet_size
        await self.transport.drain()
        return True

    async def _token(self, login: tds.Login7) -> str | None:
        """The access token of the login: in LOGIN7 itself (library "security token": the client got it,
        e.g. from IMDS), or — library ADAL: a driver that gets its own token (ActiveDirectoryServicePrincipal
        …) — asked for with FEDAUTHINFO, as Azure SQL asks: the STS URL (the emulator's login endpoint for
        the tenant) and the SPN, then the token in a Federated Authentication Token message (measured with
        ODBC Driver 18: it gets the token from the STS URL with its client credentials, then sends it). ODBC's
        ActiveDirectoryMsi sends the same workflow byte as ActiveDirectoryServicePrincipal, so it gets
        FEDAUTHINFO too and then calls IMDS itself, at 169.254.169.254, which the emulator is not."""
        library = login.fedauth_library
        if library is None or library == tds.FEDAUTH_LIBRARY_SECURITYTOKEN:
            return login.fedauth_token
        if library != tds.FEDAUTH_LIBRARY_ADAL:
            raise errors.fedauth_library_not_supported()
        if login.fedauth_workflow == tds.FEDAUTH_WORKFLOW_INTEGRATED:
            raise errors.fedauth_integrated_not_supported()
        sts_url = self.listener.sts_url()
        if sts_url is None:
            raise errors.fedauth_library_not_supported()
        # as Azure SQL sends it: FEDAUTHINFO alone in its message (SPN, then STS URL)
        self.transport.send_message(tds.REPLY, tds.fedauthinfo(sts_url, SQL_AUDIENCES[0]))
        await self.transport.drain()
        payload = await self._read_expected(tds.FEDAUTH_TOKEN, "a Federated Authentication Token message")
        if payload is None:
            raise ConnectionResetError("the client left before sending its token")
        return tds.parse_fedauth_token(payload)

    def _authenticate(self, login: tds.Login7, token: str | None) -> SessionState:
        if token is None:
            raise errors.login_failed(login.user_name or "")
        context = self.listener.context
        try:
            claims = context.verifier.verify(token, SQL_AUDIENCES)
        except TokenRejected as exc:
            log.info("sql: token rejected (%s)", exc.reason)
            raise errors.login_failed() from None
        state = self.listener.server.open_session(claims, login.database)
        state.host_name, state.app_name = login.host_name, login.app_name
        state.login_options = at_login(odbc=bool(login.option_flags2 & tds.LOGIN_ODBC))
        state.options = state.login_options.copy()
        return state

    # -- logged in ---------------------------------------------------------------------------------------
    async def _serve(self) -> None:
        reader = asyncio.create_task(self._read_loop())
        try:
            while True:
                message = await self._queue.get()
                if message is None:
                    return
                kind, status, payload = message
                if kind == tds.ATTENTION:
                    self._attention = self._cancel_waiting = False
                    self._send(tds.done(tds.DONE_ATTN))
                    await self.transport.drain()
                    continue
                prefix = b""
                if status & (tds.STATUS_RESET_CONNECTION | tds.STATUS_RESET_CONNECTION_SKIP_TRAN):
                    prefix = self._reset(status)
                if self._cancel_waiting:  # cancelled before it began: it never runs; its attention (next) is answered
                    assert self.state is not None
                    self._send(prefix + tds.done(tds.DONE_INXACT if self.state.in_transaction else 0))
                    await self.transport.drain()
                    continue
                self._attention = False
                self._stream = None
                self._current = asyncio.create_task(self._respond(kind, payload, prefix))
                try:
                    await self._current
                except asyncio.CancelledError:
                    if self._hung_up:
                        return
                    if not self._attention:
                        raise
                finally:
                    self._current = None
                if self._attention:  # cancelled (or finished while the attention was on its way)
                    self._attention = False
                    self._acknowledge_attention(prefix)
                await self.transport.drain()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    def _acknowledge_attention(self, prefix: bytes) -> None:
        """As SQL Server answers an attention ([MS-TDS] 3.3.5.9, 4.19.2): every client message gets exactly one
        response message, the attention included. The cancelled request's response ends first — where its
        rows were on their way, with a final DONE (the DONE_MORE bit clear, no DONE_ATTN); where nothing
        was sent, as a message of its own — then the attention's response, the acknowledgement: a DONE with
        DONE_ATTN. A client that reads one response per request (tedious) needs both; one that reads until
        the acknowledgement (ODBC, pytds) reads past the first. An attention that arrives after the response
        is complete gets the acknowledgement alone."""
        assert self.state is not None
        status = tds.DONE_INXACT if self.state.in_transaction else 0
        stream = self._stream
        if stream is not None and stream.started and not stream.ended:
            stream.end(tds.done(status))
        elif stream is None or not stream.ended:
            self._send(prefix + tds.done(status))
        self._send(tds.done(tds.DONE_ATTN))

    async def _respond(self, kind: int, payload: bytes, prefix: bytes) -> None:
        """Answer one request, streaming result sets: each chunk of rows goes out before the next is
        encoded, and between chunks the loop serves other sessions and notices an attention."""
        parts = await self._answer(kind, payload)
        if self._attention:
            return
        stream = self._stream = self.transport.message(tds.REPLY)
        stream.write(prefix)
        try:
            for part in parts:
                if isinstance(part, (bytes, bytearray)):
                    stream.write(part)
                    continue
                for chunk in part:
                    stream.write(chunk)
                    await self.transport.drain()
                    await asyncio.sleep(0)
        except (ConnectionError, OSError):
            raise
        except Exception:  # a bug while a result was made: end the response with an error, keep the connection
            log.exception("sql: unexpected failure while sending a result")
            stream.write(self._failure(errors.internal_error()))
        finally:  # cancelled by an attention: stop reading the rows still in SQLite
            for part in parts:
                if isinstance(part, Generator):
                    part.close()
        stream.end()

    async def _read_loop(self) -> None:
        try:
            while True:
                try:
                    message = await self.transport.read_message(REQUEST_MESSAGE_LIMIT, drain=True)
                except MessageTooLarge:  # dropped as it was read: answered with an error, the session goes on
                    message = (_TOO_LARGE, 0, b"")
                if message is None:
                    break
                if message[0] == tds.ATTENTION and self._current is not None and not self._current.done():
                    self._attention = True
                    self._current.cancel()
                    continue
                if message[0] == tds.ATTENTION and self._attention:
                    continue
                if message[0] == tds.ATTENTION and not self._queue.empty():
                    self._cancel_waiting = True  # its request has not started yet (it was read just before)
                await self._queue.put(message)
        except (tds.ProtocolError, ConnectionError, ssl.SSLError, OSError) as exc:
            log.debug("sql: read loop ended: %s", exc)
        finally:
            if self._current is not None and not self._current.done():  # nobody is left to read its answer
                self._hung_up = True
                self._current.cancel()
            await self._queue.put(None)

    def _send(self, tokens: bytes) -> None:
        self.transport.send_message(tds.REPLY, tokens)

    def _reset(self, status: int) -> bytes:
        """RESETCONNECTION ([MS-TDS] 2.2.3.1.2): back to the state of a new login — a transaction left open
        is rolled back (and said so, with the rollback ENVCHANGE, before the reset's acknowledgement) unless
        the client asked to keep it (RESETCONNECTIONSKIPTRAN); SET options as at login; prepared statements
        and #temp tables gone."""
        state = self.state
        assert state is not None
        notice = b""
        if not status & tds.STATUS_RESET_CONNECTION_SKIP_TRAN and state.in_transaction:
            descriptor = state.descriptor
            self.handlers.engine.end_session(state, keep_temporary=True)
            notice = tds.env_end_transaction(tds.ENV_ROLLBACK_TRAN, descriptor)
        self.handlers.engine.reset_session(state)
        state.prepared.clear()
        state.options = state.login_options.copy()
        return notice + tds.env_reset_ack()

    async def _answer(self, kind: int, payload: bytes) -> list[Part]:
        """The parts that answer one request. A request the emulator cannot read, or fails to run, is
        answered with SQL Server's error for it; the connection is never dropped for it."""
        try:
            return await self._request(kind, payload)
        except SqlError as exc:
            failure = exc
        except rpc.BadParameter as exc:
            failure = errors.rpc_parameter(exc.problem, exc.ordinal, exc.name, exc.type_id, exc.type_name)
        except rpc.TooManyParameters:
            failure = errors.too_many_parameters(rpc.MAX_PARAMETERS)
        except rpc.UnsupportedParameter as exc:
            failure = errors.unsupported(exc.feature)
        except rpc.InvalidName:
            failure = errors.rpc_name_invalid()
        except tds.ProtocolError as exc:
            log.debug("sql: unreadable request: %s", exc)
            failure = errors.stream_ended()
        except RecursionError:  # a statement deeper than the parser's stack, however it got past the splitter
            failure = errors.nested_too_deeply()
        except Exception:  # a bug in the emulator: the request fails, the session goes on
            log.exception("sql: unexpected failure answering a request of type 0x%02x", kind)
            failure = errors.internal_error()
        return [self._failure(failure)]

    def _failure(self, error: SqlError) -> bytes:
        assert self.state is not None
        status = tds.DONE_ERROR | (tds.DONE_INXACT if self.state.in_transaction else 0)
        return self.handlers.error_token(error) + tds.done(status)

    async def _request(self, kind: int, payload: bytes) -> list[Part]:
        state = self.state
        assert state is not None
        if kind == tds.SQL_BATCH:
            return await self.handlers.sql_batch(state, tds.parse_sql_batch(payload))
        if kind == tds.RPC:
            return await self.handlers.rpc(state, rpc.parse_rpc(payload))
        if kind == tds.TRANSACTION_MANAGER:
            return [self.handlers.transaction(state, payload)]
        if kind == _TOO_LARGE:
            raise errors.request_too_large(REQUEST_MESSAGE_LIMIT)
        raise tds.ProtocolError(f"unexpected packet type 0x{kind:02x} after login")


class SqlListener:
    """The Azure SQL endpoint: TDS on one port (IPv4 loopback, and IPv6 loopback when available)."""

    name = "sql"
    connection_filter: ConnectionFilter | None = None  # owner-only mode: refused connections are closed

    def __init__(self, context: EmulatorContext, server: SqlServer,
                 login_endpoint: Callable[[], str | None] = lambda: None) -> None:
        self.context = context
        self.server = server
        self.login_endpoint = login_endpoint  # where drivers that get their own token get it
        self.handlers = Handlers(server)
        self.strict_context = context.certificates.server_context()
        self.strict_context.set_alpn_protocols(["tds/8.0"])
        self.inband_context = context.certificates.server_context(max_version=ssl.TLSVersion.TLSv1_2)
        self._servers: list[asyncio.base_events.Server] = []
        self._sessions: set[asyncio.Task[None]] = set()
        self.logged_in: set[Session] = set()
        self.session_limit = SESSION_LIMIT
        self.connection_limit = CONNECTION_LIMIT

    def sts_url(self) -> str | None:
        """The STS URL FEDAUTHINFO names: the emulator's Entra login endpoint for the tenant (Azure SQL
        names https://login.windows.net/<tenant>)."""
        endpoint = self.login_endpoint()
        return f"{endpoint}/{self.context.world.tenant_id}" if endpoint else None

    @property
    def connections(self) -> int:
        """Sockets open now, logged in or not."""
        return len(self._sessions)

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host`` and, for a loopback host, on [::1] at the same port: clients are given
        ``localhost``, which may resolve to ::1 first. A port taken on either is an error that names it
        (a free port, 0, is chosen again instead); only an IPv6 loopback the machine lacks is skipped."""
        both = host in ("127.0.0.1", "localhost") and os.environ.get("WORKBOOK_SQL_IPV6", "1") != "0"
        attempts = 5 if port == 0 and both else 1
        for attempt in range(attempts):
            primary = await asyncio.start_server(self._accept, host, port, reuse_address=True)
            bound = int(primary.sockets[0].getsockname()[1])
            if not both:
                self._servers.append(primary)
                return bound
            try:
                second = await asyncio.start_server(self._accept, "::1", bound, reuse_address=True)
            except OSError as exc:
                if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):  # no IPv6 loopback here
                    self._servers.append(primary)
                    return bound
                primary.close()
                await primary.wait_closed()
                if port == 0 and exc.errno == errno.EADDRINUSE and attempt < attempts - 1:
                    continue  # the free port chosen on 127.0.0.1 is taken on ::1: choose another
                # StartError: the CLI shows its one line (an OSError would read as "port in use" on 127.0.0.1)
                raise StartError(f"SQL port {bound} is taken on [::1] (IPv6 loopback), where clients of "
                                 f"'localhost' may connect: free it, or start with another --sql-port.") from exc
            self._servers += [primary, second]
            return bound
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        allowed = self.connection_filter
        if allowed is not None and not allowed(writer.get_extra_info("peername"), writer.get_extra_info("sockname")):
            writer.close()  # another user's process: TDS has no way to say why before PRELOGIN
            return
        if len(self._sessions) >= self.connection_limit:
            log.warning("sql: %d connections open, the limit: closed a new one", len(self._sessions))
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await Session(self, reader, writer).run()
        except asyncio.CancelledError:
            pass  # the listener is stopping
        finally:
            self._sessions.discard(task)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.wait(list(self._sessions), timeout=2)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers = []
        self.server.close()
