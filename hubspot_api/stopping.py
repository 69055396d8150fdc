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

A safe point may never come: a reader that stopped taking the output leaves a write blocked for
good, and a call can wait minutes on HubSpot's retries. So once a signal came, the process ends
at the latest `hard_stop_s` later, or (with `bounded_output`, for a connector whose safe points
may take long for good reasons) `hard_stop_s` into a write to its output that does not finish:
one line `<command>: stopped: ...` on stderr and exit `128 + signal number`, nothing more
written (the last line of the output may then be cut short; the last whole STATE still covers
everything written before it).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(BaseException):
    """The run stopped at a safe point because a signal asked it to."""

    def __init__(self, signum: int, outcome: str, signals: StopSignals | None = None) -> None:
        """Keep the signal's number, and what the run leaves behind in words."""
        super().__init__(signum)
        self.signum = signum
        self.outcome = outcome
        self.signals = signals

    def reported(self) -> None:
        """Note that the run's stopped line was said: a hard stop then adds none."""
        if self.signals is not None:
            self.signals.said = True

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

    def __init__(
        self,
        outcome: str,
        *,
        command: str = "",
        hard_stop_s: float = 0.0,
        hard_outcome: str = "",
        always_hard: bool = True,
    ) -> None:
        """Start with no signal seen, raising at once until `deferred` is set.

        `outcome` says what a stopped run leaves behind (what its last state covers);
        `hard_outcome` the same when it ends `hard_stop_s` after the signal without reaching a
        safe point (0: never), in a line naming `command`. With `always_hard` off, that bound
        holds only inside `bounded_output`.
        """
        self.outcome = outcome
        self.command = command
        self.hard_stop_s = hard_stop_s
        self.hard_outcome = hard_outcome
        self.always_hard = always_hard
        self.signum: int | None = None
        self.signalled_at = 0.0  # time.monotonic() when the signal came
        self.deferred = False
        self.on_stop: Callable[[], None] | None = None
        self._stopping = False
        self._writing = 0
        self._settled = False  # stopped at a safe point, its state written
        self.said = False  # its stopped line was said (`Stopped.reported`)
        self._alarm = False  # the SIGALRM handler is installed (`install`, main thread only)

    def install(self) -> StopSignals:
        """Take both signals from here on (only the main thread can); return self."""
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, self._take)
            if self.hard_stop_s > 0:
                signal.signal(signal.SIGALRM, self._hard_stop)
                self._alarm = True
        return self

    def _take(self, signum: int, frame: FrameType | None) -> None:
        # Nothing here logs or writes: the main thread may hold the very lock that would need.
        self.signum = signum
        self.signalled_at = time.monotonic()
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_DFL)
        if not self.deferred and not self._stopping:
            self._stopping = self._settled = True
            raise Stopped(signum, self.outcome, self)
        if self.always_hard or self._writing:
            self._arm_hard_stop()

    def _arm_hard_stop(self) -> None:
        # A timer signal, not a thread: it interrupts a blocked write or wait in the main thread,
        # and arming it takes no lock the interrupted code may hold.
        if self._alarm:
            signal.setitimer(signal.ITIMER_REAL, self.hard_stop_s)

    def _hard_stop(self, alarm: int, frame: FrameType | None) -> None:
        signum = self.signum if self.signum is not None else signal.SIGTERM
        name = signal.Signals(signum).name
        # Stopped at a safe point, its state written, but still ending (a thread in a call).
        settled = self._settled and not self._writing
        outcome = self.outcome if settled else self.hard_outcome
        line = f"{self.command}: stopped: {name} stopped the run; {outcome}\n"
        # Only raw writes and `_exit`: buffers, locks and threads may be stuck where they are.
        try:
            if not self.said:
                os.write(2, line.encode("utf-8", "replace"))
        finally:
            os._exit(128 + signum)

    @contextmanager
    def bounded_output(self) -> Iterator[None]:
        """Let no write to the output inside this block outlast a signal by `hard_stop_s`."""
        self._writing += 1
        try:
            if self.signum is not None and not self.always_hard and self._writing == 1:
                self._arm_hard_stop()
            yield
        finally:
            self._writing -= 1
            if not self.always_hard and self._writing == 0 and self.signum is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)  # the write finished: stop as usual

    def received(self) -> Stopped | None:
        """Return the `Stopped` a signal that came asks for (without raising it), or None."""
        return None if self.signum is None else Stopped(self.signum, self.outcome)

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
        self._settled = True
        raise Stopped(self.signum, self.outcome, self)

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
