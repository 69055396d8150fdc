"""When a failed HubSpot call is sent again, and when it is not: one pure decision.

- 429 `TEN_SECONDLY_ROLLING` (or no policy): wait `Retry-After` if sent (10 s at most, the
  window's length), else 1 s doubling to 10 s, plus jitter; the whole process holds that
  budget meanwhile. 429 `SECONDLY`: ~1 s.
  429 `DAILY`: `DailyLimitError` at once.
  (https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details)
- 5xx, 524, connection errors, timeouts: exponential backoff with equal jitter, 0.5 s doubling
  to 30 s. 423 (record locked during mass writes, ~2 s): at least 2 s. 477 (migration):
  `Retry-After`.
- A refused connection gets `CONNECT_MAX_ATTEMPTS` tries (a wrong `api_url` fails in ~2 s);
  everything else up to `MAX_ATTEMPTS`, and never more than `MAX_TOTAL_WAIT_S` of waiting.
- Other 4xx are not retried (a 401 under OAuth is the auth's to judge: `hubspot_api.auth`).
- A non-idempotent write (create, batch create, merge) is not resent once it may have reached
  HubSpot (a 5xx, a timeout, a connection dropped after sending): `OutcomeUnknownError` lets the
  caller reconcile first. 429/423/477 and refused connections are resent: nothing was applied.

`backoff` (the library) was weighed for this loop: its decorators take one wait generator per
exception class, while these waits depend on the answer (a 429's policy and `Retry-After`, a
423's floor), on whether the write may have been applied, and on a total budget; expressed
with it, each rule would become a callback around its generator. The policy is therefore this
one function, `next_wait`, and the client's loop only acts on it.
"""

from __future__ import annotations

import random

from hubspot_api.errors import (
    NOT_CONNECTED,
    REFUSED_BEFORE_ACTING,
    DailyLimitError,
    HubSpotAPIError,
    HubSpotConnectionError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
)

MAX_ATTEMPTS = 8
CONNECT_MAX_ATTEMPTS = 3
MAX_TOTAL_WAIT_S = 120.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
LOCKED_MIN_WAIT_S = 2.0
SECONDLY_WAIT_S = 1.0
SECONDLY_JITTER_S = 0.25
ROLLING_BASE_S = 1.0
ROLLING_CAP_S = 10.0
ROLLING_JITTER_S = 0.5
RETRY_AFTER_JITTER_S = 0.1

POLICY_SECONDLY = "SECONDLY"


def backoff_delay(attempt: int, rng: random.Random, *, base: float = BACKOFF_BASE_S) -> float:
    """Return the wait before retry `attempt` (1-based): equal jitter on a doubling step."""
    step = min(BACKOFF_CAP_S, base * 2.0 ** (attempt - 1))
    return step / 2 + rng.uniform(0, step / 2)


def retry_delay(error: HubSpotAPIError, attempt: int, rng: random.Random) -> float | None:
    """Return how long to wait before resending after `error`, or None to give up now.

    `attempt` is the number of the attempt that failed (1-based). Attempt counts and the
    total wait are enforced by the caller; this decides the kind of wait only.
    """
    if isinstance(error, DailyLimitError):
        return None
    if isinstance(error, RateLimitError):
        if error.retry_after is not None:
            # No window of HubSpot's but the daily one (a stop, above) lasts longer than ten
            # seconds: a longer Retry-After is waited out only that long.
            waited = min(error.retry_after, ROLLING_CAP_S)
            return waited + rng.uniform(0, RETRY_AFTER_JITTER_S)
        if error.policy_name == POLICY_SECONDLY:
            return SECONDLY_WAIT_S + rng.uniform(0, SECONDLY_JITTER_S)
        # A rolling window frees gradually as old calls age out; start near a second.
        step = min(ROLLING_CAP_S, ROLLING_BASE_S * 2.0 ** (attempt - 1))
        return step + rng.uniform(0, ROLLING_JITTER_S)
    if isinstance(error, ServerError | HubSpotConnectionError):
        delay = backoff_delay(attempt, rng)
        if error.status == 423:
            delay = max(delay, LOCKED_MIN_WAIT_S)
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay
    return None


def nothing_was_applied(error: HubSpotAPIError) -> bool:
    """Tell whether HubSpot certainly did not act on a request that failed with `error`."""
    if isinstance(error, RateLimitError | DailyLimitError):
        return True
    if isinstance(error, HubSpotConnectionError):
        return error.status is None and error.category == NOT_CONNECTED
    # 423 (locked) and 477 (migration) refuse before doing anything; other 5xx may not.
    return error.status in REFUSED_BEFORE_ACTING


def max_attempts(error: HubSpotAPIError) -> int:
    """Return how many attempts a call failing with `error` gets in all."""
    return CONNECT_MAX_ATTEMPTS if error.category == NOT_CONNECTED else MAX_ATTEMPTS


def next_wait(
    error: HubSpotAPIError,
    attempt: int,
    waited: float,
    *,
    idempotent: bool,
    rng: random.Random,
) -> float:
    """Return the seconds to wait before sending again after `error`, or raise to give up.

    `attempt` is the number of the attempt that failed (1-based) and `waited` the seconds
    already spent waiting for this call. Raises `OutcomeUnknownError` for a write that may have
    been applied and must not be resent, and `error` itself (noting the attempts when it was
    retriable) when the policy or the budget says stop.
    """
    delay = retry_delay(error, attempt, rng)
    if delay is not None and not idempotent and not nothing_was_applied(error):
        raise OutcomeUnknownError(
            f"{error.message}; the write may have been applied, so it was not resent",
            status=error.status,
            category=error.category,
            correlation_id=error.correlation_id,
            method=error.method,
            path=error.path,
        ) from None
    if delay is None:
        raise error
    if attempt >= max_attempts(error) or waited + delay > MAX_TOTAL_WAIT_S:
        error.message = f"{error.message} (gave up after {attempt} attempts)"
        error.args = (error.message,)
        raise error
    return delay
