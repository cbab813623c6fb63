"""The emulator's default ports lie below every system's default range of ephemeral ports. Inside it (they were
42400-42407, in Linux's 32768-60999), a port a loopback client had used for its own end of a connection stayed in
TIME_WAIT for a minute after the connection closed, and `azure-emulator start` answered "port in use": seen after a
test run and after running the notebooks, which open hundreds of such connections."""

from __future__ import annotations

from emulator.core.settings import DEFAULT_PORTS

LINUX_EPHEMERAL_START = 32768  # net.ipv4.ip_local_port_range's default low end (this machine's too)
DYNAMIC_PORTS_START = 49152  # IANA's dynamic range: Windows' and macOS's ephemeral ports


def test_default_ports_are_below_every_default_ephemeral_range() -> None:
    ports = sorted(DEFAULT_PORTS.values())
    assert len(set(ports)) == len(ports) == 8
    assert ports[0] > 1024, "a port under 1024 needs root"
    assert ports[-1] < min(LINUX_EPHEMERAL_START, DYNAMIC_PORTS_START), ports
