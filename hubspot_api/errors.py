"""Every exception this layer raises, grouped by what the caller should do about it.

```
HubSpotError                      base of everything below
├── ConfigError                   settings are wrong; fix the config, nothing was sent
└── HubSpotAPIError               HubSpot (or the network in front of it) refused a call
    ├── AuthError                 401/403, or the OAuth token endpoint refused the credentials
    ├── ValidationError           400: the request itself is wrong (bad property, bad value, ...)
    │   └── UnsendableBodyError   the body cannot be written as JSON (NaN, Infinity): caught
    │                             before sending, so nothing was sent; never retried
    ├── NotFoundError             404
    ├── ConflictError             409 (e.g. a duplicate value of a unique property)
    ├── UriTooLongError           414: too many properties in a GET query; chunk them
    ├── DailyLimitError           429 DAILY: the account's daily budget is spent; fatal for the run
    │   └── DailyReserveError     what is left of it is the reserve kept for other integrations
    │                             (`daily_request_reserve`): the run stops before the next call
    ├── OutcomeUnknownError       a non-idempotent write may or may not have been applied
    │   └── UnusableAnswerError   a 2xx that is not the call's documented answer, or one larger
    │                             than `max_answer_mb` (`answers`): never resent
    ├── TLSError                  the TLS handshake failed (no TLS at api_url, a bad certificate);
    │                             not transient, so never retried
    └── RetriableError            transient; the client already retried and gave up
        ├── RateLimitError        429 TEN_SECONDLY_ROLLING / SECONDLY
        ├── ServerError           5xx (incl. Cloudflare's 524), 423 locked, 477 migration
        └── HubSpotConnectionError  connection refused/reset, or a timeout (no status)
```

`error_for_response` is the one table from an HTTP answer to a class. Every message is one
line, cut to `MAX_MESSAGE_CHARS` and passed through `redact` with the client's secrets, which
blanks each secret in every spelling a server, a proxy or a log may give it (`spellings`).
See https://developers.hubspot.com/docs/api/error-handling for HubSpot's error body.
"""

from __future__ import annotations

import base64
import difflib
import functools
import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import requests

MAX_MESSAGE_CHARS = 300
REDACTED = "[REDACTED]"
# Secrets shorter than this are not redacted: replacing "a" everywhere would mangle text and
# nobody uses a token that short.
_MIN_SECRET_LEN = 4


_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
# Base64 and hex forms are looked for only for secrets this long: their encoded cores are then
# at least 8 characters, which no ordinary text holds by chance.
_MIN_ENCODED_SECRET_LEN = 8


