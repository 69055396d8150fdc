"""The wire under the client: one pooled `requests` session, and what its failures mean.

`Transport.send` sends one request once (no retries: `hubspot_api.retries` decides those) inside
a connection slot, after the rate limiter's wait, with a token taken after every wait. Failures
without an HTTP answer become `HubSpotConnectionError` with a category saying whether anything
may have been sent; a failed TLS handshake is not transient and becomes `TLSError` (a TLS
connection cut mid-answer is a dropped connection like any other). A body JSON cannot carry
(NaN, Infinity, a lone UTF-16 surrogate) is refused before sending (`UnsendableBodyError`).

`requests`' timeout bounds each socket read, not an answer. Here the whole answer must end within
`request_timeout` of being sent: a head still arriving then is cut off (`_HeadWatch`) and a body
is read in pieces against the same deadline (`read_body`), both ending as a timeout. A body over
`max_answer_mb` once decoded (a huge page, a gzip bomb) fails its call (`UnusableAnswerError`).
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
import urllib3.response
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_match_hostname import CertificateError

from hubspot_api.clock import ServerClock
from hubspot_api.errors import (
    CONNECTION_DROPPED,
    NOT_CONNECTED,
    TIMEOUT,
    HubSpotAPIError,
    HubSpotConnectionError,
    TLSError,
    UnsendableBodyError,
    UnusableAnswerError,
    shorten,
)
from hubspot_api.paths import Budget
from hubspot_api.ratelimit import RateLimiter

JSON = Any
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# The most a body is read in one piece (decoded): a piece is what one socket read brings, so a
# trickle is seen between pieces, and a gzip bomb cannot grow more than this past the cap.
READ_PIECE_BYTES = 64 * 1024
DEFAULT_MAX_ANSWER_BYTES = 256 * 2**20
ANSWER_TOO_SLOW = "the answer did not end within request_timeout"
# A wait for the rate budget at least this long is said in one line: while the budget is held
# (by a 429's pause, or by other processes of the same app) no record moves, and a run that
# says nothing for that long looks stuck.
LONG_THROTTLE_WAIT_S = 5.0


@dataclass(frozen=True)
class Outgoing:
    """One logical request, as every attempt sends it again."""

    method: str
    path: str
    query: list[tuple[str, str]] | None
    # Encoded once, before any wait: a body JSON cannot carry fails unsent, and retries resend
    # the same bytes. `form` is for the OAuth token call only.
    body: bytes | None
    form: Mapping[str, str] | None
    budget: Budget
    idempotent: bool
    authenticate: bool = True
    # False for the token call: its 4xx answers are the auth's to read.
    raise_client_errors: bool = True


# The monotonic time by which the answer this thread awaits must have ended (`Transport.send`).
_answer_deadline = threading.local()


class _HeadWatch:
    """Shut a socket down at this thread's deadline unless the answer's head arrived first.

    A read timeout bounds each socket read, so a server trickling its status line and headers
    would hold a call for ever; shutting the socket down ends the read at once. The lock makes
    sure the timer never touches the connection once `disarm` ran.
    """

    def __init__(self, sock: socket.socket | None) -> None:
        """Arm the timer (nothing to arm without a deadline or a socket)."""
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        self._sock = sock
        deadline: float | None = getattr(_answer_deadline, "at", None)
        self._timer: threading.Timer | None = None
        if deadline is not None and sock is not None:
            self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._cut)
            self._timer.daemon = True
            self._timer.start()

    def _cut(self) -> None:
        with self._lock:
            if self._done or self._sock is None:
                return
            self.fired = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> None:
        """Stop the timer; from now on it never touches the socket."""
        with self._lock:
            self._done = True
        if self._timer is not None:
            self._timer.cancel()


class _QuietCut(logging.Filter):
    """Drop urllib3's warning about the half-read headers of an answer cut at its deadline."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that one: the cut is reported as a timeout instead."""
        watch = getattr(_answer_deadline, "watch", None)
        cut = watch is not None and watch.fired
        return not (cut and str(record.msg).startswith("Failed to parse headers"))


logging.getLogger("urllib3.connection").addFilter(_QuietCut())


def _head_within_deadline(connection: Any, read_head: Callable[[], Any]) -> Any:
    """Return `read_head()`, the answer's head, or raise `TimeoutError` at the deadline."""
    watch = _HeadWatch(connection.sock)
    _answer_deadline.watch = watch
    try:
        response = read_head()
    finally:
        watch.disarm()
    if watch.fired:
        response.close()
        raise TimeoutError(ANSWER_TOO_SLOW)
    return response


