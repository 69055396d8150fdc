"""One client-side budget per portal and app across processes: a file every process locks.

HubSpot counts the calls of an app on a portal together, whichever process sends them: the
tickets job, the associations job and a write-back running at once spend one budget. Each of
our processes therefore keeps its reservations (`ratelimit.SlidingWindow`) in one small file
per account in the user's cache directory, locked with `flock` around every booking, so
together they book as one limiter would. No server runs; a process that dies leaves only
bookings that age out within a window.

The file holds, per budget, the recent start times (wall clock, comparable across processes)
and the moment until which a 429 holds everyone. Each process keeps its own limit (a process
with a smaller budget waits for more of the shared starts to age out). Where the directory
cannot be written or locks are not available, the process keeps a budget of its own and says
so once.

Another local user must not be able to stall a run or make it write elsewhere: the folder is
used only when it belongs to this user and no one else may write in it (else one warning, and
the run keeps its own budget); the file is opened without following a link (a link planted in
its place is refused, never truncated through) and created readable by its owner only; and
what it holds is trusted only as far as HubSpot's own windows reach (`ratelimit.MAX_HOLD_S`).
A write to it that fails (a full disk) ends the sharing, not the run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

APP_DIR = "hubspot-tickets-connectors"
# Group or others may write: they could plant a file or a link, or change the bookings.
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH

logger = logging.getLogger("hubspot_api")


def default_state_dir() -> Path:
    """Return the per-user directory the shared budgets live in (XDG cache, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR / "rate-limits"


def budget_path(directory: Path, api_url: str, fingerprint: str) -> Path:
    """Return the file in `directory` holding the budgets of one portal and app."""
    name = hashlib.sha256(f"{api_url}\x00{fingerprint}".encode()).hexdigest()[:24]
    return directory / f"{name}.json"


class BudgetFile:
    """The shared windows of one account: load, change and store them under an exclusive lock."""

    def __init__(self, directory: Path, api_url: str, fingerprint: str) -> None:
        """Open (creating) the account's file; raise `OSError` if that cannot be done."""
        if fcntl is None:  # pragma: no cover - not POSIX
            raise OSError("file locks are not available on this system")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _refuse_foreign(os.stat(directory), "the folder")
        self.path = budget_path(directory, api_url, fingerprint)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self._fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OSError(exc.errno, f"{self.path.name} is a symbolic link") from None
            raise
        try:
            info = os.fstat(self._fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, f"{self.path.name} is not a regular file")
            _refuse_foreign(info, self.path.name)
        except OSError:
            os.close(self._fd)
            raise

    def close(self) -> None:
        """Close the file (the bookings stay for the other processes)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """Hold the lock; yield the stored state to change in place; store it on leaving."""
        assert fcntl is not None
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            state = self._read()
            yield state
            data = json.dumps(state, separators=(",", ":")).encode()
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, data)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        os.lseek(self._fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self._fd, 65536):
            chunks.append(chunk)
        try:
            state = json.loads(b"".join(chunks) or b"{}")
        except ValueError:
            return {}  # a torn or foreign file: start afresh rather than fail the run
        return state if isinstance(state, dict) else {}


def _refuse_foreign(info: os.stat_result, what: str) -> None:
    """Raise `OSError` unless this user owns `info`'s file and no one else may write it."""
    if info.st_uid != os.geteuid():
        raise OSError(errno.EPERM, f"{what} belongs to another user (uid {info.st_uid})")
    if info.st_mode & _OTHERS_WRITE:
        mode = stat.S_IMODE(info.st_mode)
        raise OSError(errno.EPERM, f"{what} is writable by other users (mode {mode:o})")


def open_budget_file(directory: Path | None, api_url: str, fingerprint: str) -> BudgetFile | None:
    """Return the account's shared budget file, or None (with one warning) if it cannot be used."""
    where = directory or default_state_dir()
    try:
        return BudgetFile(where, api_url, fingerprint)
    except OSError as exc:
        logger.warning(
            "rate budget not shared with other processes (%s: %s); this run throttles alone",
            where,
            exc.strerror or exc,
        )
        return None
