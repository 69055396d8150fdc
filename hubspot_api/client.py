"""The one HTTP client both connectors use: pooled, throttled, retrying, redacting.

Retry policy (all numbers are the named constants below):

- 429 `TEN_SECONDLY_ROLLING` (or no policy): wait `Retry-After` if sent, else 1 s doubling to
  10 s, plus jitter; the whole process holds that budget meanwhile. 429 `SECONDLY`: ~1 s.
  429 `DAILY`: `DailyLimitError` at once.
  (https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details)
- 5xx, 524, connection errors, timeouts: exponential backoff with equal jitter, 0.5 s doubling
  to 30 s. 423 (record locked during mass writes, ~2 s): at least 2 s. 477 (migration):
  `Retry-After`.
- A refused connection gets `CONNECT_MAX_ATTEMPTS` tries (a wrong `api_url` fails in ~2 s);
  everything else up to `MAX_ATTEMPTS`, and never more than `MAX_TOTAL_WAIT_S` of waiting.
- Other 4xx are not retried. A 401 under OAuth refreshes the token once and resends.
- A failed TLS handshake (`TLSError`: the server speaks no TLS, or its certificate is refused)
  is not transient and fails at once. A TLS connection cut mid-answer (an EOF) is a dropped
  connection like any other.
- A body that JSON cannot carry (NaN, Infinity, a lone UTF-16 surrogate) is refused before
  sending (`UnsendableBodyError`); HubSpot would refuse it anyway.
- A non-idempotent write (create, batch create, merge) is not resent once it may have reached
  HubSpot (a 5xx, a timeout, a connection dropped after sending): `OutcomeUnknownError` lets the
  caller reconcile first. 429/423/477 and refused connections are resent: nothing was applied.

Every answer's `Date` header also updates `ServerClock`, HubSpot's time as this client sees
it: `HubSpotClient.server_now_ms()` is the local clock corrected by the latest observed offset,
good to `SERVER_CLOCK_UNCERTAINTY_MS`. Callers that compare with HubSpot's own timestamps
(`createdate`, `hs_lastmodifieddate`) use it instead of the local clock, which may be off by
any amount.
"""

from __future__ import annotations

import contextlib
import email.utils
import json as jsonlib
import logging
import math
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_match_hostname import CertificateError

from hubspot_api.auth import BearerAuth, OAuthRefresher
from hubspot_api.config import HubSpotSettings
from hubspot_api.errors import (
    DailyLimitError,
    HubSpotAPIError,
    HubSpotConnectionError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TLSError,
    UnsendableBodyError,
    error_for_response,
    redact,
    shorten,
)
from hubspot_api.paths import Budget, Call, path_for
from hubspot_api.ratelimit import RateLimiter, credential_fingerprint, shared_limiter

T = TypeVar("T")
R = TypeVar("R")

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
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})

JSON = Any


def _default_user_agent() -> str:
    try:
        version = metadata.version("hubspot-tickets-connectors")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"hubspot-tickets-connectors/{version}"


DEFAULT_USER_AGENT = _default_user_agent()


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
            return error.retry_after + rng.uniform(0, RETRY_AFTER_JITTER_S)
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
        return error.status is None and error.category == _NOT_CONNECTED
    # 423 (locked) and 477 (migration) refuse before doing anything; other 5xx may not.
    return error.status in {423, 477}


_NOT_CONNECTED = "NOT_CONNECTED"
_DROPPED = "CONNECTION_DROPPED"
_TIMEOUT = "TIMEOUT"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Yield `exc` and everything in its chain: causes, contexts, `reason`s and arguments."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        reason = getattr(item, "reason", None)
        stack.extend([item.__cause__, item.__context__])
        if isinstance(reason, BaseException):
            stack.append(reason)
        stack.extend(a for a in item.args if isinstance(a, BaseException))


