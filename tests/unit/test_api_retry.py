"""Backoff decisions and write-safety classification, without any network."""

from __future__ import annotations

import random

import pytest
import requests
import urllib3.exceptions

from hubspot_api.errors import (
    CONNECTION_DROPPED,
    NOT_CONNECTED,
    AuthError,
    DailyLimitError,
    HubSpotConnectionError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from hubspot_api.retries import (
    BACKOFF_CAP_S,
    CONNECT_MAX_ATTEMPTS,
    LOCKED_MIN_WAIT_S,
    MAX_ATTEMPTS,
    MAX_TOTAL_WAIT_S,
    ROLLING_CAP_S,
    backoff_delay,
    next_wait,
    nothing_was_applied,
    retry_delay,
)
from hubspot_api.transport import describe_transport_error


@pytest.fixture
def rng() -> random.Random:
    return random.Random(42)


def test_backoff_doubles_with_equal_jitter_and_caps(rng):
    for attempt in range(1, 12):
        step = min(BACKOFF_CAP_S, 0.5 * 2 ** (attempt - 1))
        delay = backoff_delay(attempt, rng)
        assert step / 2 <= delay <= step


@pytest.mark.parametrize(
    ("error", "low", "high"),
    [
        (RateLimitError("x", status=429, policy_name="SECONDLY"), 1.0, 1.25),
        (RateLimitError("x", status=429, policy_name="TEN_SECONDLY_ROLLING"), 1.0, 1.5),
        (RateLimitError("x", status=429), 1.0, 1.5),
        (RateLimitError("x", status=429, policy_name="SECONDLY", retry_after=3), 3.0, 3.1),
        (ServerError("x", status=423), LOCKED_MIN_WAIT_S, LOCKED_MIN_WAIT_S),
        (ServerError("x", status=477, retry_after=5), 5.0, 5.0),
        (ServerError("x", status=502), 0.25, 0.5),
        (HubSpotConnectionError("x"), 0.25, 0.5),
    ],
    ids=[
        "secondly",
        "ten-secondly",
        "no-policy",
        "retry-after",
        "locked",
        "migration",
        "bad-gateway",
        "connection",
    ],
)
def test_first_retry_waits(error, low, high, rng):
    delay = retry_delay(error, 1, rng)
    assert delay is not None
    assert low <= delay <= high


def test_rolling_window_waits_grow_to_a_cap(rng):
    error = RateLimitError("x", status=429, policy_name="TEN_SECONDLY_ROLLING")
    delays = [retry_delay(error, n, rng) for n in range(1, 8)]
    assert delays[3] > delays[0]
    assert all(d is not None and d <= ROLLING_CAP_S + 0.5 for d in delays)


@pytest.mark.parametrize(
    "error",
    [
        DailyLimitError("x", status=429, policy_name="DAILY"),
        ValidationError("x", status=400),
        NotFoundError("x", status=404),
        AuthError("x", status=401),
    ],
    ids=["daily", "validation", "not-found", "auth"],
)
def test_no_retry(error, rng):
    assert retry_delay(error, 1, rng) is None


@pytest.mark.parametrize(
    ("error", "safe"),
    [
        (RateLimitError("x", status=429), True),
        (ServerError("x", status=423), True),
        (ServerError("x", status=477), True),
        (ServerError("x", status=500), False),
        (ServerError("x", status=504), False),
        (HubSpotConnectionError("x", category="NOT_CONNECTED"), True),
        (HubSpotConnectionError("x", category="CONNECTION_DROPPED"), False),
        (HubSpotConnectionError("x", category="TIMEOUT"), False),
    ],
    ids=["429", "423", "477", "500", "504", "refused", "dropped", "timeout"],
)
def test_what_certainly_was_not_applied(error, safe):
    assert nothing_was_applied(error) is safe


def _wrapped(inner: Exception) -> requests.exceptions.ConnectionError:
    outer = urllib3.exceptions.MaxRetryError(None, "/x", inner)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(outer)


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (_wrapped(urllib3.exceptions.NewConnectionError(None, "refused")), "NOT_CONNECTED"),
        (requests.exceptions.ConnectTimeout(), "NOT_CONNECTED"),
        (requests.exceptions.ReadTimeout(), "TIMEOUT"),
        (_wrapped(urllib3.exceptions.ProtocolError("Connection aborted")), "CONNECTION_DROPPED"),
        (requests.exceptions.ChunkedEncodingError(), "CONNECTION_DROPPED"),
    ],
    ids=["refused", "connect-timeout", "read-timeout", "aborted", "truncated"],
)
def test_transport_errors_are_classified(exc, category):
    assert describe_transport_error(exc)[0] == category


# -- the decision as a whole: wait, give up, or refuse to resend ---------------------------------
def test_next_wait_resends_until_the_attempts_run_out(rng):
    waits = [
        next_wait(ServerError("boom", status=502), n, 0.0, idempotent=True, rng=rng)
        for n in range(1, MAX_ATTEMPTS)
    ]
    assert all(w > 0 for w in waits)
    with pytest.raises(ServerError, match=f"gave up after {MAX_ATTEMPTS} attempts"):
        next_wait(ServerError("boom", status=502), MAX_ATTEMPTS, 0.0, idempotent=True, rng=rng)


def test_next_wait_gives_a_refused_connection_fewer_tries(rng):
    refused = HubSpotConnectionError("no", category=NOT_CONNECTED)
    assert next_wait(refused, CONNECT_MAX_ATTEMPTS - 1, 0.0, idempotent=False, rng=rng) > 0
    with pytest.raises(HubSpotConnectionError, match="gave up"):
        next_wait(refused, CONNECT_MAX_ATTEMPTS, 0.0, idempotent=False, rng=rng)


def test_next_wait_stops_at_the_total_wait_budget(rng):
    with pytest.raises(ServerError, match="gave up after 2 attempts"):
        next_wait(ServerError("x", status=503), 2, MAX_TOTAL_WAIT_S - 0.1, idempotent=True, rng=rng)


def test_next_wait_never_resends_a_write_that_may_have_landed(rng):
    dropped = HubSpotConnectionError("cut", category=CONNECTION_DROPPED, method="POST", path="/p")
    with pytest.raises(OutcomeUnknownError, match="may have been applied") as caught:
        next_wait(dropped, 1, 0.0, idempotent=False, rng=rng)
    assert (caught.value.method, caught.value.path) == ("POST", "/p")
    # Nothing was applied: a 429 or a locked record is resent even for a create.
    assert next_wait(RateLimitError("x", status=429), 1, 0.0, idempotent=False, rng=rng) > 0
    assert next_wait(ServerError("x", status=423), 1, 0.0, idempotent=False, rng=rng) > 0


def test_next_wait_raises_what_is_not_retried_as_it_is(rng):
    error = ValidationError("bad", status=400)
    with pytest.raises(ValidationError) as caught:
        next_wait(error, 1, 0.0, idempotent=True, rng=rng)
    assert caught.value is error
    assert "gave up" not in str(error)
