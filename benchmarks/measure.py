"""Run one command and measure it: wall time, CPU and peak memory of its whole process tree.

The child runs in its own process group, started through `peak.py`, a small launcher that
reports the command's own CPU time and peak memory: read directly from `wait4` here, the peak
would include the driver's own resident size (Linux counts the forked image until `exec`), and
`RUSAGE_CHILDREN` of the driver would accumulate across runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PEAK_LAUNCHER = Path(__file__).with_name("peak.py")


@dataclass
class RecordTally:
    """Count RECORD messages of one stream on a Singer or Airbyte stdout, and distinct ids."""

    stream: str
    records: int = 0
    ids: Counter[str] = field(default_factory=Counter)
    other_lines: int = 0
    errors: list[str] = field(default_factory=list)

    def feed(self, line: str) -> None:
        """Take one stdout line."""
        if not line.startswith("{"):
            self.other_lines += 1
            return
        try:
            message = json.loads(line)
        except ValueError:
            self.other_lines += 1
            return
        kind = message.get("type")
        if kind == "RECORD":
            # Singer: {"type": "RECORD", "stream": s, "record": {...}}
            # Airbyte: {"type": "RECORD", "record": {"stream": s, "data": {...}}}
            body = message.get("record") or {}
            stream = message.get("stream") or body.get("stream")
            data = body.get("data", body) if "stream" not in message else body
            if stream == self.stream:
                self.records += 1
                self.ids[str(data.get("id"))] += 1
        elif kind == "TRACE":
            error = (message.get("trace") or {}).get("error") or {}
            if error.get("message"):
                self.errors.append(str(error["message"]))

    @property
    def distinct(self) -> int:
        """Distinct record ids seen."""
        return len(self.ids)


@dataclass
class RunResult:
    """What one measured run cost."""

    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    timed_out: bool
    stderr_tail: str

    @property
    def cpu_s(self) -> float:
        """User plus system CPU seconds of the process tree."""
        return self.user_s + self.sys_s


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    tally: RecordTally | None = None,
    stdin_path: Path | None = None,
    timeout_s: float = 1800.0,
) -> RunResult:
    """Run `command`, feed its stdout lines to `tally`, and return what it cost."""
    with (
        tempfile.TemporaryFile(mode="w+b") as stderr,
        _open_stdin(stdin_path) as stdin,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "usage.json"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(PEAK_LAUNCHER), str(report), "--", *command],
            cwd=cwd,
            env=dict(env),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        killed = threading.Event()
        timer = threading.Timer(timeout_s, _kill_group, args=(proc.pid, killed))
        timer.start()
        assert proc.stdout is not None
        reaped = False
        try:
            for raw in proc.stdout:
                if tally is not None:
                    tally.feed(raw.decode("utf-8", "replace").rstrip("\n"))
            _, status, usage = os.wait4(proc.pid, 0)
            reaped = True
            wall = time.perf_counter() - started
        finally:
            timer.cancel()
            proc.stdout.close()
            if not reaped:  # interrupted: leave no connector running
                _kill_group(proc.pid, killed)
                proc.wait()
        # wait4 reaped the child; tell Popen so it does not try again.
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0, os.SEEK_END)
        size = stderr.tell()
        stderr.seek(max(0, size - 4000))
        tail = stderr.read().decode("utf-8", "replace")
        # Killed runs leave no report: fall back to the launcher's own figures.
        own = (
            json.loads(report.read_text(encoding="utf-8"))
            if report.exists()
            else {"user_s": usage.ru_utime, "sys_s": usage.ru_stime, "max_rss_kib": usage.ru_maxrss}
        )
    return RunResult(
        returncode=proc.returncode,
        wall_s=wall,
        user_s=own["user_s"],
        sys_s=own["sys_s"],
        max_rss_mib=own["max_rss_kib"] / 1024,  # KiB on Linux
        timed_out=killed.is_set(),
        stderr_tail=tail,
    )


def _kill_group(pid: int, killed: threading.Event) -> None:
    killed.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class _NoStdin:
    def __enter__(self) -> int:
        return subprocess.DEVNULL

    def __exit__(self, *exc: object) -> None:
        return None


def _open_stdin(path: Path | None) -> contextlib.AbstractContextManager[Any]:
    return path.open("rb") if path is not None else _NoStdin()
