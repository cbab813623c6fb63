"""The emulated IMDS's routing table: what the VM can ask at 169.254.169.254."""

from emulator.core.http import Route

ROUTES = [
    Route("GET", "/metadata/identity/oauth2/token", "token"),
    Route("GET", "/metadata/instance", "instance"),
    Route("GET", "/metadata/instance/{path:path}", "instance"),
    Route("GET", "/metadata/versions", "versions"),
]