def _is_connect_failure(exc: BaseException) -> bool:
    """Tell whether `exc` happened before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return any(isinstance(item, urllib3.exceptions.NewConnectionError) for item in _causes(exc))


# A TLS connection that ends early (EOF, a reset under TLS) is a dropped connection, as transient
# as one without TLS; every other SSL error means the two ends cannot agree on TLS at all.
_TLS_TRANSPORT_ERRORS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
# OpenSSL's reasons when the peer answers in something that is not TLS (usually plain HTTP).
_NOT_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
    }
)


def tls_failure(exc: BaseException) -> str | None:
    """Return why a TLS handshake failed if `exc` comes from one, else None."""
    for item in _causes(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            detail = getattr(item, "verify_message", None) or "certificate verify failed"
            return f"the server's certificate was refused: {detail}"
        if isinstance(item, _TLS_TRANSPORT_ERRORS):
            return None
        if isinstance(item, ssl.SSLError):
            reason = getattr(item, "reason", None)
            if reason in _NOT_TLS_REASONS:
                return "the server does not speak TLS (is api_url http:// ?)"
            return str(reason or item.strerror or "SSL error").lower().replace("_", " ")
        if isinstance(item, CertificateError):  # a hostname mismatch
            return f"the server's certificate was refused: {shorten(str(item), 120)}"
    return None


def _describe_transport_error(exc: requests.exceptions.RequestException) -> tuple[str, str]:
    """Return (category, short reason) for a failure that produced no HTTP answer."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _NOT_CONNECTED, "connection timed out"
    if _is_connect_failure(exc):
        return _NOT_CONNECTED, "connection refused or host unreachable"
    if isinstance(exc, requests.exceptions.Timeout):
        return _TIMEOUT, "no answer before the timeout"
    return _DROPPED, "connection dropped before an answer arrived"


