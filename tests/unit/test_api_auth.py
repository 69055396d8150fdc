"""OAuth refresh timing, thread safety and refresh-token rotation, on a fake token endpoint."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from hubspot_api.auth import BearerAuth, OAuthRefresher
from hubspot_api.errors import AuthError


def answer(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


class TokenEndpoint:
    def __init__(self, lifetime: float = 1800, rotate: bool = False) -> None:
        self.forms: list[dict[str, str]] = []
        self.lifetime = lifetime
        self.rotate = rotate
        self.lock = threading.Lock()

    def __call__(self, form):
        with self.lock:
            self.forms.append(dict(form))
            n = len(self.forms)
        time.sleep(0.01)  # widen the race window for the threading test
        body = {"access_token": f"access-{n}", "expires_in": self.lifetime}
        if self.rotate:
            body["refresh_token"] = f"refresh-{n}"
        return answer(200, body)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_refreshes_ahead_of_expiry():
    endpoint, clock = TokenEndpoint(lifetime=1800), Clock()
    auth = OAuthRefresher("cid", "csecret", "refresh-0", endpoint, clock=clock)
    assert auth.token() == "access-1"
    clock.now = 1800 - 61
    assert auth.token() == "access-1"
    clock.now = 1800 - 59  # inside the 60 s margin
    assert auth.token() == "access-2"
    assert endpoint.forms[0] == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "csecret",
        "refresh_token": "refresh-0",
    }


def test_short_lived_tokens_use_a_proportional_margin():
    endpoint, clock = TokenEndpoint(lifetime=2), Clock()
    auth = OAuthRefresher("cid", "csecret", "r", endpoint, clock=clock)
    auth.token()
    clock.now = 1.7  # margin is 10% of 2 s
    assert auth.token() == "access-1"
    clock.now = 1.81
    assert auth.token() == "access-2"


def test_keeps_the_returned_refresh_token_and_reports_it():
    seen: list[str] = []
    endpoint, clock = TokenEndpoint(rotate=True), Clock()
    auth = OAuthRefresher(
        "cid", "s", "refresh-0", endpoint, clock=clock, on_refresh_token=seen.append
    )
    auth.token()
    assert auth.refresh_token == "refresh-1"
    assert seen == ["refresh-1"]
    auth.invalidate("access-1")
    auth.token()
    assert endpoint.forms[1]["refresh_token"] == "refresh-1"


def test_one_refresh_for_many_threads():
    endpoint = TokenEndpoint()
    auth = OAuthRefresher("cid", "s", "r", endpoint)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(auth.token())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(endpoint.forms) == 1
    assert set(results) == {"access-1"}


def test_invalidate_ignores_an_already_replaced_token():
    endpoint, clock = TokenEndpoint(), Clock()
    auth = OAuthRefresher("cid", "s", "r", endpoint, clock=clock)
    auth.token()
    auth.invalidate("some-older-token")
    assert auth.token() == "access-1"
    assert len(endpoint.forms) == 1


def test_refusal_is_one_redacted_line():
    def refuse(form):
        return answer(
            400,
            {
                "status": "BAD_REFRESH_TOKEN",
                "message": f"missing or unknown refresh token {form['refresh_token']}",
            },
        )

    auth = OAuthRefresher("cid", "csecret", "canary-refresh-token", refuse)
    with pytest.raises(AuthError) as info:
        auth.token()
    text = str(info.value)
    assert "canary-refresh-token" not in text
    assert "BAD_REFRESH_TOKEN" in text
    assert "\n" not in text


def test_reprs_hide_secrets():
    assert "tok" not in repr(BearerAuth("tok-123"))
    assert "csecret" not in repr(OAuthRefresher("cid", "csecret", "r", TokenEndpoint()))


def test_a_refused_private_app_token_is_final_and_an_oauth_one_is_refreshed_once_more():
    assert BearerAuth("tok").unauthorized("tok") is False
    clock = Clock()
    endpoint = TokenEndpoint()
    auth = OAuthRefresher("cid", "csecret", "r", endpoint, clock=clock)
    first = auth.token()
    assert auth.unauthorized(first) is True
    assert auth.token() != first
    assert len(endpoint.forms) == 2
