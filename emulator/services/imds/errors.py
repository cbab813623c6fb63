"""Every wire error the emulated IMDS answers with: status and JSON body, as the real one does.

Bodies are ``{"error": …, "error_description": …}`` (reference/imds.md). Clients must branch on
the status and ``error`` only, never on the description.
"""

from __future__ import annotations

from typing import Any

API_VERSIONS_IDENTITY = ("2018-02-01", "2019-08-01", "2019-11-01", "2025-04-07")
API_VERSIONS_INSTANCE = (
    "2017-03-01", "2017-04-02", "2017-08-01", "2017-10-01", "2017-12-01", "2018-02-01", "2018-04-02",
    "2018-10-01", "2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01", "2019-06-04", "2019-08-01",
    "2019-08-15", "2019-11-01", "2020-06-01", "2020-07-15", "2020-09-01", "2020-10-01", "2020-12-01",
    "2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-10-01", "2021-11-01", "2021-11-15",
    "2021-12-13", "2023-07-01", "2023-11-15", "2024-03-15", "2025-04-07",
)


class ImdsWireError(Exception):
    def __init__(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _invalid_request(description: str) -> ImdsWireError:
    return ImdsWireError(400, {"error": "invalid_request", "error_description": description})


def metadata_header_missing() -> ImdsWireError:
    return _invalid_request("Required metadata header not specified")


def forwarded_request() -> ImdsWireError:
    return _invalid_request("Request contains X-Forwarded-For header; requests through a proxy are refused")


def resource_missing() -> ImdsWireError:
    return _invalid_request("Required query variable 'resource' is missing")


def duplicate_parameter(name: str) -> ImdsWireError:
    return _invalid_request(f"Query parameter '{name}' is specified more than once")


def several_selectors() -> ImdsWireError:
    return _invalid_request("Only one of client_id, object_id, msi_res_id can be specified")


def identity_not_found() -> ImdsWireError:
    return _invalid_request("Identity not found")


def multiple_user_assigned() -> ImdsWireError:
    return _invalid_request(
        "Multiple user assigned identities exist, please specify the clientId / resourceId of the "
        "identity in the token request"
    )


def unknown_resource(resource: str, tenant: str) -> ImdsWireError:
    return ImdsWireError(400, {
        "error": "invalid_resource",
        "error_description": (
            f"AADSTS500011: The resource principal named {resource} was not found in the tenant named "
            f"{tenant}. This can happen if the application has not been installed by the administrator "
            "of the tenant or consented to by any user in the tenant. You might have sent your "
            "authentication request to the wrong tenant."
        ),
    })


def bad_api_version_identity() -> ImdsWireError:
    return _invalid_request(
        "api-version is invalid or was not specified in the request. Supported versions: "
        + ", ".join(API_VERSIONS_IDENTITY)
    )


def bad_api_version_instance() -> ImdsWireError:
    return ImdsWireError(400, {
        "error": "Bad request. api-version is invalid or was not specified in the request. "
                 "For more information refer to aka.ms/azureimds",
        "newest-versions": list(reversed(API_VERSIONS_INSTANCE))[:3],
    })


def bad_format() -> ImdsWireError:
    return ImdsWireError(400, {"error": "Bad request. Query parameter 'format' must be 'json' or 'text'; "
                                        "'text' only for a leaf value"})


def not_found() -> ImdsWireError:
    return ImdsWireError(404, {"error": "Not found"})


def method_not_allowed(allowed: list[str]) -> ImdsWireError:
    return ImdsWireError(405, {"error": "Method not allowed"}, {"Allow": ", ".join(sorted(set(allowed)))})


THROTTLE_RETRY_AFTER_SECONDS = 1  # the rate window is one second


def throttled() -> ImdsWireError:
    """Over the identity category's limits. ``Retry-After`` tells clients (urllib3 Retry, azure-identity's
    retry policy both honour it) when the window has moved on."""
    return ImdsWireError(429, {"error": "too_many_requests",
                               "error_description": "Too many requests: the identity endpoint allows "
                                                    "20 requests per second and 5 at once"},
                         {"Retry-After": str(THROTTLE_RETRY_AFTER_SECONDS)})


def injected(status: int, retry_after: int | None) -> ImdsWireError:
    """An outage injected through the control plane (IMDS updating, throttled, backend down)."""
    bodies = {
        404: {"error": "not_found", "error_description": "IMDS is being updated"},
        410: {"error": "gone", "error_description": "IMDS is being updated; retry within 70 seconds"},
        429: throttled().body,
    }
    body = bodies.get(status, {
        "error": "unknown",
        "error_description": "Failed to retrieve token from the Active directory. For details see logs",
    })
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return ImdsWireError(status, body, headers)


def body_too_large(limit: int) -> ImdsWireError:
    return ImdsWireError(413, {"error": "invalid_request",
                               "error_description": f"The request body is larger than {limit} bytes"})


def internal_error() -> ImdsWireError:
    return ImdsWireError(500, {"error": "unknown",
                               "error_description": "Failed to retrieve token from the Active directory. "
                                                    "For details see logs"})
