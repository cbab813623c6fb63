"""Entra ID (login.microsoftonline.com) wire errors: OAuth2 error bodies with AADSTS codes."""

from __future__ import annotations

import datetime as dt
import uuid


class EntraError(Exception):
    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self) -> dict[str, object]:
        trace = str(uuid.uuid4())
        now = dt.datetime.now(dt.timezone.utc)
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace} "
                                 f"Correlation ID: {uuid.uuid4()} Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [self.aadsts],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }


def tenant_not_found(tenant: str) -> EntraError:
    return EntraError(400, "invalid_request", 90002,
                      f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
                      "are signing into the correct cloud.")


def missing_parameter(name: str) -> EntraError:
    return EntraError(400, "invalid_request", 900144,
                      f"The request body must contain the following parameter: '{name}'.")


def unsupported_grant_type(grant_type: str) -> EntraError:
    return EntraError(400, "unsupported_grant_type", 70003,
                      f"The app requested an unsupported grant type '{grant_type}'.")


def unknown_client(client_id: str, tenant: str) -> EntraError:
    return EntraError(400, "unauthorized_client", 700016,
                      f"Application with identifier '{client_id}' was not found in the directory "
                      f"'{tenant}'. This can happen if the application has not been installed by the "
                      "administrator of the tenant or consented to by any user in the tenant.")


def invalid_secret(client_id: str) -> EntraError:
    return EntraError(401, "invalid_client", 7000215,
                      "Invalid client secret provided. Ensure the secret being sent in the request is the "
                      f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.")


def invalid_scope(scope: str) -> EntraError:
    return EntraError(400, "invalid_scope", 1002012,
                      f"The provided value for scope {scope} is not valid. Client credential flows must have "
                      "a scope value with /.default suffixed to the resource identifier (application ID URI).")


def unknown_resource(resource: str, tenant: str) -> EntraError:
    return EntraError(400, "invalid_resource", 500011,
                      f"The resource principal named {resource} was not found in the tenant named {tenant}. "
                      "This can happen if the application has not been installed by the administrator of the "
                      "tenant or consented to by any user in the tenant. You might have sent your "
                      "authentication request to the wrong tenant.")


def not_found() -> EntraError:
    return EntraError(404, "invalid_request", 900561, "The endpoint only accepts the documented paths.")


def method_not_allowed() -> EntraError:
    return EntraError(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")


def body_too_large(limit: int) -> EntraError:
    return EntraError(413, "invalid_request", 900144, f"The request body is larger than {limit} bytes.")


def internal_error() -> EntraError:
    return EntraError(500, "server_error", 90033, "A transient error has occurred. Please try again.")
