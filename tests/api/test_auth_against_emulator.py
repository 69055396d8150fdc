"""OAuth refresh mid-run, clear failures for bad settings, and secrets kept out of every output."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from hubspot_api import (
    AuthError,
    Call,
    ConfigError,
    HubSpotConnectionError,
    HubSpotError,
    NotFoundError,
    iter_list,
)
from hubspot_api.paths import Budget
from hubspot_emulator.config import DEFAULT_TOKEN

CLIENT_ID = "emulator-client"
CLIENT_SECRET = "emulator-secret"
REFRESH_TOKEN = "emulator-refresh-token"


def oauth(**extra):
    return {
        "access_token": None,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        **extra,
    }


def _count(server, status: str) -> int:
    return sum(s.get(status, 0) for s in server.stats()["by_route"].values())


@pytest.mark.parametrize("version", ["v3", "2026-03"], ids=["oauth-v1", "oauth-dated"])
def test_tokens_expiring_mid_run_are_refreshed_ahead(emulator, make_client, version):
    server = emulator(tickets=30, token_lifetime_s=0.6)
    client = make_client(server, api_version=version, **oauth())
    live = sum(1 for t in server.portal.snapshot() if not t.get("archived"))
    deadline = time.monotonic() + 2.0
    reads = 0
    while time.monotonic() < deadline:
        assert len(list(iter_list(client, Call.LIST_TICKETS, {"limit": 10}))) == live
        reads += 1
        time.sleep(0.05)
    assert client.oauth is not None
    assert client.oauth.refresh_count >= 3
    assert _count(server, "401") == 0  # refreshed before expiry, never after
    assert client.refresh_token == REFRESH_TOKEN
    assert reads > 5


def test_the_token_is_taken_after_the_rate_wait(emulator, make_client):
    # A token read before a long throttle wait would arrive expired and earn a 401.
    server = emulator(tickets=3, token_lifetime_s=0.6)
    client = make_client(server, **oauth())
    client.get_json(Call.LIST_TICKETS)
    client.limiter.pause(Budget.STANDARD, 1.0)
    client.get_json(Call.LIST_TICKETS)
    assert client.oauth is not None
    assert client.oauth.refresh_count == 2
    assert _count(server, "401") == 0


def test_a_refresh_needs_no_free_connection_slot(emulator, make_client):
    # The refreshing thread holds the only slot; the token request must not wait for one.
    server = emulator(tickets=3, token_lifetime_s=0.3)
    client = make_client(server, max_concurrency=1, **oauth())
    done: list[int] = []

    def read_twice() -> None:
        client.get_json(Call.LIST_TICKETS)
        time.sleep(0.4)
        client.get_json(Call.LIST_TICKETS)
        done.append(2)

    worker = threading.Thread(target=read_twice, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert done == [2], "the client deadlocked waiting for a connection slot"
    assert client.oauth is not None
    assert client.oauth.refresh_count == 2


def test_a_401_with_a_stale_token_refreshes_once(emulator, make_client):
    server = emulator(tickets=3)
    client = make_client(server, **oauth())
    client.get_json(Call.LIST_TICKETS)
    refresher = client.oauth
    assert refresher is not None
    refresher._access_token = "revoked-by-the-portal"  # a token HubSpot no longer knows
    client.get_json(Call.LIST_TICKETS)
    assert refresher.refresh_count == 2
    assert _count(server, "401") == 1


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"access_token": "not-the-right-token"}, "401"),
        (oauth(client_secret="wrong-secret"), "BAD_CLIENT_ID"),
        (oauth(refresh_token="unknown-refresh"), "BAD_REFRESH_TOKEN"),
    ],
    ids=["bad-private-token", "bad-client-secret", "bad-refresh-token"],
)
def test_bad_credentials_give_one_clear_line(emulator, make_client, config, fragment):
    server = emulator(tickets=1)
    client = make_client(server, **config)
    with pytest.raises(AuthError) as info:
        client.get_json(Call.LIST_TICKETS)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert len(message) < 400


def test_plain_http_to_a_remote_host_is_refused(emulator, make_client):
    server = emulator(tickets=1)
    with pytest.raises(ConfigError, match="plain http://"):
        make_client(server, api_url="http://api.example.com")


def test_an_unreachable_api_url_fails_quickly_with_one_line(make_client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there

    class Nowhere:
        url = f"http://127.0.0.1:{port}"

    client = make_client(Nowhere())
    with pytest.raises(HubSpotConnectionError) as info:
        client.get_json(Call.LIST_TICKETS)
    assert client.stats.retries <= 2, "an unreachable host is given up on after a few tries"
    message = str(info.value)
    assert "cannot reach" in message
    assert "gave up after 3 attempts" in message
    assert "\n" not in message


def test_canary_secrets_never_reach_logs_or_errors(emulator, make_client, caplog, capsys):
    canary_secret = "canary-client-secret-7f3a"
    canary_refresh = "canary-refresh-token-91bc"
    canary_token = "canary-private-token-55de"
    server = emulator(
        tickets=60,
        seed=9,
        oauth_clients={CLIENT_ID: canary_secret},
        refresh_tokens=(canary_refresh,),
        token_lifetime_s=0.5,
        fault_rate=0.3,
        drop_rate=0.1,
    )
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    client = make_client(
        server, fast=True, **oauth(client_secret=canary_secret, refresh_token=canary_refresh)
    )
    for _ in range(3):
        list(iter_list(client, Call.LIST_TICKETS, {"limit": 20}))
        time.sleep(0.2)
    access_tokens = {client.oauth.access_token} if client.oauth else set()
    with pytest.raises(NotFoundError) as missing:
        client.get_json(Call.READ_TICKET, ticket_id="404404404")
    texts += [str(missing.value), repr(missing.value), repr(client), repr(client.settings)]

    wrong = make_client(
        server,
        fast=True,
        **oauth(client_secret=canary_secret + "-wrong", refresh_token=canary_refresh),
    )
    with pytest.raises(AuthError) as refused:
        wrong.get_json(Call.LIST_TICKETS)
    bad_token = make_client(server, fast=True, access_token=canary_token)
    with pytest.raises(HubSpotError) as unauthorized:
        bad_token.get_json(Call.LIST_TICKETS)
    texts += [str(refused.value), repr(refused.value), str(unauthorized.value)]

    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, captured.out, captured.err, *texts])
    assert caplog.records  # the run did log: retries and requests
    assert "retrying" in caplog.text
    for secret in (canary_secret, canary_refresh, canary_token, *access_tokens, DEFAULT_TOKEN):
        assert secret not in everything
