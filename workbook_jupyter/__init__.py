"""The workbook in a class: a Jupyter server extension that gives each learner's server its own emulator, and
the trainer's view of who finished what (a JupyterHub service and the ``workbook-trainer`` command).

Enabled by ``etc/jupyter/jupyter_server_config.d/workbook_jupyter.json``, which installing the project puts in
its environment. On a laptop it only adds the progress handler (``make workbook`` starts the emulator itself);
as a JupyterHub single-user server it starts the learner's private emulator (see :mod:`.extension`).
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import WorkbookExtension

    return [{"module": "workbook_jupyter", "app": WorkbookExtension}]
