"""The status-to-class table, error bodies, and redaction."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest
import requests

from hubspot_api.errors import (
    MAX_MESSAGE_CHARS,
    REDACTED,
    AuthError,
    ConflictError,
    DailyLimitError,
    HubSpotAPIError,
    NotFoundError,
    RateLimitError,
    RetriableError,
    ServerError,
    UriTooLongError,
    ValidationError,
    closest,
    error_class_for,
    error_for_response,
    parse_retry_after,
    redact,
    spellings,
)


def make_response(
    status: int, body: object = None, headers: dict | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {})
    response.reason = "Reason"
    return response


@pytest.mark.parametrize(
    ("status", "policy", "cls"),
    [
        (400, None, ValidationError),
        (401, None, AuthError),
        (403, None, AuthError),
        (404, None, NotFoundError),
        (409, None, ConflictError),
        (414, None, UriTooLongError),
        (423, None, ServerError),
        (429, "TEN_SECONDLY_ROLLING", RateLimitError),
        (429, "SECONDLY", RateLimitError),
        (429, None, RateLimitError),
        (429, "DAILY", DailyLimitError),
        (477, None, ServerError),
        (500, None, ServerError),
        (502, None, ServerError),
        (524, None, ServerError),
        (418, None, HubSpotAPIError),
    ],
    ids=str,
)
def test_status_table(status, policy, cls):
    assert error_class_for(status, policy) is cls


def test_daily_limit_is_not_retriable_and_rate_limit_is():
    assert not issubclass(DailyLimitError, RetriableError)
    assert issubclass(RateLimitError, RetriableError)
    assert not issubclass(AuthError, RetriableError)


def test_standard_error_body_is_read():
    response = make_response(
        409,
        {
            "status": "error",
            "message": "Ticket already exists",
            "correlationId": "abc-123",
            "category": "CONFLICT",
            "subCategory": "DUPLICATE",
            "context": {"id": ["1"]},
            "errors": [{"message": "dup"}],
        },
    )
    error = error_for_response(response, method="POST", path="/crm/v3/objects/tickets")
    assert isinstance(error, ConflictError)
    assert error.category == "CONFLICT"
    assert error.sub_category == "DUPLICATE"
    assert error.correlation_id == "abc-123"
    assert error.context == {"id": ["1"]}
    assert error.errors == [{"message": "dup"}]
    assert str(error) == (
        "POST /crm/v3/objects/tickets 409 CONFLICT: Ticket already exists (correlationId abc-123)"
    )


def test_rate_limit_body_and_retry_after():
    response = make_response(
        429,
        {
            "status": "error",
            "message": "secondly",
            "errorType": "RATE_LIMIT",
            "policyName": "SECONDLY",
        },
        {"Retry-After": "2"},
    )
    error = error_for_response(response)
    assert isinstance(error, RateLimitError)
    assert error.policy_name == "SECONDLY"
    assert error.category == "RATE_LIMIT"
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    "body",
    [b"<html>bad gateway</html>", b"", b"[1,2]", b'{"message": 5}'],
    ids=["html", "empty", "array", "odd-message"],
)
def test_any_body_gives_an_error(body):
    error = error_for_response(make_response(502, body))
    assert isinstance(error, ServerError)
    assert error.status == 502
    assert error.message


def test_long_bodies_are_cut_to_one_line():
    message = "line one\nline two " + "x" * 5000
    error = error_for_response(make_response(400, {"message": message}))
    assert len(error.message) <= MAX_MESSAGE_CHARS
    assert "\n" not in str(error)


def test_secrets_in_error_bodies_are_redacted():
    error = error_for_response(
        make_response(401, {"message": "token pat-secret-999 is invalid"}),
        ["pat-secret-999"],
    )
    assert "pat-secret-999" not in str(error)
    assert REDACTED in str(error)


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("Bearer abcdef", ["abcdef"], f"Bearer {REDACTED}"),
        ("abcdef and abcdefgh", ["abcdef", "abcdefgh"], f"{REDACTED} and {REDACTED}"),
        ("nothing here", ["secret"], "nothing here"),
        ("a b c", ["a", None, ""], "a b c"),
    ],
    ids=["one", "overlapping-longest-first", "absent", "too-short-or-empty"],
)
def test_redact(text, secrets, expected):
    assert redact(text, secrets) == expected


SECRETS = [
    pytest.param("ab/cd+ef=gh&ij", id="slash-plus-equals-ampersand"),
    pytest.param('p%20q"r\\s', id="percent-quote-backslash"),
    pytest.param("sec ret\nwith\tspace", id="whitespace-and-newline"),
    pytest.param("clé/à+é=", id="non-ascii"),
    pytest.param("<tag>&'quote'", id="html-and-single-quote"),
    pytest.param("plain-secret-1234", id="plain"),
]


def _encodings(secret: str) -> dict[str, str]:
    return {
        "raw": secret,
        "quote": quote(secret, safe=""),
        "quote-keep-slash": quote(secret),
        "quote_plus": quote_plus(secret),
        "form-body": urlencode({"client_id": "app", "client_secret": secret}),
        "lower-hex": quote_plus(secret).lower(),
        "double-encoded": quote(quote_plus(secret), safe=""),
        "json": json.dumps({"client_secret": secret}),
        "json-unicode": json.dumps({"client_secret": secret}, ensure_ascii=False),
        "repr": repr({"client_secret": secret}),
        "repr-bytes": repr(secret.encode()),
        "html": html.escape(secret),
        "base64": _b64(secret),
        "base64-url-safe": base64.urlsafe_b64encode(secret.encode()).decode(),
        "base64-unpadded": _b64(secret).rstrip("="),
        "basic-auth": "Basic " + _b64(f"app:{secret}"),
        "basic-auth-long-id": "Basic " + _b64(f"client-42:{secret}"),
        "base64-in-blob": _b64(f"user=me;token={secret};n=1"),
        "hex": secret.encode().hex(),
        "hex-upper": secret.encode().hex().upper(),
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    "encoding",
    [
        "raw",
        "quote",
        "quote-keep-slash",
        "quote_plus",
        "form-body",
        "lower-hex",
        "double-encoded",
        "json",
        "json-unicode",
        "repr",
        "repr-bytes",
        "html",
        "base64",
        "base64-url-safe",
        "base64-unpadded",
        "basic-auth",
        "basic-auth-long-id",
        "base64-in-blob",
        "hex",
        "hex-upper",
    ],
)
def test_redact_blanks_every_spelling(secret, encoding):
    text = f"refused: {_encodings(secret)[encoding]} (end)"
    out = redact(text, [secret])
    assert REDACTED in out
    for form in spellings(secret):
        assert form not in out
    assert out.endswith(" (end)")


@pytest.mark.parametrize("secret", SECRETS)
def test_error_message_never_shows_a_secret_sent_back_in_a_form(secret):
    body = urlencode(
        {"grant_type": "refresh_token", "client_secret": secret, "refresh_token": "r3fr3sh/+="}
    )
    error = error_for_response(
        make_response(400, {"message": f"bad request body: {body}"}), [secret, "r3fr3sh/+="]
    )
    for one in (secret, "r3fr3sh/+="):
        for form in spellings(one):
            assert form not in str(error)


def test_spellings_are_longest_first_and_include_the_raw_secret():
    forms = spellings("a/b+c=d&e")
    assert "a/b+c=d&e" in forms
    assert [len(f) for f in forms] == sorted((len(f) for f in forms), reverse=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        (None, None),
        ("", None),
        ("-1", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
    ids=["int", "fraction", "absent", "empty", "negative", "http-date"],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize(
    ("value", "known", "hint"),
    [
        ("hgih", ["LOW", "HIGH", "High"], "HIGH"),
        ("High", ["High", "HIGH"], "HIGH"),
        ("dry_runn", ["dry_run", "max_rejects"], "dry_run"),
        ("teal", ["High"], None),
    ],
    ids=["any-case-first-spelling", "never-the-typed-text", "misspelt", "nothing-close"],
)
def test_the_closest_name_ignores_case_and_is_never_what_was_typed(value, known, hint):
    assert closest(value, known) == hint
