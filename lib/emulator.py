"""The emulator's control plane, for the workbook's own tools: health, reset, faults, settings, stop.

Only the learner's own processes can call it: each start of the emulator writes a new secret into
its private profile (mode 0600), and :class:`EmulatorControl` sends it. The CLI, ``lib.target``,
the tests and the troubleshooting lesson all go through this one class. Standard library only, so
the ``azure-emulator`` command starts fast.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

SECRET_HEADER = "X-Emulator-Secret"
FAULT_STATUSES = (404, 410, 429, 500, 502, 503, 504)


class EmulatorControlError(RuntimeError):
    """The control plane answered with an error (``status``, ``code``, ``message``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class EmulatorNotRunning(EmulatorControlError):
    """Nothing answers at the profile's control URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "NotRunning", f"no emulator answers at {url} ({reason})")


class EmulatorControl:
    """Calls ``<control url>/<operation>`` with the per-start secret.

    >>> control = EmulatorControl.from_profile(profile)   # a dict read from profile.json
    >>> control.inject_fault(429, count=3, retry_after=1)  # the next three token requests fail
    """

    def __init__(self, url: str, secret: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._secret = secret
        self.timeout = timeout

    def __repr__(self) -> str:  # never the secret
        return f"EmulatorControl({self.url!r})"

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any] | Any, timeout: float = 5.0) -> EmulatorControl:
        """From a profile dict (``profile.json``) or the emulator's own ``Profile`` object."""
        get = profile.get if isinstance(profile, Mapping) else lambda name, default=None: getattr(
            profile, name, default)
        return cls(str(get("control")), str(get("control_secret", "") or ""), timeout)

    # -- one request -----------------------------------------------------------------------------
    def call(self, method: str, operation: str, body: Mapping[str, Any] | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/{operation.lstrip('/')}", data=data, method=method)
        request.add_header(SECRET_HEADER, self._secret)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            # A loopback URL from the emulator's own profile; no proxy may see the secret.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(request, timeout=timeout or self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read() or b"{}").get("error", {})
            except ValueError:
                error = {}
            raise EmulatorControlError(exc.code, error.get("code", "Unknown"), error.get("message", exc.reason)) \
                from None
        except (urllib.error.URLError, OSError) as exc:
            raise EmulatorNotRunning(self.url, str(getattr(exc, "reason", exc))) from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise EmulatorControlError(200, "NotJson", "the control plane's answer is not JSON") from None

    # -- operations ------------------------------------------------------------------------------
    def health(self, timeout: float | None = None) -> dict[str, Any]:
        return self.call("GET", "health", timeout=timeout)

    def is_up(self, timeout: float = 1.0) -> bool:
        try:
            return self.health(timeout=timeout).get("status") == "ok"
        except EmulatorControlError:
            return False

    def reset(self) -> dict[str, Any]:
        """Back to the declared world: no grants, no user-assigned identity, no data written by lessons."""
        return self.call("POST", "reset", timeout=max(self.timeout, 30.0))

    def inject_fault(self, status: int, count: int = 1, retry_after: int | None = None,
                     service: str = "imds") -> dict[str, Any]:
        body: dict[str, Any] = {"service": service, "status": status, "count": count}
        if retry_after is not None:
            body["retryAfter"] = retry_after
        return self.call("POST", "faults", body)

    def faults(self) -> dict[str, Any]:
        return self.call("GET", "faults")

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def change_settings(self, **settings: Any) -> dict[str, Any]:
        """E.g. ``change_settings(imdsThrottling=False)`` or ``change_settings(rbacPropagationSeconds=10)`` (role
        assignment changes reach the access checks that many seconds late, as Azure's caches make them)."""
        return self.call("POST", "settings", settings)

    def shutdown(self) -> dict[str, Any]:
        return self.call("POST", "shutdown")

    # -- the learner's progress (lib.progress records; the trainer's table reads) -----------------
    def progress(self) -> dict[str, Any]:
        """``{"notebooks": {"06": {"denied": {"firstAt", "lastAt", "count"}, …}}}``."""
        return self.call("GET", "progress")

    def record_progress(self, notebook: str, step: str, correct: bool | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"notebook": notebook, "step": step}
        if correct is not None:
            body["correct"] = correct
        return self.call("POST", "progress", body)

    def clear_progress(self) -> None:
        self.call("DELETE", "progress")
