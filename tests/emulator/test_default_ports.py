"""The emulator's default ports lie below every system's range of ephemeral ports. Inside it (they were 42400-42407,
in Linux's 32768-60999), a port a loopback client had used for its own end of a connection stayed in TIME_WAIT for a
minute after the connection closed, and `azure-emulator start` answered "port in use": seen after a test run and
after running the notebooks, which open hundreds of such connections."""

from __future__ import annotations

from pathlib import Path

from emulator.core.settings import DEFAULT_PORTS

DYNAMIC_PORTS_START = 49152  # IANA's dynamic range: Windows' and macOS's ephemeral ports


def test_default_ports_are_below_every_ephemeral_range() -> None:
    ports = sorted(DEFAULT_PORTS.values())
    assert len(set(ports)) == len(ports) == 8
    assert ports[0] > 1024 and ports[-1] < DYNAMIC_PORTS_START
    linux_range = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(linux_range.read_text().split()[0]) if linux_range.exists() else 32768  # Linux's default otherwise
    assert ports[-1] < low, f"the default ports {ports} overlap this machine's ephemeral ports (from {low})"
