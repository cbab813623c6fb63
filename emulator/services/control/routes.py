"""The control plane: under /__emulator/ on the IMDS listener, loopback only."""

from emulator.core.http import Route
from emulator.profile import CONTROL_PREFIX

ROUTES = [
    Route("GET", f"{CONTROL_PREFIX}/health", "health"),
    Route("POST", f"{CONTROL_PREFIX}/reset", "reset"),
    Route("GET", f"{CONTROL_PREFIX}/faults", "list_faults"),
    Route("POST", f"{CONTROL_PREFIX}/faults", "inject_fault"),
    Route("DELETE", f"{CONTROL_PREFIX}/faults", "clear_faults"),
    Route("POST", f"{CONTROL_PREFIX}/settings", "change_settings"),
    Route("POST", f"{CONTROL_PREFIX}/shutdown", "shutdown"),
    Route("GET", f"{CONTROL_PREFIX}/progress", "read_progress"),
    Route("POST", f"{CONTROL_PREFIX}/progress", "record_progress"),
    Route("DELETE", f"{CONTROL_PREFIX}/progress", "clear_progress"),
]
