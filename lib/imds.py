"""Managed-identity tokens from the Azure Instance Metadata Service (IMDS).

Code on an Azure VM asks IMDS, a link-local HTTP service, for an access token of the VM's managed
identity, then calls a service with it. This module is that client, small enough to read::

    from lib.imds import get_token

    token = get_token("https://management.azure.com/")               # system-assigned identity
    token = get_token("https://vault.azure.net", client_id="...")    # a user-assigned identity
    print(token)            # AccessToken(token='eyJ0eXAi…(1234 chars)', ...) -- always masked
    token.claims["aud"]     # decoded (unverified) JWT claims, for teaching
    requests.get(url, headers={"Authorization": f"Bearer {token.token}"})

The wire protocol (see ``reference/imds.md``)::

    GET {endpoint}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=<uri>[&client_id=…]
    Metadata: true

**Endpoint.** The ``endpoint`` argument, else the environment variable
``AZURE_POD_IDENTITY_AUTHORITY_HOST`` (scheme + host + port; the path is appended -- the variable
azure-identity and MSAL honour, and the one the workbook's emulator prints), else
``http://169.254.169.254``. This module never reads or sets ``IDENTITY_ENDPOINT``, ``IMDS_ENDPOINT``
or ``MSI_ENDPOINT``: they switch azure-identity to other (App Service, Arc, Cloud Shell) code paths.

**Caching** (as azure-identity does, and as Microsoft advises even though IMDS caches too): a token
is returned from the client's cache while more than ``refresh_margin`` (300 s) of its life remains.
Inside that margin the next call refreshes it, at most one refresh attempt per 30 s; when a refresh
fails and the cached token has not expired yet, the cached token is returned.

**Retries** are configuration, not a loop: a :class:`urllib3.util.Retry` mounted on the session's
:class:`requests.adapters.HTTPAdapter`. See :func:`default_retry` for the numbers.

**Errors** are typed, all under :class:`ImdsError`, each with ``status``, ``error`` (the IMDS
``"error"`` code) and ``description``.

**Secrets.** Nothing here prints; the module logs to ``logging.getLogger("lib.imds")`` at DEBUG, and a
token only ever appears masked (``AccessToken.masked``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

__all__ = [
    "DEFAULT_ENDPOINT",
    "ENDPOINT_ENV_VAR",
    "RETRY_STATUSES",
    "AccessToken",
    "BadRequest",
    "IdentityNotFound",
    "ImdsClient",
    "ImdsError",
    "ImdsRetry",
    "ImdsServerError",
    "ImdsUnavailable",
    "InvalidResource",
    "MultipleIdentities",
    "ThrottledError",
    "decode_claims",
    "default_retry",
    "get_token",
    "instance_metadata",
    "mask",
    "resolve_endpoint",
]

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://169.254.169.254"
#: The variable azure-identity and MSAL honour to send IMDS requests elsewhere (scheme + host + port).
ENDPOINT_ENV_VAR = "AZURE_POD_IDENTITY_AUTHORITY_HOST"
TOKEN_PATH = "/metadata/identity/oauth2/token"
TOKEN_API_VERSION = "2018-02-01"
INSTANCE_PATH = "/metadata/instance"
INSTANCE_API_VERSION = "2021-02-01"

#: (connect, read) seconds. IMDS is link-local: if it does not accept a connection in 2 s it is not there.
DEFAULT_TIMEOUT: tuple[float, float] = (2.0, 10.0)
#: Refresh a cached token when fewer than this many seconds of its life remain (azure-identity: 300).
REFRESH_MARGIN = 300
#: Inside the margin, at most one refresh attempt per this many seconds (azure-identity: 30).
REFRESH_RETRY_DELAY = 30

#: Statuses retried with backoff: IMDS updating (404, 410), throttled (429), server errors (5xx).
RETRY_STATUSES: frozenset[int] = frozenset({404, 410, 429, 500, 502, 503, 504})

_SELECTORS = ("client_id", "object_id", "msi_res_id")
_CacheKey = tuple[str, str | None, str | None]


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class ImdsError(Exception):
    """Base of every error this module raises about IMDS.

    ``status`` is the HTTP status (``None`` when no HTTP answer came), ``error`` the IMDS ``"error"``
    code (e.g. ``"invalid_request"``) and ``description`` its ``"error_description"``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.description = description


class ImdsUnavailable(ImdsError):
    """No HTTP answer from IMDS: connection refused, unreachable, or timed out (after retries)."""


