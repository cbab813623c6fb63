"""The workbook's part of a JupyterHub config: the trainer's progress service, its roles, and who trains.

Use it as it is in The Littlest JupyterHub (copy it to /opt/tljh/config/jupyterhub_config.d/ and run
`sudo tljh-config reload hub`), or load it from a config of your own (jupyterhub_config.py beside this file
does). It assumes the workbook is installed in the users' environment, which is what gives each learner's
server its own emulator (the server extension the installation enables); nothing else is needed for that.

Settings, from the hub's environment (all optional):
  WORKBOOK_TRAINERS          comma-separated hub user names who may see the progress page (admins always may)
  WORKBOOK_HUB_PROXY_URL     where the service reaches the learners' servers through the proxy
                             (default: http://127.0.0.1:8000; TLJH: http://127.0.0.1, or https://<your domain>)
  WORKBOOK_SERVICE_PYTHON    the Python that has the workbook installed (default: the hub's own; TLJH:
                             /opt/tljh/user/bin/python)
  WORKBOOK_SERVICE_STATE_DIR where the service keeps the last progress it read (default: the hub's directory)
"""

import os
import sys

c = get_config()  # noqa: F821 - JupyterHub's config loader provides it

SERVICE = "workbook-progress"
_trainers = [name.strip() for name in os.environ.get("WORKBOOK_TRAINERS", "").split(",") if name.strip()]
_state_dir = os.environ.get("WORKBOOK_SERVICE_STATE_DIR", os.getcwd())

c.JupyterHub.services.append({
    "name": SERVICE,
    "display": True,  # listed in the hub's Services menu for those who may open it
    "oauth_no_confirm": True,
    "url": os.environ.get("WORKBOOK_SERVICE_URL", "http://127.0.0.1:10101"),
    "command": [os.environ.get("WORKBOOK_SERVICE_PYTHON", sys.executable), "-m", "workbook_jupyter.service",
                "--state-file", os.path.join(_state_dir, "workbook-progress.json")],
    "environment": {"WORKBOOK_HUB_PROXY_URL": os.environ.get("WORKBOOK_HUB_PROXY_URL", "http://127.0.0.1:8000")},
})
c.JupyterHub.load_roles.extend([
    {
        # What the service itself may do: list users and their servers, and call the servers' API
        # (GET /user/<name>/workbook/progress). Nothing else: no admin rights.
        "name": "workbook-progress-service",
        "scopes": ["list:users", "read:users:name", "read:servers", "access:servers"],
        "services": [SERVICE],
    },
    {
        # Who may open the progress page (OAuth through the hub) or read its JSON with a token.
        "name": "trainer",
        "scopes": [f"access:services!service={SERVICE}"],
        "users": _trainers,
    },
])
