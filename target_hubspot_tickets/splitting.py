"""Find the records behind a batch HubSpot refuses as a whole, and write all the others.

Most per-input problems come back in a 207 that names each failed input, but some (a value of
the wrong type, a duplicate id, a missing object referenced by one input, ...) fail the whole
request with a 400. `isolate_refusals` then splits the refused batch in halves and sends each,
recursively, until every refused record stands alone. The good records are still written in
batches, and k bad records among n cost at most 1 + 2·k·⌈log2 n⌉ requests.

Only refusals about the batch's content (`CONTENT_ERRORS` by default) are split. Anything else
(rate limits that outlasted the client's retries, auth, server errors, an unknown outcome)
propagates at once: sending halves would not help and could multiply the damage.

The strategy knows nothing of HubSpot's bodies: `send(batch)` makes the call and returns
whatever its caller needs back (typically the parsed answer, to map a 207 to its inputs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from hubspot_api.errors import ConflictError, HubSpotAPIError, NotFoundError, ValidationError

T = TypeVar("T")
R = TypeVar("R")

# Client errors that concern the batch's content: splitting finds the records behind them.
CONTENT_ERRORS: tuple[type[HubSpotAPIError], ...] = (ValidationError, NotFoundError, ConflictError)


@dataclass
class Isolated(Generic[T, R]):
    """What became of a batch: the sub-batches HubSpot took, and each record it refused."""

    # Each sub-batch that was accepted, in input order, with what `send` returned for it.
    accepted: list[tuple[list[T], R]] = field(default_factory=list)
    # Each record refused on its own, in input order, with HubSpot's refusal.
    refused: list[tuple[T, HubSpotAPIError]] = field(default_factory=list)
    # How many times `send` was called.
    requests: int = 0


def isolate_refusals(
    items: Sequence[T],
    send: Callable[[list[T]], R],
    *,
    refusals: tuple[type[HubSpotAPIError], ...] = CONTENT_ERRORS,
    on_split: Callable[[int, HubSpotAPIError], None] | None = None,
) -> Isolated[T, R]:
    """Send `items` as one batch; bisect every refused batch until each refusal has its record.

    `send` is called with a non-empty list and either returns (the batch was accepted, possibly
    with per-input errors for the caller to map) or raises. An error of a `refusals` class
    splits the batch, or refuses its record when it holds only one; any other error propagates
    unchanged. `on_split(size, error)` is told before each split.
    """
    outcome: Isolated[T, R] = Isolated()
    # Depth first, left half first: accepted batches and refusals come out in input order.
    stack: list[list[T]] = [list(items)] if items else []
    while stack:
        batch = stack.pop()
        outcome.requests += 1
        try:
            answer = send(batch)
        except refusals as exc:
            if len(batch) == 1:
                outcome.refused.append((batch[0], exc))
                continue
            if on_split is not None:
                on_split(len(batch), exc)
            middle = len(batch) // 2
            stack.extend((batch[middle:], batch[:middle]))
            continue
        outcome.accepted.append((batch, answer))
    return outcome


def split_logger(logger: logging.Logger, what: str) -> Callable[[int, HubSpotAPIError], None]:
    """Return an `on_split` that logs each split of a refused `what` batch ("create", ...)."""

    def log(size: int, exc: HubSpotAPIError) -> None:
        logger.info(
            "HubSpot refused %s batch of %d (%s); splitting it to find the bad records",
            what,
            size,
            exc.category or exc.status,
        )

    return log
