"""The one HTTP client both connectors use: pooled, throttled, retrying, redacting.

A call goes through four parts, each in its own module: the rate limiter books a slot
(`ratelimit`), the auth gives a token (`auth`), the transport sends once (`transport`), and on a
failure `retries.next_wait` decides whether and when to send again; this module is the loop that
joins them and the methods callers use. The client hands back parsed JSON, never a response.

Every answer's `Date` header also updates `ServerClock` (`clock`), HubSpot's time as this client
sees it: `HubSpotClient.server_now_ms()` is good to `SERVER_CLOCK_UNCERTAINTY_MS`.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from types import TracebackType
from typing import Any, Self, TypeVar

import requests

from hubspot_api.answers import check_answer
from hubspot_api.auth import OAuthRefresher, auth_for
from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS, ServerClock
from hubspot_api.config import HubSpotSettings
from hubspot_api.errors import (
    RETRIED_CLIENT_STATUSES,
    DailyReserveError,
    HubSpotAPIError,
    HubSpotError,
    RateLimitError,
    error_for_response,
    redact,
)
from hubspot_api.paths import Budget, Call, path_for
from hubspot_api.ratelimit import RateLimiter, daily_reserve, shared_limiter
from hubspot_api.retries import max_attempts, next_wait
from hubspot_api.transport import (
    Outgoing,
    Transport,
    encode_json_body,
    encode_params,
    parse_json,
    transport_error,
)

__all__ = ["SERVER_CLOCK_UNCERTAINTY_MS", "ClientStats", "HubSpotClient", "map_concurrent"]

T = TypeVar("T")
R = TypeVar("R")
JSON = Any

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _default_user_agent() -> str:
    try:
        version = metadata.version("hubspot-tickets-connectors")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"hubspot-tickets-connectors/{version}"


DEFAULT_USER_AGENT = _default_user_agent()


@dataclass
class ClientStats:
    """Counters of one client, for logs, tests and benchmarks."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    throttle_wait_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, status: int | None, throttle_wait: float) -> None:
        """Record one sent request and its answer's status (None: no answer)."""
        with self._lock:
            self.requests += 1
            self.throttle_wait_s += throttle_wait
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 429:
                    self.rate_limited += 1

    def count_retry(self) -> None:
        """Record one resend."""
        with self._lock:
            self.retries += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as plain values."""
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "throttle_wait_s": round(self.throttle_wait_s, 3),
                "statuses": dict(self.statuses),
            }


class HubSpotClient:
    """A thread-safe HubSpot client: one per connector run, shared by all its threads."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        logger: logging.Logger | None = None,
        limiter: RateLimiter | None = None,
        on_refresh_token: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Open a pooled session; nothing is sent until the first call.

        `limiter` defaults to the process-wide one for this account. `on_refresh_token` is
        told when HubSpot returns a new OAuth refresh token.
        """
        self.settings = settings
        self.logger = logger or logging.getLogger("hubspot_api")
        self.stats = ClientStats()
        self.server_clock = ServerClock()
        self._rng = rng or random.Random()
        self._sleep = sleep
        # Set by `halt`: every later call is refused with it.
        self._halted: HubSpotError | None = None
        self._auth, fingerprint = auth_for(settings, self._post_token_form, on_refresh_token)
        self.limiter = limiter or shared_limiter(
            settings.api_url,
            fingerprint,
            settings.requests_per_10_seconds,
            settings.search_requests_per_second,
            across_processes=settings.shared_rate_limit,
        )
        self._transport = Transport(
            settings.api_url,
            max_concurrency=settings.max_concurrency,
            timeout=settings.request_timeout,
            user_agent=user_agent,
            limiter=self.limiter,
            clock=self.server_clock,
            on_sent=self.stats.count,
            logger=self.logger,
            redact=self.redact,
            max_answer_bytes=settings.max_answer_mb * 2**20,
        )

    # -- context and identity ---------------------------------------------------------------
    def __enter__(self) -> Self:
        """Return the client itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the session."""
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()

    def __repr__(self) -> str:
        """Show where the client points, never its credentials."""
        return f"HubSpotClient({self.settings.api_url!r}, {self.settings.api_version!r})"

    @property
    def api_version(self) -> str:
        """Return the configured API version ("v3" or a dated one)."""
        return self.settings.api_version

    @property
    def refresh_token(self) -> str | None:
        """Return the current OAuth refresh token (to persist), or None for a bearer token."""
        return self._auth.refresh_token

    @property
    def oauth(self) -> OAuthRefresher | None:
        """Return the OAuth refresher, or None when a bearer token is configured."""
        return self._auth if isinstance(self._auth, OAuthRefresher) else None

    def secrets(self) -> tuple[str, ...]:
        """Return every value that must never reach a log or an exception."""
        return (*self.settings.secrets, *self._auth.secrets)

    def redact(self, text: str) -> str:
        """Hide this client's secrets in `text`."""
        return redact(text, self.secrets())

    def server_now_ms(self) -> int:
        """Return HubSpot's current time in epoch ms, from the `Date` of its latest answer.

        The local clock until the first answer arrives. Good to `SERVER_CLOCK_UNCERTAINTY_MS`:
        compare it with HubSpot's timestamps (e.g. `createdate >= before`), never the local
        clock, and widen such windows by that much.
        """
        return self.server_clock.now_ms()

    def path(self, call: Call, **path_params: str | int) -> str:
        """Return the path of `call` in this client's API version."""
        return path_for(call, self.settings.api_version, **path_params)

    # -- calls ------------------------------------------------------------------------------
    def call(
        self,
        call: Call,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON = None,
        idempotent: bool | None = None,
        **path_params: str | int,
    ) -> JSON:
        """Send `call` with its own method and return the parsed JSON body (None if empty).

        `idempotent` overrides whether a possibly-applied write may be resent; by default
        creates, batch creates and merges may not.
        """
        return self.send(call.method, call, params, json, idempotent, path_params)

    def get_json(
        self,
        call_or_path: Call | str,
        *,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> JSON:
        """GET and return the parsed JSON body."""
        return self.send("GET", call_or_path, params, None, None, path_params)

    def post_json(
        self,
        call_or_path: Call | str,
        json: JSON = None,
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        **path_params: str | int,
    ) -> JSON:
        """POST `json` and return the parsed JSON body (None if empty)."""
        return self.send("POST", call_or_path, params, json, idempotent, path_params)

    def send(  # noqa: PLR0917 - the parts of one request, passed on by every method
        self,
        method: str,
        call_or_path: Call | str,
        params: Mapping[str, Any] | None,
        json: JSON,
        idempotent: bool | None,
        path_params: Mapping[str, str | int],
    ) -> JSON:
        """Send one logical request with throttling and retries; return its parsed JSON body.

        `call_or_path` is a `Call` (its path built for the API version from `path_params`) or
        a path starting with "/". By default raw POSTs are not resent once possibly applied.
        A `Call`'s answer must be the one HubSpot documents for it (`answers.check_answer`).
        """
        method = method.upper()
        if isinstance(call_or_path, Call):
            spec = call_or_path.spec
            if spec.method != method:
                raise ValueError(f"{call_or_path.name} is sent with {spec.method}, not {method}")
            path = self.path(call_or_path, **path_params)
            budget = spec.budget
            safe = spec.idempotent if idempotent is None else idempotent
        else:
            if path_params:
                raise ValueError("path parameters need a Call, not a literal path")
            if not call_or_path.startswith("/"):
                raise ValueError(f"path must start with '/': {call_or_path!r}")
            path = call_or_path
            budget = Budget.SEARCH if path.endswith("/search") else Budget.STANDARD
            safe = (method in _IDEMPOTENT_METHODS) if idempotent is None else idempotent
        body = None if json is None else encode_json_body(json)
        request = Outgoing(method, path, encode_params(params), body, None, budget, safe)
        response = self._execute(request)
        answer = parse_json(response)
        if isinstance(call_or_path, Call):
            inputs = json.get("inputs") if isinstance(json, Mapping) else None
            check_answer(
                call_or_path,
                answer,
                method=method,
                path=path,
                status=response.status_code,
                inputs=len(inputs) if isinstance(inputs, list) else None,
                empty=not response.content,
            )
        return answer

    def map_concurrent(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        max_workers: int | None = None,
    ) -> Iterator[R]:
        """Apply `fn` to each item on worker threads; see `map_concurrent`."""
        return map_concurrent(fn, items, max_workers=max_workers or self.settings.max_concurrency)

    # -- internals --------------------------------------------------------------------------
    def _post_token_form(self, form: Mapping[str, str]) -> requests.Response:
        path = path_for(Call.TOKEN, self.settings.api_version)
        request = Outgoing(
            "POST",
            path,
            None,
            None,
            dict(form),
            Budget.NONE,
            idempotent=True,
            authenticate=False,
            raise_client_errors=False,
        )
        return self._execute(request)

    def halt(self, error: HubSpotError) -> None:
        """Refuse every later call with `error`'s message (the run must send nothing more).

        A target whose outcomes can no longer be recorded stops its other threads this way
        before their next write.
        """
        self._halted = error

    def _check_daily_reserve(self) -> None:
        """Refuse to send once only the daily reserve is left (`daily_request_reserve`)."""
        left = self.limiter.daily_remaining
        if left is None:
            return
        reserve = daily_reserve(self.limiter.daily_limit, self.settings.daily_request_reserve)
        if left > reserve:
            return
        why = (
            f"{left:,} calls are left today and daily_request_reserve keeps {reserve:,} for "
            "other integrations"
            if reserve
            else "no call is left today"
        )
        raise DailyReserveError(
            f"stopped before HubSpot's daily limit: {why}; what was read or written so far is "
            "checkpointed, and the next run goes on from there"
        )

    def _execute(self, request: Outgoing) -> requests.Response:
        """Send `request` until it succeeds or `retries.next_wait` gives up."""
        halted = self._halted
        if halted is not None:
            raise type(halted)(str(halted))
        if request.authenticate:
            self._check_daily_reserve()
        token = self._auth.token if request.authenticate else None
        waited = 0.0
        refreshed = False
        for attempt in itertools.count(1):
            try:
                response, token_used = self._transport.send(request, token)
            except requests.exceptions.RequestException as exc:
                error = transport_error(exc, request, self.settings.api_url)
                if error.category == "TLS":
                    # Not transient: the same handshake would fail the same way every time.
                    raise error from None
            else:
                status = response.status_code
                if status < 400:
                    if request.budget is Budget.STANDARD:
                        self.limiter.observe_headers(response.headers)
                    return response
                error = error_for_response(
                    response, self.secrets(), method=request.method, path=request.path
                )
                if status == 401 and token_used is not None and not refreshed:
                    refreshed = True
                    if self._auth.unauthorized(token_used):
                        continue
                if not request.raise_client_errors and not _retried(status):
                    # The token call: the auth reads its refusals itself.
                    return response
            delay = next_wait(error, attempt, waited, idempotent=request.idempotent, rng=self._rng)
            self._wait_to_retry(error, request.budget, delay, attempt)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_to_retry(
        self, error: HubSpotAPIError, budget: Budget, delay: float, attempt: int
    ) -> None:
        if isinstance(error, RateLimitError):
            # Hold the whole process: other threads would meet the same 429.
            self.limiter.pause(budget, delay)
        self.stats.count_retry()
        self.logger.warning(
            "HubSpot call failed, retrying in %.1f s (attempt %d of %d): %s",
            delay,
            attempt + 1,
            max_attempts(error),
            self.redact(str(error)),
        )
        self._sleep(delay)


def _retried(status: int) -> bool:
    return status >= 500 or status in RETRIED_CLIENT_STATUSES


def map_concurrent(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    max_workers: int,
) -> Iterator[R]:
    """Apply `fn` to each item on up to `max_workers` threads; yield results in input order.

    Items are consumed lazily, at most `2 * max_workers` ahead of the consumer, so a long
    generator of items does not pile up in memory. The first exception raised by `fn`
    propagates when its result is reached; work not yet started is cancelled.
    """
    if max_workers <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hubspot") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * max_workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
