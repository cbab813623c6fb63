"""Wire errors of the emulator's own control plane (not an Azure API): JSON {"error": {code, message}}."""

from __future__ import annotations


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(path: str) -> ControlError:
    return ControlError(404, "NotFound", f"No control-plane operation at '{path}'.")


def method_not_allowed(allowed: list[str]) -> ControlError:
    return ControlError(405, "MethodNotAllowed", f"Allowed methods: {', '.join(sorted(set(allowed)))}.")


def invalid_body(message: str) -> ControlError:
    return ControlError(400, "InvalidRequestBody", message)


def body_too_large(limit: int) -> ControlError:
    return ControlError(413, "BodyTooLarge", f"The body is larger than {limit} bytes.")


def unauthorized() -> ControlError:
    return ControlError(401, "Unauthorized",
                        "The control plane answers only the workbook: send the secret from the emulator's "
                        "private profile (lib.emulator.EmulatorControl does).")


def forbidden_origin(what: str) -> ControlError:
    return ControlError(403, "Forbidden", f"The control plane refuses requests with this {what}.")


def unsupported_media_type() -> ControlError:
    return ControlError(415, "UnsupportedMediaType", "Bodies must be 'application/json'.")


def progress_full(message: str) -> ControlError:
    return ControlError(409, "ProgressBookFull", message)


def internal_error() -> ControlError:
    return ControlError(500, "InternalError", "The emulator hit an unexpected error; see its log.")
