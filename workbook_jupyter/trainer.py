"""``workbook-trainer``: the trainer's table of who finished what, in a terminal.

    export JUPYTERHUB_API_TOKEN=…   # a token from the hub's Token page (a trainer's or an admin's)
    workbook-trainer progress --hub-url https://hub.example.org
    workbook-trainer progress --hub-url https://hub.example.org --json

It reads the same JSON the hub service's page shows (``/services/workbook-progress/api/progress``): the hub
checks the token's scopes (``access:services!service=workbook-progress``) exactly as for the page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from .table import as_text, rows_from_json
from .urls import SERVICE_JSON_PATH, SERVICE_NAME


class TrainerError(RuntimeError):
    """The table cannot be read (hub unreachable, token refused)."""


def fetch(hub_url: str, token: str, service: str = SERVICE_NAME, timeout: float = 60.0) -> dict:
    url = f"{hub_url.rstrip('/')}/services/{service}/{SERVICE_JSON_PATH}"
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the trainer's own hub
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise TrainerError(f"{exc.code}: the hub refused this token for {service} (it needs the scope "
                               f"access:services!service={service}: the 'trainer' role, or a hub admin)") from None
        raise TrainerError(f"{exc.code} from {url}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TrainerError(f"cannot read {url}: {getattr(exc, 'reason', exc)}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbook-trainer", description="The trainer's view of the class.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("progress", help="learners × scenarios: which steps each learner got through")
    show.add_argument("--hub-url", default=os.environ.get("JUPYTERHUB_URL", "http://127.0.0.1:8000"),
                      help="the hub's public URL (default: $JUPYTERHUB_URL or %(default)s)")
    show.add_argument("--service", default=SERVICE_NAME, help="the service's name (default: %(default)s)")
    show.add_argument("--token-file", help="a file holding the API token (default: $JUPYTERHUB_API_TOKEN)")
    show.add_argument("--json", action="store_true", help="print the JSON the service answers")
    args = parser.parse_args(argv)
    token = Path(args.token_file).read_text().strip() if args.token_file else os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        print("workbook-trainer: no token: set JUPYTERHUB_API_TOKEN (the hub's Token page makes one) or "
              "pass --token-file.", file=sys.stderr)
        return 2
    try:
        data = fetch(args.hub_url, token, args.service)
    except TrainerError as exc:
        print(f"workbook-trainer: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=1) if args.json else as_text(rows_from_json(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
