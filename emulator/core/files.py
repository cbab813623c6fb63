r"""Private files: the data directory and what in it must stay the learner's own.

The token-signing key lets whoever reads it mint tokens every service accepts; the TLS key, the
profile (the admin app's secret, the control plane's secret) and the databases are the learner's
state. So the data directory is 0700 and those files 0600, created with that mode rather than
narrowed afterwards (no window in which another local user can open them).

Windows (the workbook is opened there too; none of this is tested here: no Windows machine, CI is
Linux):
- What applies: the same files in the same places, written atomically (``os.replace`` is atomic on
  NTFS too), in binary mode (``O_BINARY``, no newline translation); the per-start control-plane secret
  and the loopback-only listeners work the same.
- What does not: POSIX modes. ``os.chmod`` and the ``mode`` of ``os.open``/``mkdir`` only set or clear
  the read-only flag, so the 0700/0600 calls are skipped (``_POSIX``). Privacy then comes from the
  folder's inherited ACL: the default data dir, ``%USERPROFILE%\.mi-workbook\emulator``, inherits the
  user profile's ACL (the user, SYSTEM and Administrators; no other user), so keys and profile are
  private there. A ``WORKBOOK_EMULATOR_HOME`` or ``--data-dir`` elsewhere (``C:\temp\…``) inherits
  that folder's ACL, which may let every local user read the signing key: the emulator does not set
  ACLs itself (that needs pywin32 or ``icacls``): on Windows, keep the default data dir.
- Also untested there: ``os.replace`` fails (PermissionError, reported as an unusable data dir) while
  another process holds the target open without FILE_SHARE_DELETE, e.g. an editor showing the profile.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_POSIX = os.name == "posix"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if _POSIX:
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path) -> None:
    """Narrow an existing file to 0600 (files another library created, e.g. SQLite's)."""
    if _POSIX:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, PRIVATE_FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically (temporary file, then rename) into a file created 0600."""
    temporary = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()  # a leftover from a crash may carry an older, wider mode
    descriptor = os.open(temporary, flags, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_public(path: Path, data: bytes) -> None:
    """Write a file other programs of the same user must read (certificates), atomically."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class StartError(RuntimeError):
    """The emulator cannot start; the message says why and what to do, in one line."""


class DataDirError(StartError):
    """The data directory cannot be used as it is."""


def describe_os_error(exc: OSError, path: Path) -> str:
    """One line for a learner: what is wrong with ``path`` and what to do."""
    if exc.errno == errno.ENOSPC:
        return f"The disk holding {path} is full; free some space and start again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"The data dir {path} is read-only or not yours; choose another with --data-dir or "
                "WORKBOOK_EMULATOR_HOME.")
    return f"The data dir {path} cannot be used ({exc.strerror or exc})."


HARD_RESET_HINT = "run `azure-emulator reset --hard` to start from a new data dir"
