"""Keep requests in flight while records are emitted: a bounded read-ahead thread.

A list walk is a chain (each page's cursor comes from the page before), so its requests cannot
run side by side; what can overlap is the chain with everything else: emitting records, and
the batch reads of pages already fetched. `read_ahead` runs a page producer on its own thread
a few pages ahead of the consumer, so memory stays bounded by `depth` pages.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1


class _Done:
    """Marks the end of the producer's items."""


class _Failed:
    """Carries the producer's exception to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """Iterate `items` on a background thread, at most `depth` items ahead of the consumer.

    Several producers may feed one consumer (`more`): each runs on its own thread and their
    items arrive interleaved, each producer's in its own order. A producer's exception is
    raised in the consumer where the item would have been. Closing the consumer (or leaving a
    `for` loop early) stops the producers and closes their iterators on their own threads.
    """

    def __init__(
        self,
        items: Iterator[T],
        depth: int,
        name: str = "read-ahead",
        more: tuple[Iterator[T], ...] = (),
    ) -> None:
        """Start producing at once."""
        if depth < 1:
            raise ValueError("depth must be at least 1")
        sources = (items, *more)
        self._queue: queue.Queue[T | _Done | _Failed] = queue.Queue(maxsize=depth * len(sources))
        self._stop = threading.Event()
        self._running = len(sources)
        self._threads = [
            threading.Thread(target=self._run, args=(source,), name=f"{name}-{n}", daemon=True)
            for n, source in enumerate(sources)
        ]
        for thread in self._threads:
            thread.start()

    def _put(self, item: T | _Done | _Failed) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def _run(self, items: Iterator[T]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_Done())
        except BaseException as exc:  # handed to the consumer and raised there
            self._put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        """Yield the producer's items in order."""
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Done):
                    self._running -= 1
                    if self._running == 0:
                        return
                    continue
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop the producers and wait for their threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
