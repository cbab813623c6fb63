"""Control-plane handlers: health, reset, fault injection, settings, shutdown, the learner's progress.

The control plane can reset a learner's progress or stop the emulator, so ``before`` lets through
only the workbook's own calls: the ``Host`` must be the listener's own loopback name (no DNS
rebinding), a browser's ``Origin`` is refused (a web page the learner visits cannot reach it), the
per-start secret from the private profile must be sent, and bodies must be JSON (so no cross-site
"simple" request can carry one).
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from emulator.core.http import Match, loads_json

from . import errors
from .models import NOTEBOOK_NAME, STEP_NAME, ControlledEmulator, ProgressFull

EMULATOR: web.AppKey[ControlledEmulator] = web.AppKey("emulator")
FAULT_SERVICES = ("imds",)
FAULT_STATUSES = (404, 410, 429, 500, 502, 503, 504)


def render_error(_request: web.Request, exc: errors.ControlError) -> web.Response:
    return web.json_response({"error": {"code": exc.code, "message": exc.message}}, status=exc.status)


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = loads_json(raw)
    except ValueError:
        raise errors.invalid_body("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise errors.invalid_body("The body must be a JSON object.")
    return body


SECRET_HEADER = "X-Emulator-Secret"
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _emulator(request: web.Request) -> ControlledEmulator:
    return request.app[EMULATOR]


async def before(request: web.Request, _match: Match) -> None:
    emulator = _emulator(request)
    port = emulator.ports.get("imds")
    own_hosts = {f"{name}:{port}" for name in _LOOPBACK_NAMES}
    if (request.headers.get("Host") or "").lower() not in own_hosts:
        raise errors.forbidden_origin("Host header")
    if "Origin" in request.headers:
        raise errors.forbidden_origin("Origin header (browser pages may not call it)")
    sent = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), emulator.control_secret.encode()):
        raise errors.unauthorized()
    if request.body_exists and request.content_type != "application/json":  # headers only: body not read yet
        raise errors.unsupported_media_type()


async def health(request: web.Request) -> web.Response:
    emulator = _emulator(request)
    return web.json_response({
        "status": "ok", "ports": emulator.ports, "pid": emulator.pid,
        "inMemory": emulator.settings.in_memory, "dataDir": str(emulator.settings.data_dir),
    })


async def reset(request: web.Request) -> web.Response:
    _emulator(request).reset()
    return web.json_response({"status": "reset"})


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response(_emulator(request).context.faults.pending())


async def inject_fault(request: web.Request) -> web.Response:
    body = await _json_body(request)
    service = body.get("service", "imds")
    status, count, retry_after = body.get("status"), body.get("count", 1), body.get("retryAfter")
    if service not in FAULT_SERVICES:
        raise errors.invalid_body(f"'service' must be one of {', '.join(FAULT_SERVICES)}.")
    if status not in FAULT_STATUSES:
        raise errors.invalid_body(f"'status' must be one of {', '.join(map(str, FAULT_STATUSES))}.")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise errors.invalid_body("'count' must be an integer from 1 to 1000.")
    if retry_after is not None and (not isinstance(retry_after, int) or not 0 <= retry_after <= 120):
        raise errors.invalid_body("'retryAfter' must be an integer from 0 to 120 seconds.")
    _emulator(request).context.faults.inject(service, status, count, retry_after)
    return web.json_response({"service": service, "status": status, "count": count,
                              "retryAfter": retry_after}, status=201)


async def clear_faults(request: web.Request) -> web.Response:
    _emulator(request).context.faults.clear()
    return web.Response(status=204)


SETTINGS = ("imdsThrottling", "rbacPropagationSeconds")
MAX_PROPAGATION_SECONDS = 600  # Azure's own worst case for ordinary role assignments is about 10 minutes


def _settings_answer(emulator: ControlledEmulator) -> dict[str, Any]:
    return {"imdsThrottling": emulator.settings.imds_throttling,
            "rbacPropagationSeconds": emulator.settings.rbac_propagation_seconds}


async def change_settings(request: web.Request) -> web.Response:
    body = await _json_body(request)
    unknown = set(body) - set(SETTINGS)
    if unknown:
        raise errors.invalid_body(f"Unknown settings: {', '.join(sorted(unknown))}.")
    emulator = _emulator(request)
    throttling, delay = body.get("imdsThrottling"), body.get("rbacPropagationSeconds")
    if "imdsThrottling" in body and not isinstance(throttling, bool):
        raise errors.invalid_body("'imdsThrottling' must be true or false.")
    if "rbacPropagationSeconds" in body and (
            not isinstance(delay, (int, float)) or isinstance(delay, bool)
            or not 0 <= delay <= MAX_PROPAGATION_SECONDS):
        raise errors.invalid_body(f"'rbacPropagationSeconds' must be a number from 0 to {MAX_PROPAGATION_SECONDS}.")
    # Both checked before either is applied: a refused body changes nothing.
    if "imdsThrottling" in body:
        emulator.settings.imds_throttling = throttling
    if "rbacPropagationSeconds" in body:
        emulator.settings.rbac_propagation_seconds = float(delay)
    return web.json_response(_settings_answer(emulator))


async def shutdown(request: web.Request) -> web.Response:
    _emulator(request).request_shutdown()
    return web.json_response({"status": "stopping"}, status=202)


async def read_progress(request: web.Request) -> web.Response:
    return web.json_response(_emulator(request).progress.snapshot())


async def record_progress(request: web.Request) -> web.Response:
    body = await _json_body(request)
    unknown = set(body) - {"notebook", "step", "correct"}
    if unknown:
        raise errors.invalid_body(f"Unknown fields: {', '.join(sorted(unknown))}.")
    notebook, step, correct = body.get("notebook"), body.get("step"), body.get("correct")
    if not isinstance(notebook, str) or not NOTEBOOK_NAME.fullmatch(notebook.removesuffix(".ipynb")):
        raise errors.invalid_body("'notebook' must be a notebook's name: lower-case letters, digits, '_' and '-', "
                                  "at most 64 (e.g. '06' or '06_resource_manager_system_assigned').")
    if not isinstance(step, str) or not STEP_NAME.fullmatch(step):
        raise errors.invalid_body("'step' must be a step's name: a lower-case letter, then letters, digits and "
                                  "'-', at most 32 (e.g. 'denied', 'granted', 'allowed', 'exercise').")
    if correct is not None and not isinstance(correct, bool):
        raise errors.invalid_body("'correct' must be true, false or absent.")
    try:
        entry = _emulator(request).progress.record(notebook, step, correct)
    except ProgressFull as exc:
        raise errors.progress_full(str(exc)) from None
    return web.json_response(entry, status=201)


async def clear_progress(request: web.Request) -> web.Response:
    _emulator(request).progress.clear()
    return web.Response(status=204)
