"""A JupyterHub for a class on one machine (plain JupyterHub; with The Littlest JupyterHub use only
workbook_hub_config.py, see README "For trainers").

    sudo /opt/workbook/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Each learner is a system user; the hub (root) starts their server as that user with LocalProcessSpawner. The
server's extension starts the learner's own emulator: free ports, state in ~/.mi-workbook/emulator (0700),
answering only that user's processes (--owner-only). Nothing here is specific to the emulator except the
progress service and roles, loaded from workbook_hub_config.py.

Settings, from the environment (besides those of workbook_hub_config.py):
  WORKBOOK_HUB_BIND_URL       where the hub listens (default http://:8000; put TLS in front, or set
                              c.JupyterHub.ssl_cert/ssl_key, before learners sign in over a network)
  WORKBOOK_HUB_AUTHENTICATOR  jupyterhub's "pam" (default: learners sign in with their system password),
                              or any authenticator class name (e.g. "firstuseauthenticator" if installed)
  WORKBOOK_HUB_ADMINS         comma-separated admin users
  WORKBOOK_HUB_LEARNERS       comma-separated users allowed in (default: any user PAM accepts)
  WORKBOOK_HUB_STATE_DIR      where the hub keeps its database and cookie secret (default: this directory)
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - JupyterHub's config loader provides it


def _names(variable: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


state_dir = Path(os.environ.get("WORKBOOK_HUB_STATE_DIR", Path(__file__).resolve().parent))
c.JupyterHub.bind_url = os.environ.get("WORKBOOK_HUB_BIND_URL", "http://:8000")
c.JupyterHub.db_url = f"sqlite:///{state_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state_dir / "jupyterhub-proxy.pid")

c.JupyterHub.authenticator_class = os.environ.get("WORKBOOK_HUB_AUTHENTICATOR", "pam")
c.Authenticator.admin_users = _names("WORKBOOK_HUB_ADMINS")
if _names("WORKBOOK_HUB_LEARNERS"):
    c.Authenticator.allowed_users = _names("WORKBOOK_HUB_LEARNERS")
else:
    c.Authenticator.allow_all = True

# One process per learner, as that learner's system user; JupyterLab opens on the workbook's first notebook
# when the trainer has put the notebooks in the learners' homes (nbgitpuller links do that: README).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60  # the server starts the learner's emulator (about a second) before it answers
c.Spawner.http_timeout = 60
# Free memory for the next class: stop servers idle for an hour (their emulators stop with them).
# jupyterhub-idle-culler is the hub's usual service for it; enable it when installed.
try:
    import jupyterhub_idle_culler  # noqa: F401

    c.JupyterHub.services.append({"name": "idle-culler", "command": [
        os.environ.get("WORKBOOK_SERVICE_PYTHON", sys.executable), "-m", "jupyterhub_idle_culler", "--timeout=3600"]})
    c.JupyterHub.load_roles.append({"name": "idle-culler", "services": ["idle-culler"],
                                    "scopes": ["list:users", "read:users:activity", "read:servers",
                                               "delete:servers"]})
except ImportError:
    pass

load_subconfig(str(Path(__file__).with_name("workbook_hub_config.py")))  # noqa: F821 - JupyterHub provides it