def json_kind(value: Any) -> str:
    """Name a parsed JSON value's type the way a user reads it ("a list", "a whole number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return "a number"


def json_error_at(exc: json.JSONDecodeError, where: str) -> str:
    """Return the decoder's complaint with its place: `Expecting value at character 7`.

    Some of its messages end with "at" already ("Invalid control character at", "Unterminated
    string starting at"), since the decoder adds the place itself: "at" is said once.
    """
    return f"{exc.msg.removesuffix(' at')} at {where}"


def encoded_cores(secret: str) -> set[str]:
    """Return the base64 (standard and URL-safe) and hex text any encoding of `secret` holds.

    Base64 turns every 3 bytes into 4 characters, so a secret inside a longer value (Basic auth's
    `client_id:client_secret`, a JSON blob) is spelled one of three ways depending on where it
    starts: for each, the characters fixed by the secret's bytes alone are kept, so the secret is
    found whatever surrounds it (one or two edge characters may stay, which hold less than a byte
    of it). Hex keeps byte boundaries: the secret's own hex, in either case.
    """
    raw = secret.encode("utf-8", "surrogatepass")
    if len(raw) < _MIN_ENCODED_SECRET_LEN:
        return set()
    cores = {raw.hex(), raw.hex().upper()}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = (8 * offset + 5) // 6  # the first character made of the secret's bits only
        end = (8 * (offset + len(raw))) // 6  # past the last one
        core = encoded[start:end]
        cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


@functools.lru_cache(maxsize=256)
def spellings(secret: str) -> tuple[str, ...]:
    """Return the ways `secret` can appear in text, longest first.

    A secret reaches error text raw, or as it was encoded on the way: URL-encoded in a form
    body or query (`quote`, `quote_plus`, with upper- or lower-case hex, or encoded twice when a
    URL rides inside another), JSON-escaped inside a quoted string, Python-escaped by `repr`
    of a str or of its UTF-8 bytes, HTML-escaped in a proxy's error page, or echoed back base64-
    or hex-encoded, alone or inside a longer value (`encoded_cores`).
    """
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote_plus(secret, safe="/"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    forms.add(quote(quote_plus(secret), safe=""))
    forms |= encoded_cores(secret)
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), form) for form in list(forms)}
    return tuple(sorted(forms, key=lambda form: (-len(form), form)))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret, in any of its `spellings`, with a marker."""
    wanted = {s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET_LEN}
    if not wanted:
        return text
    # Longest spellings first, across all secrets: a secret inside another one's encoded form
    # must not leave a remainder of the longer one behind.
    forms = sorted({form for s in wanted for form in spellings(s)}, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def closest(value: str, known: Iterable[str]) -> str | None:
    """Return the name in `known` closest to a misspelt `value`, or None when none is close.

    The one spelling hint of every message that names an unknown setting, property, pipeline,
    stage or option ("did you mean ...?"). Letter case does not count (`hgih` is close to
    `HIGH`), and the answer is never `value` itself: a hint that repeats what was typed helps
    no one. Of names equal but for case, the first in `known` is the one given.
    """
    spelled: dict[str, str] = {}
    for name in known:
        if name != value:
            spelled.setdefault(name.casefold(), name)
    found = difflib.get_close_matches(value.casefold(), list(spelled), n=1, cutoff=0.6)
    return spelled[found[0]] if found else None


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest name in `known`, or "" when none is close."""
    hint = closest(value, known)
    return f" (did you mean {hint!r}?)" if hint is not None else ""


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Collapse `text` onto one line and cut it to `limit` characters."""
    one_line = " ".join(text.split())
    if len(one_line) <= limit:
        return one_line
    return one_line[: limit - 3] + "..."


class HubSpotError(Exception):
    """Base of every error raised by `hubspot_api`."""


class ConfigError(HubSpotError):
    """The settings are invalid; raised before any request is sent."""


class HubSpotAPIError(HubSpotError):
    """HubSpot answered with an error, or no usable answer arrived."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        sub_category: str | None = None,
        context: Mapping[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
        policy_name: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Build the error; `message` must already be short and redacted."""
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.sub_category = sub_category
        self.context = dict(context) if context else {}
        self.errors = list(errors) if errors else []
        self.policy_name = policy_name
        self.retry_after = retry_after
        self.method = method
        self.path = path

    def __str__(self) -> str:
        """Render one line: what was called, the status and category, HubSpot's message."""
        parts: list[str] = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(str(self.status))
        if self.category:
            parts.append(self.category)
        if self.policy_name:
            parts.append(self.policy_name)
        head = " ".join(parts)
        tail = f" (correlationId {self.correlation_id})" if self.correlation_id else ""
        return f"{head}: {self.message}{tail}" if head else f"{self.message}{tail}"


class AuthError(HubSpotAPIError):
    """The credentials were refused (401/403) or could not be refreshed."""


class ValidationError(HubSpotAPIError):
    """HubSpot refused the request as invalid (400)."""


class UnsendableBodyError(ValidationError):
    """The request body cannot be written as JSON (NaN or Infinity); nothing was sent."""


class NotFoundError(HubSpotAPIError):
    """The object or endpoint does not exist (404)."""


class ConflictError(HubSpotAPIError):
    """The write conflicts with existing data (409)."""


class UriTooLongError(HubSpotAPIError):
    """The URL was too long (414); send fewer properties per GET."""


class DailyLimitError(HubSpotAPIError):
    """The account's daily request budget is spent; retrying within the run is pointless."""


class DailyReserveError(DailyLimitError):
    """Only the reserve kept for other integrations is left of the daily budget: stop now."""


class OutcomeUnknownError(HubSpotAPIError):
    """A non-idempotent write may have been applied: reconcile before sending it again."""


class UnusableAnswerError(OutcomeUnknownError):
    """A 2xx answer that cannot be used: not the call's documented shape, or too large.

    What the call did is unknown: it is neither counted as done nor sent again.
    """


class TLSError(HubSpotAPIError):
    """The TLS handshake failed: the server speaks no TLS, or its certificate was refused."""


class RetriableError(HubSpotAPIError):
    """A transient failure; raised only once the client's retries are exhausted."""


class RateLimitError(RetriableError):
    """HubSpot's ten-secondly or secondly budget was exceeded (429)."""


class ServerError(RetriableError):
    """HubSpot or its edge failed (5xx, 524), or the record was locked (423, 477)."""


class HubSpotConnectionError(RetriableError):
    """No HTTP answer arrived: connection refused or reset, or a timeout."""


# The categories of a `HubSpotConnectionError`: only the first is sure to have sent nothing.
NOT_CONNECTED = "NOT_CONNECTED"
CONNECTION_DROPPED = "CONNECTION_DROPPED"
TIMEOUT = "TIMEOUT"


# One table from status to class. 429 and 5xx are decided in `error_class_for`.
_STATUS_TABLE: dict[int, type[HubSpotAPIError]] = {
    400: ValidationError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    414: UriTooLongError,
    # 423: the record is locked during mass writes (~2 s); 477: portal migration in progress.
    423: ServerError,
    477: ServerError,
}

DAILY_POLICY = "DAILY"
# Statuses under 500 that HubSpot answers before acting on a request (locked, migrating): resent.
REFUSED_BEFORE_ACTING = frozenset({423, 477})
# Every status under 500 that is retried.
RETRIED_CLIENT_STATUSES = REFUSED_BEFORE_ACTING | {429}


def error_class_for(status: int, policy_name: str | None = None) -> type[HubSpotAPIError]:
    """Return the exception class for an HTTP status (and a 429's `policyName`)."""
    if status == 429:
        return DailyLimitError if policy_name == DAILY_POLICY else RateLimitError
    if status >= 500:
        return ServerError
    return _STATUS_TABLE.get(status, HubSpotAPIError)


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds of a `Retry-After` header given in seconds, or None."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: HubSpot does not send those; ignore rather than guess
    return seconds if seconds >= 0 else None


def _error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_for_response(
    response: requests.Response,
    secrets: Iterable[str | None] = (),
    *,
    method: str | None = None,
    path: str | None = None,
) -> HubSpotAPIError:
    """Build the exception for an error answer; every field of the body is optional."""
    body = _error_body(response)
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = response.text or response.reason or "no message"
    secret_list = list(secrets)
    policy = body.get("policyName")
    policy_name = policy if isinstance(policy, str) else None
    cls = error_class_for(response.status_code, policy_name)
    errors = body.get("errors")
    context = body.get("context")
    category = body.get("category") or body.get("errorType") or body.get("status")
    if category == "error":  # `status` is the literal "error" in the standard body
        category = body.get("errorType")
    return cls(
        shorten(redact(message, secret_list)),
        status=response.status_code,
        category=category if isinstance(category, str) else None,
        correlation_id=_str_or_none(body.get("correlationId")),
        sub_category=_str_or_none(body.get("subCategory")),
        context=context if isinstance(context, dict) else None,
        errors=errors if isinstance(errors, list) else None,
        policy_name=policy_name,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        method=method,
        path=path,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
