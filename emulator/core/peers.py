"""Who is on the other end of a loopback connection: the owner-only mode for shared machines.

On one machine with many learners (JupyterHub with LocalProcessSpawner, The Littlest JupyterHub) every
learner's emulator listens on the same loopback interface. Files keep learners apart (0700 data dirs,
0600 keys and profiles), but IMDS hands a token to whoever connects, and the world's admin app has a
well-known secret: another learner who finds the ports could take this learner's VM identity or make
grants in this learner's world. With ``--owner-only`` every listener first asks the kernel which user
opened the connecting socket and answers only this process's own user.

Linux only: the kernel lists every TCP socket with its owner's uid in ``/proc/net/tcp`` and
``/proc/net/tcp6`` (documented in the kernel's proc(5) "/proc/net/tcp"); the client's socket is the row
whose local address is the connection's peer and whose remote address is our end. Elsewhere the mode
cannot start (``require_owner_only``), and one learner per machine needs no such mode.
"""

from __future__ import annotations

import ipaddress
import os
import struct
import sys
from pathlib import Path
from typing import Any

from .files import StartError

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_UID_COLUMN = 7


def require_owner_only() -> None:
    """Raise StartError when this system cannot tell a connection's user."""
    if not sys.platform.startswith("linux") or not _TABLES[0].exists():
        raise StartError("--owner-only needs Linux (/proc/net/tcp tells which user opened a connection); "
                         "on this system run one emulator per machine instead.")


def _address(field: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """``0100007F:A5B8`` (IPv4) or 32 hex digits + port (IPv6): each 32-bit word in host (little-endian) order."""
    host, _, port = field.partition(":")
    raw = bytes.fromhex(host)
    words = b"".join(struct.pack("<I", int.from_bytes(raw[i:i + 4], "big")) for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, int(port, 16)


def _normal(address: Any) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    if not isinstance(address, tuple) or len(address) < 2:
        return None
    host = ipaddress.ip_address(str(address[0]).split("%")[0])
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
        host = host.ipv4_mapped
    return host, int(address[1])


def connection_uid(peer: Any, ours: Any) -> int | None:
    """The uid that owns the client socket of the loopback connection ``peer`` → ``ours``; None if not found."""
    client, server = _normal(peer), _normal(ours)
    if client is None or server is None:
        return None
    for table in _TABLES:
        try:
            lines = table.read_text(encoding="ascii", errors="replace").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) <= _UID_COLUMN:
                continue
            try:
                if _address(fields[1]) == client and _address(fields[2]) == server:
                    return int(fields[_UID_COLUMN])
            except ValueError:
                continue
    return None


def opened_by_our_user(peer: Any, ours: Any) -> bool:
    """True when the connection's client runs as this process's user (unknown: False, refused)."""
    uid = connection_uid(peer, ours)
    return uid is not None and uid == getattr(os, "getuid", lambda: -1)()
