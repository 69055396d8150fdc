"""The files the connectors write: never through a planted link, failures named in one line.

Every output file (the target's results, rejects, plan and summary, the tap's run report) is
opened here, so the same rules hold for all of them:

- Never through a symbolic link: a link at the path (planted by another local user, or left
  over) would send records, or a truncation, to whatever it points at. Appended files are
  opened with `O_NOFOLLOW`; replaced files are written beside the path and renamed over it,
  which replaces a link instead of following it; and a link at the path is refused at start,
  in one line naming it, before anything is written anywhere (`check_output_path`).
- A replaced file (the target's summary, the tap's run report) is first written at start
  (`replace_checked_file`): a folder that cannot take it (read-only, EROFS; no permission,
  EACCES) stops the run in one line before HubSpot is asked anything, not after its reads.
- Files are created readable by their owner only (0600): they hold records.
- A write that fails (a full disk, ENOSPC; a file size limit, EFBIG; EIO; a read-only disk,
  EROFS) raises `OutputFileError`: one line naming the setting, the path and the error. An
  appended line that fails part way is cut off again, so the file stays whole lines.
- `AppendFile.reserve` tells before a write to HubSpot whether its outcomes will fit (the free
  space of the disk, and the process's file size limit): a run stops before sending what it
  could not record, rather than after.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from hubspot_api.errors import ConfigError, HubSpotError

# Files holding records are readable by their owner only.
OUTPUT_MODE = 0o600


class OutputFileError(HubSpotError):
    """An output file could not be written: the run stops before its next write to HubSpot."""


def describe_os_error(exc: OSError) -> str:
    """Return an `OSError` as its words and symbol: "No space left on device (ENOSPC)"."""
    words = exc.strerror or str(exc)
    symbol = errno.errorcode.get(exc.errno) if exc.errno is not None else None
    return f"{words} ({symbol})" if symbol else words


def refuse_link(path: str | os.PathLike[str], setting: str) -> Path:
    """Refuse, in one line (`ConfigError`), a path that is a symbolic link or a directory."""
    where = Path(path)
    if where.is_symlink():
        raise ConfigError(
            f"{setting} {where} is a symbolic link: output files are never written through "
            "one (another user may have planted it); remove it or name the file itself"
        )
    if where.is_dir():
        raise ConfigError(f"{setting} {where} is a directory; name a file")
    return where


def check_output_path(path: str | os.PathLike[str], setting: str) -> Path:
    """Refuse a link or a directory (`refuse_link`); create the folders the path needs.

    Called at start, before any write to HubSpot or to any file.
    """
    where = refuse_link(path, setting)
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # mkdir says "File exists" when a file stands where a folder should be.
        why = "a file is in its way" if isinstance(exc, FileExistsError) else ""
        raise ConfigError(
            f"{setting} {where}: its folder cannot be created: {why or describe_os_error(exc)}"
        ) from None
    return where


def replace_file(path: str | os.PathLike[str], text: str, setting: str) -> None:
    """Write `text` to a new file beside `path` (0600), sync it, and rename it over `path`.

    A reader sees the old file or the new one, never half of one; a link at `path` is replaced,
    never followed; an existing device or pipe is refused. Raises `OutputFileError`.
    """
    where = Path(path)
    try:
        existing = os.lstat(where)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputFileError(f"cannot write {setting} {where}: {describe_os_error(exc)}") from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(existing.st_mode) else "not a regular file"
        raise OutputFileError(f"cannot write {setting} {where}: it is {kind}")
    temporary: str | None = None
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where.parent, prefix=f".{where.name}.")
        with os.fdopen(handle, "wb") as out:  # mkstemp creates it 0600
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, where)
    except OSError as exc:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise OutputFileError(f"cannot write {setting} {where}: {describe_os_error(exc)}") from None


def replace_checked_file(path: str | os.PathLike[str], text: str, setting: str) -> None:
    """Check `path` (`check_output_path`), then write `text` to it (`replace_file`).

    A run's first write of a replaced file is its check: made at start, before any call to
    HubSpot, a file that cannot be written stops the run in one line (`OutputFileError`)
    before anything is read or written.
    """
    replace_file(check_output_path(path, setting), text, setting)


class AppendFile:
    """A file lines are appended to, opened without following a link; thread-safe."""

    def __init__(self, path: str | os.PathLike[str], setting: str) -> None:
        """Open (creating, 0600) `path` for appending; `ConfigError` in one line if it cannot."""
        self.path = check_output_path(path, setting)
        self.setting = setting
        self.failed: OutputFileError | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self._reserved = 0
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self._fd: int | None = os.open(self.path, flags, OUTPUT_MODE)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a link planted since the check
                raise ConfigError(
                    f"{setting} {self.path} is a symbolic link: output files are never written "
                    "through one; remove it or name the file itself"
                ) from None
            raise ConfigError(
                f"{setting} {self.path} cannot be opened for writing: {describe_os_error(exc)}"
            ) from None
        self._regular = stat.S_ISREG(os.fstat(self._fd).st_mode)

    def write(self, data: bytes) -> None:
        """Append `data` whole, or raise `OutputFileError` and leave the file as it was."""
        with self._lock:
            fd = self._check_open()
            start = os.fstat(fd).st_size if self._regular else 0
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as exc:
                if self._regular:  # a line cut short would spoil the line after it
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, start)
                raise self._fail(exc) from None
            self._dirty = True

    def sync(self) -> None:
        """Make every line written so far durable; raise `OutputFileError` if that fails."""
        with self._lock:
            if self._fd is None or not self._dirty:
                return
            try:
                if self._regular:
                    os.fsync(self._fd)
            except OSError as exc:
                raise self._fail(exc) from None
            self._dirty = False

    def close(self) -> None:
        """Sync (unless a write failed already) and close the file; later writes fail."""
        with self._lock:
            if self._fd is None:
                return
            try:
                if self.failed is None:
                    self.sync()
            finally:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None

    @contextlib.contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Hold room for `size` more bytes while the block runs; raise if there is none.

        Only regular files are measured (a pipe or a terminal has no size to run out of).
        """
        if not self._regular:
            yield
            return
        with self._lock:
            fd = self._check_open()
            try:
                room = _room(fd)
            except OSError as exc:
                raise self._fail(exc) from None
            if room is not None and room - self._reserved < size:
                raise self._fail(
                    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                    f"{size:,} bytes are needed to record the next batch's outcomes, "
                    f"{max(room - self._reserved, 0):,} are left (free disk space or file "
                    "size limit)",
                )
            self._reserved += size
        try:
            yield
        finally:
            with self._lock:
                self._reserved -= size

    def _check_open(self) -> int:
        if self.failed is not None:
            raise self.failed
        if self._fd is None:
            raise OutputFileError(f"{self.setting} {self.path} is closed")
        return self._fd

    def _fail(self, exc: OSError, detail: str | None = None) -> OutputFileError:
        self.failed = OutputFileError(
            f"cannot record outcomes in {self.setting} {self.path}: "
            f"{detail or describe_os_error(exc)}; stopped before the next write to HubSpot "
            "(the last state handed back covers only records whose outcome is recorded)"
        )
        return self.failed


def _room(fd: int) -> int | None:
    """Return how many more bytes the open file can take (None: no limit in sight)."""
    limits: list[int] = []
    disk = os.fstatvfs(fd)
    if disk.f_blocks:  # a filesystem that reports its size
        limits.append(disk.f_bavail * disk.f_frsize)
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft - os.fstat(fd).st_size)
    return min(limits) if limits else None
