"""The client's transport against real servers: TLS failures, HubSpot's clock, unsendable
bodies, and secrets that a token call's error must never show."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest

from hubspot_api import (
    AuthError,
    Call,
    ServerError,
    TLSError,
    UnsendableBodyError,
    ValidationError,
)
from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS
from hubspot_api.errors import spellings
from hubspot_emulator.properties import ms_from_iso

OAUTH = {
    "access_token": None,
    "client_id": "emulator-client",
    "client_secret": "emulator-secret",
    "refresh_token": "emulator-refresh-token",
}


def _https(server: object) -> str:
    return str(server.url).replace("http://", "https://")


# -- TLS ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("auth", "call"),
    [
        pytest.param({}, Call.LIST_TICKETS, id="read"),
        pytest.param({}, Call.CREATE_TICKET, id="non-idempotent-write"),
        pytest.param(OAUTH, Call.LIST_TICKETS, id="oauth-token-call"),
    ],
)
def test_https_to_a_plain_http_server_fails_at_once_saying_tls(emulator, make_client, auth, call):
    server = emulator()
    client = make_client(server, api_url=_https(server), **auth)
    body = {"properties": {"subject": "x"}} if call is Call.CREATE_TICKET else None
    with pytest.raises(TLSError) as caught:
        client.call(call, json=body)
    message = str(caught.value)
    assert f"TLS handshake with 127.0.0.1:{server.port} failed" in message
    assert "the server does not speak TLS (is api_url http:// ?)" in message
    assert "\n" not in message
    # One attempt, one connection, no retry: the handshake would fail the same way again.
    assert client.stats.requests == 1
    assert client.stats.retries == 0
    assert server.stats()["connections"] == 1
    assert server.stats()["requests"] == 0


# -- HubSpot's clock ---------------------------------------------------------------------------
@pytest.mark.parametrize("offset_s", [-30.0, 0.0, 3600.0], ids=["behind", "same", "ahead"])
def test_server_now_follows_the_date_of_hubspot_answers(emulator, make_client, offset_s):
    server = emulator(clock_offset_s=offset_s)
    client = make_client(server)
    assert client.server_clock.offset_ms is None  # no answer yet: the local clock
    client.get_json(Call.LIST_TICKETS)
    true_now_ms = (time.time() + offset_s) * 1000
    assert abs(client.server_now_ms() - true_now_ms) <= SERVER_CLOCK_UNCERTAINTY_MS
    offset_ms = client.server_clock.offset_ms
    assert offset_ms is not None
    assert abs(offset_ms - offset_s * 1000) <= SERVER_CLOCK_UNCERTAINTY_MS


def test_error_answers_also_set_the_clock(emulator, make_client):
    server = emulator(clock_offset_s=-30.0)
    client = make_client(server)
    with pytest.raises(ValidationError):
        client.post_json(Call.CREATE_TICKET, {"properties": {"no_such_property": "x"}})
    offset_ms = client.server_clock.offset_ms
    assert offset_ms is not None
    assert abs(offset_ms + 30_000) <= SERVER_CLOCK_UNCERTAINTY_MS


def test_a_create_is_found_from_hubspot_time_when_the_machine_runs_ahead(emulator, make_client):
    # The machine's clock is 30 s ahead of HubSpot's: a window from the local clock misses the
    # create; one from server_now_ms, widened by the uncertainty, finds it.
    server = emulator(clock_offset_s=-30.0)
    client = make_client(server)
    pipeline = client.get_json(Call.LIST_PIPELINES)["results"][0]
    local_before_ms = time.time() * 1000
    since_ms = client.server_now_ms() - SERVER_CLOCK_UNCERTAINTY_MS
    created = client.post_json(
        Call.CREATE_TICKET,
        {"properties": {"subject": "skew", "hs_pipeline_stage": pipeline["stages"][0]["id"]}},
    )
    created_ms = ms_from_iso(created["properties"]["createdate"])
    assert created_ms < local_before_ms
    assert created_ms >= since_ms
    found = client.post_json(
        Call.SEARCH,
        {
            "filterGroups": [
                {"filters": [{"propertyName": "createdate", "operator": "GTE", "value": since_ms}]}
            ]
        },
    )
    assert [t["id"] for t in found["results"]] == [created["id"]]


# -- bodies JSON cannot carry -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "what"),
    [
        pytest.param(float("nan"), "nan", id="nan"),
        pytest.param(float("inf"), "inf", id="infinity"),
        pytest.param(float("-inf"), "-inf", id="minus-infinity"),
        pytest.param("bad \ud800", "lone UTF-16 surrogate", id="lone-surrogate"),
    ],
)
def test_bodies_json_cannot_carry_are_refused_before_sending(emulator, make_client, value, what):
    server = emulator()
    client = make_client(server)
    body = {"inputs": [{"properties": {"subject": "fine"}}, {"properties": {"amount": value}}]}
    with pytest.raises(UnsendableBodyError) as caught:
        client.post_json(Call.BATCH_CREATE, body)
    assert isinstance(caught.value, ValidationError)  # a bad value, as HubSpot's 400 would say
    assert "body.inputs[1].properties.amount" in str(caught.value)
    assert what in str(caught.value)
    assert client.stats.requests == 0
    assert server.stats()["requests"] == 0


# -- secrets in token errors -------------------------------------------------------------------
AWKWARD_SECRETS = [
    pytest.param('cs/+=&%"\\1', id="url-and-json-specials"),
    pytest.param("sp ace/é+ü=", id="space-and-non-ascii"),
]


def _leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    return [form for secret in secrets for form in spellings(secret) if form in text]


@pytest.mark.parametrize("secret", AWKWARD_SECRETS)
@pytest.mark.parametrize("status", [400, 502], ids=["4xx", "5xx"])
def test_a_token_error_that_echoes_the_form_shows_no_secret(
    echo_server, make_client, caplog, secret, status
):
    caplog.set_level(logging.DEBUG)
    url = echo_server(status)
    refresh = f"rt-{secret}"
    config = {**OAUTH, "client_secret": secret, "refresh_token": refresh}
    client = make_client(SimpleNamespace(url=url), fast=True, **config)
    with pytest.raises(AuthError if status == 400 else ServerError) as caught:
        client.get_json(Call.LIST_TICKETS)
    shown = f"{caught.value}\n{caught.value!r}\n{caplog.text}"
    assert "cannot process request body" in shown  # the echo did arrive
    assert _leaks(shown, (secret, refresh)) == []


@pytest.mark.parametrize("secret", AWKWARD_SECRETS)
def test_a_refused_refresh_shows_no_secret(emulator, make_client, caplog, secret):
    caplog.set_level(logging.DEBUG)
    server = emulator()
    client = make_client(server, **{**OAUTH, "client_secret": secret})
    with pytest.raises(AuthError) as caught:
        client.get_json(Call.LIST_TICKETS)
    assert "client secret does not match" in str(caught.value)
    assert _leaks(f"{caught.value}\n{caplog.text}", (secret,)) == []