class BadRequest(ImdsError):
    """IMDS refused the request with a 4xx that is not retried (400 not covered by a subclass, 401, 403…)."""


class IdentityNotFound(BadRequest):
    """400 ``invalid_request`` "Identity not found": no identity on the VM, or the selector matches none."""


class MultipleIdentities(IdentityNotFound):
    """400 ``invalid_request``: several user-assigned identities, no selector, no system-assigned one."""


class InvalidResource(BadRequest):
    """400 ``invalid_resource``: Entra ID knows no resource with that App ID URI."""


class ThrottledError(ImdsError):
    """429 still returned after the retries: IMDS allows 20 identity requests/s and 5 concurrent per VM."""


class ImdsServerError(ImdsError):
    """404/410 (IMDS updating) or 5xx (backend) still returned after the retries."""


# --------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------


def mask(token: str) -> str:
    """First few characters and the length: enough to tell tokens apart, useless to an attacker."""
    shown = min(8, len(token) // 4)
    return f"{token[:shown]}…({len(token)} chars)"


@dataclass(frozen=True, slots=True, repr=False)
class AccessToken:
    """A managed-identity access token as IMDS returned it, with its string fields made ints.

    ``repr()`` and ``str()`` mask the token; use ``.token`` for the raw value (an ``Authorization:
    Bearer`` header) and ``.masked`` to show it.
    """

    token: str
    expires_on: int
    resource: str
    client_id: str | None = None
    token_type: str = "Bearer"
    not_before: int | None = None
    expires_in: int | None = None

    @property
    def masked(self) -> str:
        """The token's first characters and its length, e.g. ``eyJ0eXAi…(1234 chars)``."""
        return mask(self.token)

    @property
    def claims(self) -> dict[str, Any]:
        """The token's payload claims, decoded **without** verifying the signature (for teaching)."""
        return decode_claims(self.token)

    def __repr__(self) -> str:
        return (
            f"AccessToken(token={self.masked!r}, expires_on={self.expires_on}, resource={self.resource!r}, "
            f"client_id={self.client_id!r}, token_type={self.token_type!r})"
        )

    __str__ = __repr__


def decode_claims(token: str | AccessToken) -> dict[str, Any]:
    """Decode a JWT's payload (the middle part) **without verifying it**.

    For teaching: it shows what a service will check (``aud``, ``iss``, ``exp``, ``oid``…), but only
    the service, verifying the signature with the issuer's keys, can trust it. A leading ``Bearer ``
    is ignored. Raises :class:`ValueError` (never echoing the token) when it is not a JWT.
    """
    raw = token.token if isinstance(token, AccessToken) else token
    if not isinstance(raw, str):
        raise TypeError(f"decode_claims expects a str or AccessToken, not {type(raw).__name__}")
    raw = raw.strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    parts = raw.split(".")
    if len(parts) != 3 or not parts[1]:
        raise ValueError("not a JWT: expected three base64url parts separated by dots")
    payload = parts[1]
    try:
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(data)
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError("not a JWT: the payload is not base64url-encoded JSON") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT: the payload is not a JSON object")  # noqa: TRY004 (bad input, not type)
    return claims


# --------------------------------------------------------------------------------------------------
# Endpoint and retry policy
# --------------------------------------------------------------------------------------------------


def _normalize_endpoint(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value:
        raise ValueError("IMDS endpoint is empty")
    if "://" not in value:
        value = "http://" + value
    scheme = value.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"IMDS endpoint must be an http(s) URL, not {value!r}")
    return value


def resolve_endpoint(endpoint: str | None = None) -> str:
    """Where IMDS requests go: ``endpoint``, else ``$AZURE_POD_IDENTITY_AUTHORITY_HOST``, else the default.

    The result has no trailing slash; request paths are appended to it. A value without a scheme is
    taken as ``http://``. Sends nothing.
    """
    if endpoint is not None:
        return _normalize_endpoint(endpoint)
    from_env = os.environ.get(ENDPOINT_ENV_VAR, "").strip()
    if from_env:
        return _normalize_endpoint(from_env)
    return DEFAULT_ENDPOINT


class ImdsRetry(Retry):
    """A urllib3 :class:`Retry` with a separate, longer backoff factor after a 410.

    IMDS answers 410 while it is being updated and is back within 70 s; Microsoft says to keep
    retrying 410 for at least 70 s. With five retries, ``backoff_factor_410=2.5`` sleeps 0, 5, 10,
    20, 40 s (75 s) after consecutive 410s, while other statuses use ``backoff_factor``. This is the
    same device azure-identity uses (its ``ImdsRetryPolicy``). ``backoff_factor_410=None`` turns it off.
    """

    def __init__(self, *args: Any, backoff_factor_410: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backoff_factor_410 = backoff_factor_410

    def new(self, **kw: Any) -> ImdsRetry:
        kw.setdefault("backoff_factor_410", self.backoff_factor_410)
        return super().new(**kw)

    def get_backoff_time(self) -> float:
        if self.backoff_factor_410 is not None and self.history and self.history[-1].status == 410:
            as_410 = self.new(backoff_factor=self.backoff_factor_410, backoff_factor_410=None)
            return as_410.get_backoff_time()
        return super().get_backoff_time()


def default_retry(**overrides: Any) -> Retry:
    """The retry policy :class:`ImdsClient` uses unless given one. Keyword arguments override fields.

    Following Microsoft's IMDS guidance (reference/imds.md) and azure-identity:

    * retried statuses: 404 and 410 (IMDS updating), 429 (throttled), 500, 502, 503, 504; no other
      4xx is retried. ``GET`` only (the only method IMDS serves).
    * ``total=5`` retries (six attempts), ``status=5``.
    * ``backoff_factor=2``, ``backoff_max=60``: urllib3 sleeps ``0`` before the first retry, then
      ``factor * 2**(n-1)``: **0, 4, 8, 16, 32 s** (60 s in all). Microsoft's example is 0, 2, 6, 14,
      30 s (52 s) with a 60 s cap; urllib3's formula cannot reproduce that series exactly, and factor 2
      is the closest fit that waits at least as long at every step.
    * after a **410**, ``backoff_factor_410=2.5``: **0, 5, 10, 20, 40 s** (75 s), so five consecutive
      410s span more than the 70 s Microsoft asks for (see :class:`ImdsRetry`).
    * ``Retry-After`` is honoured (it replaces the computed backoff for that retry).
    * connection errors and timeouts are retried too, but connection failures at most ``connect=2``
      times: off Azure, 169.254.169.254 does not exist, and a learner should learn that in about ten
      seconds rather than after a minute. Read timeouts count against ``total``.
    * ``raise_on_status=False``: when retries run out the last response is returned, and the client
      turns it into a typed error (:class:`ThrottledError`, :class:`ImdsServerError`).

    Tests pass e.g. ``default_retry(backoff_factor=0, backoff_factor_410=0)``: the policy without the waits.
    """
    settings: dict[str, Any] = {
        "total": 5,
        "connect": 2,
        "status": 5,
        "status_forcelist": RETRY_STATUSES,
        "allowed_methods": frozenset({"GET"}),
        "backoff_factor": 2.0,
        "backoff_max": 60.0,
        "backoff_factor_410": 2.5,
        "respect_retry_after_header": True,
        "raise_on_status": False,
    }
    settings.update(overrides)
    return ImdsRetry(**settings)


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------

_UNAVAILABLE_HINT = (
    "IMDS is only reachable from inside an Azure VM (or other Azure compute with a managed identity). "
    "On your own machine, start the workbook's local emulator (`azure-emulator start`) and set "
    f"{ENDPOINT_ENV_VAR} to the IMDS address it prints."
)


def _to_int(value: Any, field_name: str) -> int:
    """IMDS sends ``expires_in``, ``expires_on`` and ``not_before`` as JSON strings of epoch seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{field_name} is not a number")  # noqa: TRY004 (a wire value, not an argument)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return int(float(text))
    raise ValueError(f"{field_name} is not a number")


def _selector_key(
    resource: str, client_id: str | None, object_id: str | None, msi_res_id: str | None
) -> _CacheKey:
    """The cache key (resource, selector kind, selector value); ValueError for two or more selectors."""
    if client_id is None:
        if object_id is None:
            if msi_res_id is None:
                return (resource, None, None)
            return (resource, "msi_res_id", msi_res_id)
        if msi_res_id is None:
            return (resource, "object_id", object_id)
    elif object_id is None and msi_res_id is None:
        return (resource, "client_id", client_id)
    values = (client_id, object_id, msi_res_id)
    given = [name for name, v in zip(_SELECTORS, values, strict=True) if v is not None]
    raise ValueError(f"give at most one identity selector, not {' and '.join(given)}")


class ImdsClient:
    """A client of one IMDS endpoint, with its own session, retry policy and token cache.

    ``endpoint``: see :func:`resolve_endpoint`. ``timeout``: seconds, or ``(connect, read)``.
    ``retry``: a :class:`urllib3.util.Retry` (default :func:`default_retry`); its ``raise_on_status`` is
    forced off so exhausted retries become typed errors. ``session``: a :class:`requests.Session` to
    use; the retry adapter is then mounted on it for the endpoint's URL prefix only. A session the
    client creates itself ignores proxy environment variables (``trust_env=False``): IMDS must be
    reached directly, never through a proxy. ``refresh_margin``: seconds before expiry at which a
    cached token is refreshed.

    Thread-safe. The cached path takes no lock.
    """

    # A class attribute so a test can give one client a fake clock; epoch seconds, like expires_on.
    _clock: Callable[[], float] = staticmethod(time.time)

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
        session: requests.Session | None = None,
        refresh_margin: float = REFRESH_MARGIN,
    ) -> None:
        self.endpoint: str = resolve_endpoint(endpoint)
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        retry = default_retry() if retry is None else retry
        if retry.raise_on_status:
            retry = retry.new(raise_on_status=False)
        self.retry: Retry = retry
        adapter = HTTPAdapter(max_retries=retry)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            self._owns_session = True
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        else:
            self._owns_session = False
            session.mount(self.endpoint + "/", adapter)
        self.session = session
        self._token_url = self.endpoint + TOKEN_PATH
        self._cache: dict[_CacheKey, AccessToken] = {}
        self._last_refresh: dict[_CacheKey, float] = {}
        self._locks: dict[_CacheKey, threading.Lock] = {}

    def __repr__(self) -> str:
        return f"ImdsClient(endpoint={self.endpoint!r})"

    def __enter__(self) -> ImdsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if the client created it."""
        if self._owns_session:
            self.session.close()

    def clear_cache(self) -> None:
        """Forget every cached token (the next get_token asks IMDS)."""
        self._cache.clear()
        self._last_refresh.clear()

    # ---- tokens -------------------------------------------------------------------------------

    def get_token(
        self,
        resource: str,
        *,
        client_id: str | None = None,
        object_id: str | None = None,
        msi_res_id: str | None = None,
    ) -> AccessToken:
        """A token for ``resource`` (an App ID URI, e.g. ``https://management.azure.com/``).

        Identity: the system-assigned one, or the user-assigned one chosen by at most one of
        ``client_id``, ``object_id``, ``msi_res_id`` (its ARM resource id); two or more raise
        :class:`ValueError` before any request. A scope ending in ``/.default`` is accepted and
        stripped, as azure-identity does. Raises an :class:`ImdsError` subclass on failure.
        """
        key = _selector_key(resource, client_id, object_id, msi_res_id)
        cached = self._cache.get(key)
        if cached is not None and cached.expires_on - self._clock() > self.refresh_margin:
            return cached
        return self._acquire(key, cached)

    def _acquire(self, key: _CacheKey, seen: AccessToken | None) -> AccessToken:
        now = self._clock()
        lock = self._locks.get(key) or self._locks.setdefault(key, threading.Lock())
        if seen is not None and seen.expires_on > now:
            # Inside the refresh margin with a token still valid: never make the caller wait for
            # another thread's refresh, and try at most once per REFRESH_RETRY_DELAY seconds.
            if now - self._last_refresh.get(key, float("-inf")) < REFRESH_RETRY_DELAY:
                return seen
            if not lock.acquire(blocking=False):
                return seen
        else:
            lock.acquire()
        try:
            current = self._cache.get(key)
            now = self._clock()
            if current is not None:
                if current.expires_on - now > self.refresh_margin:
                    return current
                if current is not seen and current.expires_on > now:
                    return current  # another thread fetched it while this one waited for the lock
                self._last_refresh[key] = now
            try:
                token = self._request_token(key)
            except ImdsError as exc:
                if current is not None and current.expires_on > self._clock():
                    logger.debug(
                        "IMDS token refresh failed (%s); using cached token %s, %d s left",
                        type(exc).__name__,
                        current.masked,
                        current.expires_on - int(self._clock()),
                    )
                    return current
                raise
            self._cache[key] = token
            return token
        finally:
            lock.release()

    def _request_token(self, key: _CacheKey) -> AccessToken:
        resource, kind, value = key
        if not isinstance(resource, str) or not resource.strip():
            raise ValueError("resource must be a non-empty App ID URI, e.g. 'https://management.azure.com/'")
        if kind is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{kind} must be a non-empty string")
        wire_resource = resource.removesuffix("/.default")
        params: dict[str, str] = {"api-version": TOKEN_API_VERSION, "resource": wire_resource}
        if kind is not None and value is not None:
            params[kind] = value
        response = self._get(self._token_url, params)
        if response.status_code != 200:
            self._raise_for_response(response, wire_resource, kind, value)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ImdsError(
                f"IMDS at {self.endpoint} answered 200 but not with a token "
                f"(Content-Type {response.headers.get('Content-Type')!r})",
                status=200,
            )
        try:
            expires_in = _to_int(body["expires_in"], "expires_in") if "expires_in" in body else None
            if "expires_on" in body:
                expires_on = _to_int(body["expires_on"], "expires_on")
            elif expires_in is not None:
                expires_on = int(self._clock()) + expires_in
            else:
                raise ValueError("neither expires_on nor expires_in given")
            not_before = _to_int(body["not_before"], "not_before") if body.get("not_before") else None
        except (ValueError, OverflowError) as exc:
            raise ImdsError(f"IMDS token response has a bad expiry: {exc}", status=200) from exc
        token = AccessToken(
            token=body["access_token"],
            expires_on=expires_on,
            resource=str(body.get("resource") or wire_resource),
            client_id=body.get("client_id") or (value if kind == "client_id" else None),
            token_type=str(body.get("token_type") or "Bearer"),
            not_before=not_before,
            expires_in=expires_in,
        )
        logger.debug(
            "IMDS token for %s (%s): %s expires_on=%d",
            token.resource,
            f"{kind}={value}" if kind else "default identity",
            token.masked,
            token.expires_on,
        )
        return token

    # ---- instance metadata ----------------------------------------------------------------------

    def instance_metadata(
        self, path: str = "", *, api_version: str = INSTANCE_API_VERSION, text: bool = False
    ) -> Any:
        """The VM's instance metadata: ``/metadata/instance[/path]``.

        ``path`` selects a subtree or leaf, e.g. ``"compute"`` or ``"compute/vmId"``. Returns the
        parsed JSON (a dict for a subtree), or with ``text=True`` (``format=text``, for a leaf) the
        value as a str. Not cached. Raises an :class:`ImdsError` subclass on failure.
        """
        if any(c in path for c in "?#\\") or ".." in path.split("/"):
            raise ValueError(f"bad instance metadata path: {path!r}")
        path = path.strip("/")
        url = self.endpoint + INSTANCE_PATH + (f"/{path}" if path else "")
        params = {"api-version": api_version}
        if text:
            params["format"] = "text"
        response = self._get(url, params)
        if response.status_code != 200:
            self._raise_for_response(response, None, None, None)
        if text:
            return response.text
        try:
            return response.json()
        except ValueError as exc:
            raise ImdsError(
                f"IMDS instance metadata at {url} is not JSON; for a leaf value pass text=True", status=200
            ) from exc

    # ---- HTTP ----------------------------------------------------------------------------------

    def _get(self, url: str, params: dict[str, str]) -> requests.Response:
        logger.debug("GET %s %s", url, params)
        try:
            response = self.session.get(
                url, params=params, headers={"Metadata": "true"}, timeout=self.timeout, allow_redirects=False
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = type(exc).__name__
            raise ImdsUnavailable(
                f"No answer from IMDS at {self.endpoint} ({reason}). {_UNAVAILABLE_HINT}",
                description=str(exc),
            ) from exc
        except requests.RequestException as exc:
            raise ImdsError(f"Request to IMDS at {self.endpoint} failed: {exc}") from exc
        logger.debug("IMDS answered %d after %d retries", response.status_code, _retries_made(response))
        return response

    def _raise_for_response(
        self, response: requests.Response, resource: str | None, kind: str | None, value: str | None
    ) -> None:
        status = response.status_code
        error: str | None = None
        description: str | None = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            raw_error, raw_description = body.get("error"), body.get("error_description")
            error = raw_error if isinstance(raw_error, str) else None
            description = raw_description if isinstance(raw_description, str) else None
        elif response.text:
            description = response.text[:500]
        shown = f"{status} {error or response.reason or ''}".strip()
        if description:
            shown += f": {description}"
        who = f"{kind}={value}" if kind else "the VM's default identity"
        retries = _retries_made(response)
        after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
        fields: dict[str, Any] = {"status": status, "error": error, "description": description}

        if status == 400:
            # IMDS gives both identity cases the same code; only the description tells them apart.
            text = (description or "").lower()
            if error == "invalid_request" and "multiple user assigned identities" in text:
                raise MultipleIdentities(
                    f"IMDS: {shown}. The VM has several user-assigned identities and no system-assigned "
                    "one: pass client_id, object_id or msi_res_id.",
                    **fields,
                )
            if error == "invalid_request" and "identity not found" in text:
                raise IdentityNotFound(
                    f"IMDS: {shown}. No managed identity matches {who}: enable the system-assigned "
                    "identity on the VM, or assign the user-assigned identity and select it by its "
                    "client_id, object_id or msi_res_id.",
                    **fields,
                )
            if error == "invalid_resource":
                raise InvalidResource(
                    f"IMDS: {shown}. Entra ID knows no resource {resource!r}: check the App ID URI, "
                    "including any trailing slash.",
                    **fields,
                )
            raise BadRequest(f"IMDS refused the request: {shown}", **fields)
        if status == 429:
            raise ThrottledError(
                f"IMDS throttled the request{after}: {shown}. IMDS allows 20 identity requests/s and 5 "
                "concurrent per VM; reuse (cache) tokens.",
                **fields,
            )
        if status in (404, 410) or 500 <= status <= 599:
            raise ImdsServerError(
                f"IMDS error{after}: {shown}. 404/410 mean IMDS is being updated (back within about "
                "70 s); 5xx a backend problem. Try again later.",
                **fields,
            )
        if status == 403 and "unreachable" in (description or "").lower():
            # Docker Desktop's proxy answers 403 "... unreachable" for link-local addresses.
            raise ImdsUnavailable(
                f"IMDS at {self.endpoint} is unreachable: {shown}. {_UNAVAILABLE_HINT}", **fields
            )
        if 400 <= status <= 499:
            raise BadRequest(f"IMDS refused the request: {shown}", **fields)
        raise ImdsError(f"Unexpected answer from IMDS at {self.endpoint}: {shown}", **fields)


def _retries_made(response: requests.Response) -> int:
    retries = getattr(response.raw, "retries", None)
    history = getattr(retries, "history", None)
    return len(history) if history else 0


# --------------------------------------------------------------------------------------------------
# Module-level convenience: one shared client per endpoint
# --------------------------------------------------------------------------------------------------

_default_client: ImdsClient | None = None
_default_env_value: str | None = None  # the raw variable the shared client was made for
_default_lock = threading.Lock()


def _shared_client() -> ImdsClient:
    """The shared client, re-created when ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` has changed."""
    global _default_client, _default_env_value
    raw = os.environ.get(ENDPOINT_ENV_VAR)
    with _default_lock:
        if _default_client is None or raw != _default_env_value:
            _default_client = ImdsClient(resolve_endpoint())
            _default_env_value = raw
        return _default_client


def get_token(
    resource: str,
    *,
    client_id: str | None = None,
    object_id: str | None = None,
    msi_res_id: str | None = None,
) -> AccessToken:
    """A managed-identity token for ``resource``, from a shared :class:`ImdsClient` (cached).

    See :meth:`ImdsClient.get_token`. The shared client's endpoint comes from :func:`resolve_endpoint`.
    A cached token is returned without looking at the environment (reading ``os.environ`` would cost
    more than the whole cache lookup); whenever IMDS must be asked, ``AZURE_POD_IDENTITY_AUTHORITY_HOST``
    is read again and a changed value gives a new shared client with an empty cache. So a learner who
    sets the variable after an :class:`ImdsUnavailable` just calls again.
    """
    key = _selector_key(resource, client_id, object_id, msi_res_id)
    client = _default_client
    if client is not None:
        cached = client._cache.get(key)
        if cached is not None and cached.expires_on - client._clock() > client.refresh_margin:
            return cached
    return _shared_client().get_token(
        resource, client_id=client_id, object_id=object_id, msi_res_id=msi_res_id
    )


def instance_metadata(path: str = "", *, api_version: str = INSTANCE_API_VERSION, text: bool = False) -> Any:
    """The VM's instance metadata from the shared client; see :meth:`ImdsClient.instance_metadata`."""
    return _shared_client().instance_metadata(path, api_version=api_version, text=text)