class _HeadWithinDeadline(urllib3.connection.HTTPConnection):
    """A connection whose answer's head must arrive before the thread's deadline."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        """Read the status line and headers, cut off at the deadline."""
        response: urllib3.response.HTTPResponse = _head_within_deadline(self, super().getresponse)
        return response


class _HeadWithinDeadlineTLS(urllib3.connection.HTTPSConnection):
    """The TLS twin of `_HeadWithinDeadline`."""

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        """Read the status line and headers, cut off at the deadline."""
        response: urllib3.response.HTTPResponse = _head_within_deadline(self, super().getresponse)
        return response


class _Pool(urllib3.HTTPConnectionPool):
    """Plain HTTP connections (the emulator's loopback) with the head deadline."""

    ConnectionCls = _HeadWithinDeadline


class _TLSPool(urllib3.HTTPSConnectionPool):
    """TLS connections with the head deadline."""

    ConnectionCls = _HeadWithinDeadlineTLS


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


def describe_transport_error(exc: requests.exceptions.RequestException) -> tuple[str, str]:
    """Return (category, short reason) for a failure that produced no HTTP answer."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NOT_CONNECTED, "connection timed out"
    if _is_connect_failure(exc):
        return NOT_CONNECTED, "connection refused or host unreachable"
    if isinstance(exc, requests.exceptions.Timeout):
        if ANSWER_TOO_SLOW in str(exc):
            return TIMEOUT, ANSWER_TOO_SLOW
        return TIMEOUT, "no answer before the timeout"
    return CONNECTION_DROPPED, "connection dropped before an answer arrived"


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


def transport_error(
    exc: requests.exceptions.RequestException, request: Outgoing, api_url: str
) -> HubSpotAPIError:
    """Return the error for a request that got no HTTP answer (`TLSError` when TLS failed)."""
    tls_reason = tls_failure(exc)
    if tls_reason is not None:
        return TLSError(
            f"TLS handshake with {host_port(api_url)} failed: {tls_reason}",
            category="TLS",
            method=request.method,
            path=request.path,
        )
    category, reason = describe_transport_error(exc)
    what = "cannot reach" if category == NOT_CONNECTED else "no answer from"
    return HubSpotConnectionError(
        f"{what} {api_url}: {reason}", category=category, method=request.method, path=request.path
    )


def host_port(api_url: str) -> str:
    """Return `host:port` of a URL, the port filled in from the scheme."""
    parts = urlsplit(api_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
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


def read_body(response: requests.Response, deadline: float, max_bytes: int) -> None:
    """Read a streamed answer's body, decoded, into `response.content`, in bounded pieces.

    `requests`' timeout bounds each socket read, not the answer: a server trickling a byte a
    second would hold the call for ever. Each piece is what one read returns (never waiting to
    fill a buffer), no read waits past `deadline` (monotonic), and the whole must end before it,
    else `requests.exceptions.ReadTimeout`, a timeout like any other. A body larger than `max_bytes`
    once decoded (a huge page, a gzip bomb) raises `UnusableAnswerError` as soon as it passes
    the cap, so memory stays near the cap.
    """
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    # Restored after the body: the connection goes back to the pool, and its next request is
    # sent with the timeout urllib3 set.
    per_read = sock.gettimeout() if sock is not None else None
    pieces: list[bytes] = []
    size = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise requests.exceptions.ReadTimeout(ANSWER_TOO_SLOW)
            if sock is not None:
                # No read waits past the deadline.
                sock.settimeout(max(0.001, min(left, per_read or left)))
            piece = raw.read1(READ_PIECE_BYTES, decode_content=True)
            if not piece:
                break
            size += len(piece)
            if size > max_bytes:
                raise UnusableAnswerError(
                    f"the answer is larger than {max_bytes / 2**20:g} MB once decoded "
                    "(max_answer_mb); nothing of it was used",
                    status=response.status_code,
                    method=response.request.method,
                    path=urlsplit(response.request.url or "").path,
                )
            pieces.append(piece)
    except requests.exceptions.RequestException:
        raise  # the deadline's own timeout (requests' exceptions are OSErrors too)
    except urllib3.exceptions.ReadTimeoutError as exc:
        late = time.monotonic() >= deadline
        raise requests.exceptions.ReadTimeout(ANSWER_TOO_SLOW if late else exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError) as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(per_read)
    # What `Response.content` would have read itself, had the body not been streamed.
    response._content = b"".join(pieces)
    response._content_consumed = True  # type: ignore[attr-defined]


def parse_json(response: requests.Response) -> JSON:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise HubSpotAPIError(
            "answer is not JSON: " + shorten(response.text, 120),
            status=response.status_code,
        ) from None


class Transport:
    """A pooled session with at most `max_concurrency` requests in flight; thread-safe."""

    def __init__(
        self,
        api_url: str,
        *,
        max_concurrency: int,
        timeout: float | tuple[float, float],
        user_agent: str,
        limiter: RateLimiter,
        clock: ServerClock,
        on_sent: Callable[[int | None, float], None],
        logger: logging.Logger,
        redact: Callable[[str], str],
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        """Open the session; `on_sent(status, throttle_wait)` counts every request sent.

        Each answer must arrive whole within `timeout` seconds of being sent (a timeout pair
        allows their sum), and hold at most `max_answer_bytes` once decoded (`read_body`).
        """
        self.api_url = api_url
        self.limiter = limiter
        self._timeout = timeout
        self._answer_seconds = timeout if isinstance(timeout, int | float) else sum(timeout)
        self._max_answer_bytes = max_answer_bytes
        self._clock = clock
        self._on_sent = on_sent
        self._logger = logger
        self._redact = redact
        self._session = requests.Session()
        adapter = HTTPAdapter(
            # One connection more than the slots, for token requests.
            pool_connections=2,
            pool_maxsize=max_concurrency + 1,
            max_retries=0,
        )
        adapter.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        self._inflight = threading.BoundedSemaphore(max_concurrency)
        self._waits_said_until = -math.inf  # monotonic; one line per long wait, not per thread
        self._waits_lock = threading.Lock()

    def _say_wait(self, budget: Budget, seconds: float) -> None:
        """Say a long wait for the rate budget once, so a waiting run does not look stuck."""
        if seconds < LONG_THROTTLE_WAIT_S:
            return
        now = time.monotonic()
        with self._waits_lock:
            if now < self._waits_said_until:
                return
            self._waits_said_until = now + seconds
        self._logger.info(
            "waiting %.0f s for HubSpot's rate limit (%s budget)", seconds, budget.value
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def send(
        self, request: Outgoing, token: Callable[[], str] | None
    ) -> tuple[requests.Response, str | None]:
        """Send `request` once; return the answer and the token it carried (None: no auth).

        Raises `requests` exceptions for failures without an answer.
        """
        headers: dict[str, str] = {}
        if request.body is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        token_used: str | None = None
        # Token requests skip the connection slots: they are sent by a thread that already
        # holds one, while the other holders wait for the new token.
        with self._inflight if token is not None else contextlib.nullcontext():
            # Book the rate slot only once a connection is free, so a slot is never spent
            # late (a late send would crowd the server's window).
            throttle_wait = self.limiter.acquire(request.budget, before_wait=self._say_wait)
            if token is not None:
                # Take the token after every wait, so it is as fresh as it can be on arrival.
                token_used = token()
                headers["Authorization"] = f"Bearer {token_used}"
            started = time.monotonic()
            sent_at = self._clock.local_time()
            status: int | None = None
            _answer_deadline.at = started + self._answer_seconds
            try:
                response = self._session.request(
                    request.method,
                    self.api_url + request.path,
                    params=request.query,
                    data=request.body if request.body is not None else request.form,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                    # The body is read here, against a deadline and a size cap (`read_body`).
                    stream=True,
                )
                status = response.status_code
            except requests.exceptions.RequestException as exc:
                if time.monotonic() >= _answer_deadline.at and not _is_connect_failure(exc):
                    raise requests.exceptions.ReadTimeout(ANSWER_TOO_SLOW) from exc
                raise
            finally:
                self._on_sent(status, throttle_wait)
            try:
                read_body(response, started + self._answer_seconds, self._max_answer_bytes)
            finally:
                response.close()
        self._clock.observe(response.headers.get("Date"), sent_at, self._clock.local_time())
        if self._logger.isEnabledFor(logging.DEBUG):
            elapsed_ms = (time.monotonic() - started) * 1000
            where = self._redact(self.api_url + request.path)
            self._logger.debug("%s %s -> %s in %.0f ms", request.method, where, status, elapsed_ms)
        return response, token_used
