"""SIGTERM and SIGINT as a request to stop at the next safe point, with the state written.

singer-sdk's own handler logs "Gracefully shutting down..." and exits 0, from wherever the
signal landed: an orchestrator then records success for a partial sync. Each connector installs
`StopSignals` instead (after the SDK, which installs its own when a plugin is built) and says
where stopping is safe:

- while `deferred` is off (before a tap syncs, or while a target waits for its next input line,
  `interruptible`), the handler raises `Stopped` at once: nothing is half done there;
- while it is on, the handler only records the signal, and the connector calls `check` at its
  safe points (a tap before each message it writes, a target before each line it reads), which
  runs `on_stop` (a tap writes its last STATE) and raises `Stopped`.

`Stopped` is a `BaseException`, so no `except Exception` on the way (the SDK's "unhandled error"
among them) takes it for a failure; `run_cli` ends the process with `128 + signal number`, as a
shell reports a process a signal ended (143 for SIGTERM, 130 for SIGINT). After the first
signal the default action is back: a second one ends the process at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """The run stopped at a safe point because a signal asked it to."""

    def __init__(self, signum: int, outcome: str) -> None:
        """Keep the signal's number, and what the run leaves behind in words."""
        super().__init__(signum)
        self.signum = signum
        self.outcome = outcome

    @property
    def name(self) -> str:
        """Return the signal's name (`SIGTERM`)."""
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """Return the status a shell gives a process this signal ended: 128 + its number."""
        return 128 + self.signum


class StopSignals:
    """Turn SIGTERM and SIGINT into `Stopped` at the connector's next safe point."""

    def __init__(self, outcome: str) -> None:
        """Start with no signal seen, raising at once until `deferred` is set.

        `outcome` says what a stopped run leaves behind (what its last state covers).
        """
        self.outcome = outcome
        self.signum: int | None = None
        self.signalled_at = 0.0  # time.monotonic() when the signal came
        self.deferred = False
        self.on_stop: Callable[[], None] | None = None
        self._stopping = False

    def install(self) -> StopSignals:
        """Take both signals from here on (only the main thread can); return self."""
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, self._take)
        return self

    def _take(self, signum: int, frame: FrameType | None) -> None:
        # Nothing here logs or writes: the main thread may hold the very lock that would need.
        self.signum = signum
        self.signalled_at = time.monotonic()
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_DFL)
        if not self.deferred and not self._stopping:
            self._stopping = True
            raise Stopped(signum, self.outcome)

    def waited_s(self) -> float:
        """Return the seconds since the signal came (0 before one came)."""
        return time.monotonic() - self.signalled_at if self.signum is not None else 0.0

    def check(self) -> None:
        """At a safe point: once a signal came, run `on_stop` and raise `Stopped` (once)."""
        if self.signum is None or self._stopping:
            return
        self._stopping = True
        if self.on_stop is not None:
            self.on_stop()
        raise Stopped(self.signum, self.outcome)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Let a signal stop the run at once inside this block (a wait with nothing half done)."""
        deferred = self.deferred
        self.deferred = False
        try:
            self.check()
            yield
        finally:
            self.deferred = deferred
