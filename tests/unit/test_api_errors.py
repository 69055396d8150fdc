"""The status-to-class table, error bodies, and redaction."""

from __future__ import annotations

import json

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
    error_class_for,
    error_for_response,
    parse_retry_after,
    redact,
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
