"""Which upstream STATE may be handed back, as HubSpot batches settle.

A STATE message from the tap says "everything before me is delivered". The target may repeat it
(to Meltano, which stores it for the next run) only once every record read before it has an
outcome: written to HubSpot, or in the rejects file. Records are numbered by their position in
the input; a STATE is remembered with the number of records read before it. Batches settle in
any order (many run at once), so the tracker keeps the settled prefix: the highest position up
to which every record has settled. The latest STATE at or below that prefix is ready.

This is what makes a killed run cheap to resume: the state emitted last covers only records
that are in HubSpot, and the records after it are the ones a re-run sends again.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from typing import Any


class Checkpoints:
    """Track settled record positions and emit each STATE once all records before it settle."""

    def __init__(self, emit: Callable[[Any], None]) -> None:
        """`emit` writes one state value (it is called under this tracker's lock, in order)."""
        self._emit = emit
        self._lock = threading.Lock()
        self._prefix = 0  # every position <= this has settled
        self._settled_above: set[int] = set()
        self._states: list[tuple[int, Any]] = []  # (records read before it, value), in order
        self._last_emitted: Any = None
        self._emitted_any = False

    @property
    def prefix(self) -> int:
        """Return the highest position up to which every record has settled."""
        with self._lock:
            return self._prefix

    def state_after(self, position: int, value: Any) -> None:
        """Remember a STATE that followed `position` records; emit it if they have all settled."""
        with self._lock:
            self._states.append((position, copy.deepcopy(value)))
            self._flush()

    def settle(self, positions: Iterable[int]) -> None:
        """Mark records as settled (written or rejected); emit the states that became ready."""
        with self._lock:
            for position in positions:
                if position > self._prefix:
                    self._settled_above.add(position)
            while self._prefix + 1 in self._settled_above:
                self._prefix += 1
                self._settled_above.discard(self._prefix)
            self._flush()

    def unsettled(self, positions: Iterable[int]) -> int:
        """Return how many of `positions` have not settled."""
        with self._lock:
            return sum(1 for p in positions if p > self._prefix and p not in self._settled_above)

    def _flush(self) -> None:
        ready = None
        while self._states and self._states[0][0] <= self._prefix:
            ready = self._states.pop(0)
        if ready is None:
            return
        value = ready[1]
        if self._emitted_any and value == self._last_emitted:
            return
        self._emit(value)
        self._last_emitted = value
        self._emitted_any = True