def _unsendable(value: Any, path: str = "body") -> str | None:
    """Return where in a JSON value lies something JSON cannot carry, and what, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} is {value!r}, which JSON cannot carry"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path} holds a lone UTF-16 surrogate, which is not valid Unicode"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _unsendable(key, f"{path} key") or _unsendable(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _unsendable(item, f"{path}[{index}]")
            if found:
                return found
    return None


def encode_json_body(value: JSON) -> bytes:
    """Serialise a request body as UTF-8 JSON, or raise `UnsendableBodyError`.

    Python's `json` writes NaN and Infinity, and escapes lone surrogates, none of which is JSON
    HubSpot accepts: such a body is refused here, naming where the bad value is.
    """
    try:
        return jsonlib.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        where = _unsendable(value) or "it holds a value JSON cannot carry"
        raise UnsendableBodyError(f"request body cannot be sent: {where}") from None


SERVER_CLOCK_UNCERTAINTY_MS = 1_000
"""How far `ServerClock.now_ms()` may be from HubSpot's clock: the `Date` header counts whole
seconds (half a second either way from the middle of that second) and an answer's time on the
wire adds up to half of its round trip. Widen any window compared with HubSpot's timestamps by
this much on each side."""


class ServerClock:
    """HubSpot's clock, estimated from the `Date` header of its answers; thread-safe."""

    def __init__(self, local_clock: Callable[[], float] = time.time) -> None:
        """Start with no observation: until the first answer, the local clock is used."""
        self._local = local_clock
        self._lock = threading.Lock()
        self._offset_s: float | None = None
        self._observed_at = -math.inf
        self._parsed: tuple[str, float] | None = None

    def local_time(self) -> float:
        """Return the local clock in epoch seconds (what `observe` expects)."""
        return self._local()

    def observe(self, date_header: str | None, sent_at: float, received_at: float) -> None:
        """Take the offset from one answer's `Date`, sent and received at these local times."""
        server_s = self._parse(date_header)
        if server_s is None:
            return
        # The server wrote the header somewhere in [sent_at, received_at] local time, during the
        # second it names: take the middle of both.
        offset = server_s + 0.5 - (sent_at + received_at) / 2
        with self._lock:
            if received_at >= self._observed_at:
                self._observed_at = received_at
                self._offset_s = offset

    def _parse(self, date_header: str | None) -> float | None:
        if not date_header:
            return None
        cached = self._parsed
        if cached is not None and cached[0] == date_header:
            return cached[1]
        try:
            moment = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None  # not an HTTP date: those are always GMT
        seconds = moment.timestamp()
        self._parsed = (date_header, seconds)
        return seconds

    @property
    def offset_ms(self) -> int | None:
        """Return HubSpot's clock minus the local one, or None before any answer was seen."""
        offset = self._offset_s
        return None if offset is None else round(offset * 1000)

    def now_ms(self) -> int:
        """Return HubSpot's current time in epoch milliseconds, as well as it is known."""
        return int((self._local() + (self._offset_s or 0.0)) * 1000)


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
        self._session = requests.Session()
        adapter = HTTPAdapter(
            # One connection more than the slots, for token requests.
            pool_connections=2,
            pool_maxsize=settings.max_concurrency + 1,
            max_retries=0,
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        self._inflight = threading.BoundedSemaphore(settings.max_concurrency)
        self._auth: BearerAuth | OAuthRefresher
        if settings.access_token is not None:
            self._auth = BearerAuth(settings.access_token)
            fingerprint = credential_fingerprint(settings.access_token)
        else:
            assert settings.client_id is not None
            assert settings.client_secret is not None
            assert settings.refresh_token is not None
            self._auth = OAuthRefresher(
                settings.client_id,
                settings.client_secret,
                settings.refresh_token,
                self._post_token_form,
                on_refresh_token=on_refresh_token,
            )
            fingerprint = credential_fingerprint(settings.client_id, settings.refresh_token)
        self.limiter = limiter or shared_limiter(
            settings.api_url,
            fingerprint,
            settings.requests_per_10_seconds,
            settings.search_requests_per_second,
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
        self._session.close()

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
        return self._auth.refresh_token if isinstance(self._auth, OAuthRefresher) else None

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

    # -- requests ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        call_or_path: Call | str,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON = None,
        idempotent: bool | None = None,
        **path_params: str | int,
    ) -> requests.Response:
        """Send one logical request with throttling and retries; return the 2xx response.

        `call_or_path` is a `Call` (its path built for the API version from `path_params`) or
        a path starting with "/". `idempotent` overrides whether a possibly-applied write may
        be resent; by default creates, batch creates, merges and raw POSTs may not.
        """
        return self._request(
            method,
            call_or_path,
            params=params,
            json=json,
            idempotent=idempotent,
            path_params=path_params,
        )

    def _request(
        self,
        method: str,
        call_or_path: Call | str,
        *,
        params: Mapping[str, Any] | None,
        json: JSON,
        idempotent: bool | None,
        path_params: Mapping[str, str | int],
    ) -> requests.Response:
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
        return self._execute(method, path, params=params, json=json, idempotent=safe, budget=budget)

    def call(
        self,
        call: Call,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON = None,
        idempotent: bool | None = None,
        **path_params: str | int,
    ) -> JSON:
        """Send `call` with its own method and return the parsed JSON body (None if empty)."""
        response = self._request(
            call.method,
            call,
            params=params,
            json=json,
            idempotent=idempotent,
            path_params=path_params,
        )
        return _parse_json(response)

    def get_json(
        self,
        call_or_path: Call | str,
        *,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> JSON:
        """GET and return the parsed JSON body."""
        return _parse_json(
            self._request(
                "GET",
                call_or_path,
                params=params,
                json=None,
                idempotent=None,
                path_params=path_params,
            )
        )

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
        response = self._request(
            "POST",
            call_or_path,
            params=params,
            json=json,
            idempotent=idempotent,
            path_params=path_params,
        )
        return _parse_json(response)

    def patch_json(
        self,
        call_or_path: Call | str,
        json: JSON = None,
        *,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> JSON:
        """PATCH `json` and return the parsed JSON body."""
        response = self._request(
            "PATCH",
            call_or_path,
            params=params,
            json=json,
            idempotent=None,
            path_params=path_params,
        )
        return _parse_json(response)

    def put_json(
        self,
        call_or_path: Call | str,
        json: JSON = None,
        *,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> JSON:
        """PUT `json` and return the parsed JSON body (None if empty)."""
        response = self._request(
            "PUT", call_or_path, params=params, json=json, idempotent=None, path_params=path_params
        )
        return _parse_json(response)

    def delete(
        self,
        call_or_path: Call | str,
        *,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> None:
        """DELETE; HubSpot answers 204."""
        self._request(
            "DELETE",
            call_or_path,
            params=params,
            json=None,
            idempotent=None,
            path_params=path_params,
        )

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
        return self._execute(
            "POST",
            path,
            data=dict(form),
            idempotent=True,
            budget=Budget.NONE,
            authenticate=False,
            raise_client_errors=False,
        )

    def _execute(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool,
        budget: Budget,
        authenticate: bool = True,
        raise_client_errors: bool = True,
    ) -> requests.Response:
        url = self.settings.api_url + path
        query = _encode_params(params)
        # Encoded once, before any wait: a body JSON cannot carry fails here, unsent, and
        # retries resend the same bytes.
        body = None if json is None else encode_json_body(json)
        waited = 0.0
        refreshed_after_401 = False
        attempt = 0
        while True:
            attempt += 1
            token_used: str | None = None
            try:
                response, token_used = self._send_once(
                    method,
                    url,
                    query=query,
                    body=body,
                    data=data,
                    budget=budget,
                    authenticate=authenticate,
                )
            except requests.exceptions.RequestException as exc:
                tls_reason = tls_failure(exc)
                if tls_reason is not None:
                    # Not transient: the same handshake would fail the same way every time.
                    raise TLSError(
                        f"TLS handshake with {self._host_port()} failed: {tls_reason}",
                        category="TLS",
                        method=method,
                        path=path,
                    ) from None
                category, reason = _describe_transport_error(exc)
                error: HubSpotAPIError = HubSpotConnectionError(
                    f"{'cannot reach' if category == _NOT_CONNECTED else 'no answer from'} "
                    f"{self.settings.api_url}: {reason}",
                    category=category,
                    method=method,
                    path=path,
                )
            else:
                status = response.status_code
                if status < 400:
                    if budget is Budget.STANDARD:
                        self.limiter.observe_headers(response.headers)
                    return response
                error = self._error(response, method, path)
                if (
                    status == 401
                    and authenticate
                    and isinstance(self._auth, OAuthRefresher)
                    and token_used is not None
                    and not refreshed_after_401
                ):
                    # HubSpot says a 401 is no signal to refresh; one refresh is still cheap
                    # insurance against a clock that ran ahead of `expires_in`.
                    refreshed_after_401 = True
                    self._auth.invalidate(token_used)
                    continue
                if not raise_client_errors and status < 500 and status not in {423, 429, 477}:
                    return response

            delay = retry_delay(error, attempt, self._rng)
            if delay is not None and not idempotent and not nothing_was_applied(error):
                raise OutcomeUnknownError(
                    f"{error.message}; the write may have been applied, so it was not resent",
                    status=error.status,
                    category=error.category,
                    correlation_id=error.correlation_id,
                    method=method,
                    path=path,
                ) from None
            limit = CONNECT_MAX_ATTEMPTS if error.category == _NOT_CONNECTED else MAX_ATTEMPTS
            if delay is None or attempt >= limit or waited + delay > MAX_TOTAL_WAIT_S:
                if delay is not None:
                    error.message = f"{error.message} (gave up after {attempt} attempts)"
                    error.args = (error.message,)
                raise error
            if isinstance(error, RateLimitError):
                # Hold the whole process: other threads would meet the same 429.
                self.limiter.pause(budget, delay)
            self.stats.count_retry()
            self.logger.warning(
                "HubSpot call failed, retrying in %.1f s (attempt %d of %d): %s",
                delay,
                attempt + 1,
                limit,
                self.redact(str(error)),
            )
            self._sleep(delay)
            waited += delay

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        query: list[tuple[str, str]] | None,
        body: bytes | None,
        data: Mapping[str, str] | None,
        budget: Budget,
        authenticate: bool,
    ) -> tuple[requests.Response, str | None]:
        token_used: str | None = None
        headers: dict[str, str] = {}
        if body is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        # Token requests skip the connection slots: they are sent by a thread that already
        # holds one, while the other holders wait for the new token.
        with self._inflight if authenticate else contextlib.nullcontext():
            # Book the rate slot only once a connection is free, so a slot is never spent
            # late (a late send would crowd the server's window).
            throttle_wait = self.limiter.acquire(budget)
            if authenticate:
                # Take the token after every wait, so it is as fresh as it can be on arrival.
                token_used = self._auth.token()
                headers["Authorization"] = f"Bearer {token_used}"
            started = time.monotonic()
            sent_at = self.server_clock.local_time()
            status: int | None = None
            try:
                response = self._session.request(
                    method,
                    url,
                    params=query,
                    data=body if body is not None else data,
                    headers=headers,
                    timeout=self.settings.request_timeout,
                    allow_redirects=False,
                )
                status = response.status_code
            finally:
                self.stats.count(status, throttle_wait)
        self.server_clock.observe(
            response.headers.get("Date"), sent_at, self.server_clock.local_time()
        )
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "%s %s -> %s in %.0f ms",
                method,
                self.redact(url.split("?", 1)[0]),
                status,
                (time.monotonic() - started) * 1000,
            )
        return response, token_used

    def _host_port(self) -> str:
        parts = urlsplit(self.settings.api_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}"

    def _error(self, response: requests.Response, method: str, path: str) -> HubSpotAPIError:
        return error_for_response(response, self.secrets(), method=method, path=path)


def _encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    """Encode query parameters the way HubSpot reads them: lists comma-joined, bools lowercase."""
    if not params:
        return None
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        elif isinstance(value, list | tuple | set | frozenset):
            if value:
                out.append((key, ",".join(str(v) for v in value)))
        else:
            out.append((key, str(value)))
    return out


def _parse_json(response: requests.Response) -> JSON:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise HubSpotAPIError(
            "answer is not JSON: " + shorten(response.text, 120),
            status=response.status_code,
        ) from None


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
