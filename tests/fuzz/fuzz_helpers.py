"""What the HTTP fuzz tests need: every service the emulator serves, found from the emulator itself, and
the error shape each one promises.

Services are discovered, not listed: every listener the emulator created that carries an aiohttp app
built by ``core.http.build_app`` (which keeps its ``RouteTable`` and ``ErrorCatalogue`` on the app), and
the sub-apps mounted on it (the control plane). A service another engineer adds later is fuzzed without
touching these tests.

A service's *error shape* is learnt from its own ``ErrorCatalogue``: the answers it gives for an
unknown path, a wrong method, a too-large body and an internal error are rendered, and what they all
share (media type; for JSON the nested keys present in every one, for XML the root and child element
names) is what every 4xx of that service must carry.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from emulator.app import Emulator
from emulator.core.http import ERROR_CATALOGUE, ROUTE_TABLE, SUBAPPS, ErrorCatalogue, Route, RouteTable

Skeleton = dict[str, Any]  # {"error": {"code": "string", "message": "string"}}: keys, leaves by JSON type


@dataclass(frozen=True)
class HttpService:
    name: str  # the listener's name, plus the mount prefix for a sub-app ("imds/__emulator")
    listener: str  # the listener's name, the key of its endpoint in the profile
    base_url: str
    routes: tuple[Route, ...]
    errors: ErrorCatalogue


def http_services(emulator: Emulator) -> Iterator[HttpService]:
    assert emulator.profile is not None
    for listener in emulator.listeners:
        app = getattr(listener, "app", None)
        if not isinstance(app, web.Application) or ROUTE_TABLE not in app:
            continue  # not HTTP (SQL speaks TDS: its decoders have their own fuzz tests)
        base = emulator.profile.endpoints[listener.name]
        yield _service(listener.name, listener.name, base, app)
        for prefix, subapp in app[SUBAPPS].items():
            yield _service(f"{listener.name}{prefix}", listener.name, base, subapp)


def _service(name: str, listener: str, base: str, app: web.Application) -> HttpService:
    table: RouteTable = app[ROUTE_TABLE]
    return HttpService(name, listener, base, tuple(table.routes), app[ERROR_CATALOGUE])


def handler_name(route: Route) -> str:
    return route.handler if isinstance(route.handler, str) else getattr(route.handler, "__name__", "")


# -- error shapes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorShape:
    media_type: str
    json_keys: Skeleton | None = None  # for JSON bodies
    xml_tags: tuple[str, frozenset[str]] | None = None  # (root, child elements) for XML bodies

    def problems(self, media_type: str, body: bytes) -> str | None:
        """Why ``body`` is not in this shape, or None."""
        if media_type != self.media_type:
            return f"media type {media_type!r}, the service's errors are {self.media_type!r}"
        if self.json_keys is not None:
            try:
                document = json.loads(body)
            except ValueError:
                return "the body is not JSON"
            missing = _missing(self.json_keys, document)
            return f"the body lacks {missing}" if missing else None
        if self.xml_tags is not None:
            try:
                root = ElementTree.fromstring(body)
            except ElementTree.ParseError:
                return "the body is not XML"
            want_root, want_children = self.xml_tags
            children = {child.tag for child in root}
            if root.tag != want_root or not want_children <= children:
                return f"XML <{root.tag}> with {sorted(children)}, expected <{want_root}> with {sorted(want_children)}"
        return None


def error_shape(catalogue: ErrorCatalogue) -> ErrorShape:
    request = make_mocked_request("GET", "/fuzz/probe")
    samples = [catalogue.not_found(request), catalogue.method_not_allowed(request, ["GET"]),
               catalogue.body_too_large(1024), catalogue.internal()]
    rendered = [catalogue.render(request, sample) for sample in samples]
    bodies = [(response.content_type, bytes(response.body or b"")) for response in rendered]  # type: ignore[attr-defined]
    media_types = {media for media, _ in bodies}
    assert len(media_types) == 1, f"the catalogue's own errors disagree on their media type: {media_types}"
    media_type = media_types.pop()
    if media_type.endswith("json"):
        skeletons = [_skeleton(json.loads(body)) for _, body in bodies]
        common = skeletons[0]
        for other in skeletons[1:]:
            common = _intersect(common, other)
        return ErrorShape(media_type, json_keys=common)
    if media_type.endswith("xml"):
        roots = [ElementTree.fromstring(body) for _, body in bodies]
        children = frozenset.intersection(*(frozenset(child.tag for child in root) for root in roots))
        return ErrorShape(media_type, xml_tags=(roots[0].tag, children))
    return ErrorShape(media_type)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", type(None): "null"}.get(type(value), "object")


def _skeleton(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _skeleton(item) for key, item in value.items()}
    return _json_type(value)


def _intersect(left: Any, right: Any) -> Any:
    """What two skeletons share; None where they disagree (any value will do there)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return {key: _intersect(left[key], right[key]) for key in left.keys() & right.keys()}
    return left if left == right else None


def _missing(expected: Any, value: Any, path: str = "") -> str | None:
    if expected is None:
        return None
    if isinstance(expected, str):
        return None if _json_type(value) == expected else f"a {expected} at '{path.rstrip('.')}'"
    if not isinstance(value, dict):
        return f"an object at {path or 'the top'}"
    for key, inner in expected.items():
        if key not in value:
            return f"'{path}{key}'"
        missing = _missing(inner, value[key], f"{path}{key}.")
        if missing:
            return missing
    return None
