"""The trainer's view: a JupyterHub service that shows learners × scenarios, as an HTML page and as JSON.

Run by the hub (``c.JupyterHub.services``, see deploy/jupyterhub/workbook_hub_config.py), like
jupyterhub-idle-culler: it lists users through the hub's REST API with its own token and asks each running
single-user server for its learner's progress book (``GET /user/<name>/workbook/progress``, served by
:mod:`.extension`), through the hub's proxy, with the same token (scope ``access:servers``). Progress read
from a server is kept in a small state file, so a learner whose server has stopped (or was culled) still has
a row, marked with when it was read. A refresh runs every few minutes in the background too.

Who may look: the hub decides, by OAuth and RBAC. A person opening the page signs in through the hub and
needs the scope ``access:services!service=<this service>``, which the recipe grants to a ``trainer`` role
(hub admins have it anyway); learners are refused with 403. ``workbook-trainer progress`` reads the JSON with a
trainer's API token.

Environment (set by the hub): JUPYTERHUB_API_URL, JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_URL,
JUPYTERHUB_SERVICE_PREFIX; and WORKBOOK_HUB_PROXY_URL, where the proxy answers for the service (default: the
hub's public URL when configured, else http://127.0.0.1:8000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from emulator.core.files import write_private

from .table import LearnerRow, as_html, as_json
from .urls import PROGRESS_PATH, SERVICE_JSON_PATH, SERVICE_NAME

PAGE_SIZE = 200
SERVER_TIMEOUT_SECONDS = 5.0
CONCURRENT_SERVER_CALLS = 10


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ClassProgress:
    """Reads every learner's progress through the hub; remembers the last answer of each."""

    def __init__(self, api_url: str, token: str, proxy_url: str, state_file: Path | None) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.proxy_url = proxy_url.rstrip("/")
        self.state_file = state_file
        self.http = AsyncHTTPClient()
        self.remembered: dict[str, dict[str, Any]] = self._load()
        self._calls = asyncio.Semaphore(CONCURRENT_SERVER_CALLS)

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.state_file is None or not self.state_file.exists():
            return {}
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        if self.state_file is not None:
            write_private(self.state_file, json.dumps(self.remembered, indent=1).encode("utf-8"))

    async def _get(self, url: str, timeout: float = 30.0, **headers: str) -> Any:
        request = HTTPRequest(url, headers={"Authorization": f"token {self.token}", **headers},
                              request_timeout=timeout, follow_redirects=False)
        response = await self.http.fetch(request)
        return json.loads(response.body or b"null")

    async def users(self) -> list[dict[str, Any]]:
        """Every user, with their servers (scopes list:users and read:servers), page by page."""
        users: list[dict[str, Any]] = []
        offset = 0
        while True:
            query = urlencode({"offset": offset, "limit": PAGE_SIZE, "include_stopped_servers": "false"})
            page = await self._get(f"{self.api_url}/users?{query}",
                                   Accept="application/jupyterhub-pagination+json")
            items = page["items"] if isinstance(page, dict) else page
            users.extend(items)
            following = page.get("_pagination", {}).get("next") if isinstance(page, dict) else None
            if not following or not items:
                return users
            offset = int(following["offset"])

    async def _learner(self, user: dict[str, Any]) -> LearnerRow:
        name = user["name"]
        server = (user.get("servers") or {}).get("")
        remembered = self.remembered.get(name, {})
        if not server or not server.get("ready") or not server.get("url"):
            return LearnerRow(name, "stopped", remembered.get("notebooks", {}), remembered.get("seenAt"))
        url = url_path_join(self.proxy_url + server["url"], PROGRESS_PATH)
        try:
            async with self._calls:
                answer = await self._get(url, timeout=SERVER_TIMEOUT_SECONDS)
        except (HTTPClientError, OSError, ValueError):
            return LearnerRow(name, "unreachable", remembered.get("notebooks", {}), remembered.get("seenAt"))
        book = answer.get("progress") if isinstance(answer, dict) else None
        if not isinstance(book, dict):
            return LearnerRow(name, "no emulator", remembered.get("notebooks", {}), remembered.get("seenAt"))
        seen = _now()
        self.remembered[name] = {"notebooks": book.get("notebooks", {}), "seenAt": seen}
        return LearnerRow(name, "running", self.remembered[name]["notebooks"], seen)

    async def collect(self) -> list[LearnerRow]:
        users = await self.users()
        rows = await asyncio.gather(*(self._learner(user) for user in users))
        self._save()
        return sorted(rows, key=lambda row: row.name)


class _Base(HubOAuthenticated, web.RequestHandler):
    @property
    def progress(self) -> ClassProgress:
        return self.settings["class_progress"]


class PageHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        rows = await self.progress.collect()
        self.set_header("Cache-Control", "no-store")
        self.finish(as_html(rows, _now(), url_path_join(self.settings["service_prefix"], SERVICE_JSON_PATH)))


class JsonHandler(_Base):
    @web.authenticated
    async def get(self) -> None:
        rows = await self.progress.collect()
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(as_json(rows, _now()), indent=1))


def default_proxy_url() -> str:
    public = os.environ.get("JUPYTERHUB_PUBLIC_HUB_URL") or os.environ.get("JUPYTERHUB_PUBLIC_URL")
    if public:
        return urlunparse(urlparse(public)._replace(path="", params="", query="", fragment=""))
    return "http://127.0.0.1:8000"


def make_app(progress: ClassProgress, prefix: str) -> web.Application:
    return web.Application(
        [
            (prefix, PageHandler),
            (url_path_join(prefix, SERVICE_JSON_PATH), JsonHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        ],
        class_progress=progress, service_prefix=prefix, cookie_secret=os.urandom(32),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workbook_jupyter.service", description=__doc__.splitlines()[0])
    parser.add_argument("--proxy-url", default=os.environ.get("WORKBOOK_HUB_PROXY_URL") or default_proxy_url(),
                        help="where the hub's proxy answers, to reach the learners' servers")
    parser.add_argument("--state-file", default="workbook-progress.json",
                        help="where the last progress read from each learner is kept (0600)")
    parser.add_argument("--refresh-seconds", type=float, default=300.0,
                        help="read every running server this often, so culled servers leave their progress")
    args = parser.parse_args(argv)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    bind = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    progress = ClassProgress(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"], args.proxy_url,
                             Path(args.state_file) if args.state_file else None)
    app = make_app(progress, prefix)
    app.listen(bind.port or 80, bind.hostname or "127.0.0.1")

    async def refresh() -> None:
        try:
            await progress.collect()
        except Exception as exc:  # noqa: BLE001 - a failed background read is retried at the next tick
            app.settings.setdefault("last_refresh_error", str(exc))

    if args.refresh_seconds > 0:
        ioloop.PeriodicCallback(refresh, args.refresh_seconds * 1000).start()
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
