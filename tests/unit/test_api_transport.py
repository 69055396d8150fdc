"""Pure parts of the client's transport: the server clock, TLS failure reasons, body encoding."""

from __future__ import annotations

import email.utils
import json
import ssl
import threading

import pytest
import requests
import urllib3.exceptions

from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS, ServerClock
from hubspot_api.errors import UnsendableBodyError, ValidationError
from hubspot_api.transport import encode_json_body, tls_failure

T0 = 1_800_000_000.0  # a whole second, in epoch seconds


class LocalClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _date(epoch_s: float) -> str:
    return email.utils.formatdate(epoch_s, usegmt=True)


# -- ServerClock --------------------------------------------------------------------------------
def test_without_an_answer_the_local_clock_is_used():
    clock = ServerClock(LocalClock(T0))
    assert clock.offset_ms is None
    assert clock.now_ms() == T0 * 1000


@pytest.mark.parametrize("offset_s", [-30.0, 0.0, 7200.0], ids=["behind", "same", "ahead"])
def test_the_offset_comes_from_the_date_header(offset_s):
    local = LocalClock(T0)
    clock = ServerClock(local)
    # Sent at T0, answered 0.2 s later; HubSpot's clock read T0 + offset + 0.1 meanwhile.
    clock.observe(_date(T0 + offset_s), T0, T0 + 0.2)
    assert clock.offset_ms == round((offset_s + 0.5 - 0.1) * 1000)
    local.now = T0 + 60
    true_now_ms = (T0 + 60 + offset_s + 0.1) * 1000
    assert abs(clock.now_ms() - true_now_ms) <= SERVER_CLOCK_UNCERTAINTY_MS


def test_the_latest_answer_wins_even_when_observed_out_of_order():
    clock = ServerClock(LocalClock(T0))
    clock.observe(_date(T0 - 30), T0 + 9.5, T0 + 10)
    clock.observe(_date(T0 + 100), T0 + 4.5, T0 + 5)  # older answer, reported later
    assert clock.offset_ms == round((T0 - 30 + 0.5 - (T0 + 9.75)) * 1000)


@pytest.mark.parametrize(
    "header",
    [None, "", "not a date", "Mon, 32 Foo 2026 99:99:99 GMT", "Tue, 01 Dec 2026 11:00:00"],
    ids=["absent", "empty", "garbage", "impossible", "no-zone"],
)
def test_unusable_headers_are_ignored(header):
    clock = ServerClock(LocalClock(T0))
    clock.observe(header, T0, T0)
    assert clock.offset_ms is None


def test_observing_from_many_threads_is_safe():
    clock = ServerClock(LocalClock(T0))
    errors: list[BaseException] = []

    def observe(index: int) -> None:
        try:
            for step in range(500):
                at = T0 + index * 1000 + step
                clock.observe(_date(at - 30), at, at)
                clock.now_ms()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=observe, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert clock.offset_ms == -29_500


# -- TLS failures -------------------------------------------------------------------------------
def _ssl_error(cls: type[ssl.SSLError], reason: str | None, message: str) -> ssl.SSLError:
    error = cls(1, message)
    error.reason = reason
    return error


def _as_requests_raises(cause: BaseException) -> requests.exceptions.RequestException:
    """Wrap an SSL error the way urllib3 and requests hand it to the client."""
    wrapped = urllib3.exceptions.SSLError(cause)
    retry = urllib3.exceptions.MaxRetryError(None, "/crm/v3/objects/tickets", wrapped)
    return requests.exceptions.SSLError(retry)


def test_a_server_speaking_no_tls_is_named():
    cause = _ssl_error(ssl.SSLError, "WRONG_VERSION_NUMBER", "[SSL: WRONG_VERSION_NUMBER]")
    assert tls_failure(_as_requests_raises(cause)) == (
        "the server does not speak TLS (is api_url http:// ?)"
    )


def test_a_refused_certificate_is_named():
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "self-signed certificate"
    assert tls_failure(_as_requests_raises(cause)) == (
        "the server's certificate was refused: self-signed certificate"
    )


@pytest.mark.parametrize(
    "cls", [ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError], ids=lambda c: c.__name__
)
def test_a_tls_connection_cut_short_is_a_dropped_connection(cls):
    assert tls_failure(_as_requests_raises(cls(8, "EOF occurred in violation of protocol"))) is None


def test_plain_connection_errors_are_not_tls():
    assert tls_failure(requests.exceptions.ConnectionError("reset")) is None


# -- request bodies -----------------------------------------------------------------------------
def test_bodies_are_utf8_json_without_ascii_escapes():
    body = {"properties": {"subject": "café \U0001f600", "n": 1.5}}
    encoded = encode_json_body(body)
    assert "café".encode() in encoded
    assert json.loads(encoded) == body


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"a": [1, float("nan")]}, "body.a[1] is nan"),
        ({"a": {"b": float("inf")}}, "body.a.b is inf"),
        ({"a": "x\udc00"}, "body.a holds a lone UTF-16 surrogate"),
        ({"k\ud800": 1}, "body key holds a lone UTF-16 surrogate"),
    ],
    ids=["nan-in-list", "infinity-in-object", "lone-surrogate", "lone-surrogate-key"],
)
def test_unsendable_bodies_name_the_bad_value(body, where):
    with pytest.raises(UnsendableBodyError) as caught:
        encode_json_body(body)
    assert isinstance(caught.value, ValidationError)
    assert caught.value.status is None
    assert where in str(caught.value)
