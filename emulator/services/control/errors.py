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
