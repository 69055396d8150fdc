"""A batch refused as a whole is split until each bad record stands alone; nothing else is."""

from __future__ import annotations

import math
import random

import pytest

from hubspot_api.errors import (
    AuthError,
    ConflictError,
    HubSpotAPIError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from target_hubspot_tickets.splitting import isolate_refusals


class Portal:
    """Refuse, as a whole, every batch that holds one of `bad`; remember every batch sent."""

    def __init__(self, bad: set[int], error: type[HubSpotAPIError] = ValidationError) -> None:
        self.bad = bad
        self.error = error
        self.sent: list[list[int]] = []
        self.written: list[int] = []

    def send(self, batch: list[int]) -> str:
        self.sent.append(list(batch))
        if self.bad.intersection(batch):
            raise self.error(
                "Property values were not valid", status=400, category="VALIDATION_ERROR"
            )
        self.written.extend(batch)
        return f"ok:{batch[0]}-{batch[-1]}"


def _bound(k: int, n: int) -> int:
    """Return the most requests k bad records among n may cost."""
    return 1 + 2 * k * math.ceil(math.log2(n))


def test_a_good_batch_is_sent_once_and_its_answer_kept():
    portal = Portal(bad=set())
    items = list(range(100))

    outcome = isolate_refusals(items, portal.send)

    assert outcome.requests == 1
    assert outcome.refused == []
    assert outcome.accepted == [(items, "ok:0-99")]


def test_nothing_to_send_sends_nothing():
    portal = Portal(bad=set())
    outcome = isolate_refusals([], portal.send)
    assert outcome.requests == 0
    assert portal.sent == []


@pytest.mark.parametrize("bad", [0, 37, 50, 99], ids=["first", "middle", "half", "last"])
def test_one_bad_record_among_100_is_isolated(bad):
    portal = Portal(bad={bad})
    items = list(range(100))

    outcome = isolate_refusals(items, portal.send)

    [(record, error)] = outcome.refused
    assert record == bad
    assert isinstance(error, ValidationError)
    assert error.category == "VALIDATION_ERROR"
    # Every good record was written exactly once, in input order, in batches.
    assert portal.written == [i for i in items if i != bad]
    assert [r for batch, _ in outcome.accepted for r in batch] == portal.written
    assert all(answer == f"ok:{b[0]}-{b[-1]}" for b, answer in outcome.accepted)
    assert outcome.requests == len(portal.sent) <= _bound(1, 100)
    assert len(outcome.accepted) <= math.ceil(math.log2(100))


@pytest.mark.parametrize(
    "bad",
    [{3, 50, 51, 97}, {10, 11, 12}, {0, 99}, set(range(0, 100, 10))],
    ids=["scattered", "adjacent", "ends", "every-tenth"],
)
def test_several_bad_records_are_each_isolated(bad):
    portal = Portal(bad=bad)
    items = list(range(100))

    outcome = isolate_refusals(items, portal.send)

    assert [record for record, _ in outcome.refused] == sorted(bad)
    assert portal.written == [i for i in items if i not in bad]
    assert outcome.requests <= _bound(len(bad), 100)


@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"seed-{s}")
def test_requests_stay_within_k_log_n(seed):
    rng = random.Random(seed)
    n = rng.choice([17, 64, 100])
    k = rng.randint(1, 6)
    bad = set(rng.sample(range(n), k))
    portal = Portal(bad=bad)

    outcome = isolate_refusals(list(range(n)), portal.send)

    assert {record for record, _ in outcome.refused} == bad
    assert sorted(portal.written) == sorted(set(range(n)) - bad)
    assert outcome.requests <= _bound(k, n)


def test_all_bad_records_are_each_refused():
    n = 16
    portal = Portal(bad=set(range(n)))

    outcome = isolate_refusals(list(range(n)), portal.send)

    assert [record for record, _ in outcome.refused] == list(range(n))
    assert outcome.accepted == []
    assert portal.written == []
    # A full binary tree over n leaves: every batch and half-batch is tried once.
    assert outcome.requests == 2 * n - 1


@pytest.mark.parametrize(
    "error", [ValidationError, NotFoundError, ConflictError], ids=["400", "404", "409"]
)
def test_every_content_refusal_is_split(error):
    portal = Portal(bad={5}, error=error)

    outcome = isolate_refusals(list(range(8)), portal.send)

    [(record, refusal)] = outcome.refused
    assert record == 5
    assert isinstance(refusal, error)


@pytest.mark.parametrize(
    "error",
    [ServerError, RateLimitError, AuthError, OutcomeUnknownError],
    ids=["server-error", "rate-limited", "auth", "outcome-unknown"],
)
def test_other_errors_are_not_split(error):
    portal = Portal(bad={5}, error=error)

    with pytest.raises(error):
        isolate_refusals(list(range(100)), portal.send)

    assert portal.sent == [list(range(100))]


def test_an_error_that_is_not_a_refusal_stops_the_split_at_once():
    calls: list[list[int]] = []

    def send(batch: list[int]) -> None:
        calls.append(batch)
        if len(calls) == 1:
            raise ValidationError("bad input", status=400)
        raise ServerError("bad gateway", status=502)

    with pytest.raises(ServerError):
        isolate_refusals(list(range(10)), send)

    assert calls == [list(range(10)), list(range(5))]


def test_refusals_can_be_narrowed():
    portal = Portal(bad={2}, error=NotFoundError)

    with pytest.raises(NotFoundError):
        isolate_refusals(list(range(4)), portal.send, refusals=(ValidationError,))

    assert len(portal.sent) == 1


def test_each_split_is_reported_before_it_happens():
    portal = Portal(bad={6})
    splits: list[tuple[int, str | None]] = []

    isolate_refusals(
        list(range(8)), portal.send, on_split=lambda n, e: splits.append((n, e.category))
    )

    assert splits == [(8, "VALIDATION_ERROR"), (4, "VALIDATION_ERROR"), (2, "VALIDATION_ERROR")]


def test_the_caller_keeps_its_items():
    portal = Portal(bad={1})
    items = [0, 1, 2, 3]

    isolate_refusals(items, portal.send)

    assert items == [0, 1, 2, 3]
