"""Bearer checks and the OAuth token endpoint, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from hubspot_emulator.auth import MISSING_CREDENTIALS_MESSAGE

CLIENT = {"client_id": "emulator-client", "client_secret": "emulator-secret"}
REFRESH = {"grant_type": "refresh_token", "refresh_token": "emulator-refresh-token", **CLIENT}
TOKEN_PATHS = [
    pytest.param("/oauth/v1/token", id="v1"),
    pytest.param("/oauth/2026-03/token", id="2026-03"),
    pytest.param("/oauth/2026-09/token", id="2026-09"),
]
PROTECTED = [
    pytest.param("/crm/v3/objects/tickets", id="objects"),
    pytest.param("/crm/objects/2026-03/tickets", id="objects-dated"),
    pytest.param("/crm/v3/properties/tickets", id="properties"),
    pytest.param("/crm/pipelines/2026-03/tickets", id="pipelines-dated"),
    pytest.param("/crm/v4/associations/tickets/contacts/labels", id="labels"),
]


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic emulator-token"}],
    ids=["none", "wrong-token", "wrong-scheme"],
)
def test_crm_routes_need_a_valid_bearer(seeded_emulator, path, headers):
    response = requests.get(f"{seeded_emulator.url}{path}", headers=headers, timeout=5)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"] == MISSING_CREDENTIALS_MESSAGE
    assert body["message"].startswith("Authentication credentials not found.")
    assert body["correlationId"]


def test_private_app_token_from_config(emulator):
    server = emulator(token="pat-na1-123")
    url = f"{server.url}/crm/v3/properties/tickets"
    ok = requests.get(url, headers={"Authorization": "Bearer pat-na1-123"}, timeout=5)
    assert ok.status_code == 200
    default = requests.get(url, headers={"Authorization": "Bearer emulator-token"}, timeout=5)
    assert default.status_code == 401


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_refresh_issues_a_working_access_token(emulator, path):
    server = emulator(token_lifetime_s=600)
    response = requests.post(f"{server.url}{path}", data=REFRESH, timeout=5)
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 600
    assert token["refresh_token"] == "emulator-refresh-token"
    api = requests.get(
        f"{server.url}/crm/v3/properties/tickets",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert api.status_code == 200


def test_each_refresh_gives_a_new_token_and_keeps_the_refresh_token(emulator):
    server = emulator()
    first = requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5).json()
    again = {**REFRESH, "refresh_token": first["refresh_token"]}
    second = requests.post(f"{server.url}/oauth/v1/token", data=again, timeout=5).json()
    assert first["access_token"] != second["access_token"]
    assert second["refresh_token"] == first["refresh_token"]
    for token in (first, second):
        response = requests.get(
            f"{server.url}/crm/v3/objects/tickets",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=5,
        )
        assert response.status_code == 200


def test_access_tokens_expire_after_their_lifetime(emulator):
    server = emulator(token_lifetime_s=0.3)
    token = requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5).json()
    assert token["expires_in"] == 0.3
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    url = f"{server.url}/crm/v3/objects/tickets"
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    time.sleep(0.4)
    expired = requests.get(url, headers=headers, timeout=5)
    assert expired.status_code == 401
    body = expired.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"].startswith("The OAuth token used to make this call expired ")
    assert body["message"].endswith(" ago.")
    # The refresh token still works after the access token expired.
    fresh = requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5).json()
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({**REFRESH, "refresh_token": "stolen"}, "BAD_REFRESH_TOKEN"),
        ({k: v for k, v in REFRESH.items() if k != "refresh_token"}, "BAD_REFRESH_TOKEN"),
        ({**REFRESH, "client_id": "someone-else"}, "BAD_CLIENT_ID"),
        ({**REFRESH, "client_secret": "guess"}, "BAD_CLIENT_ID"),
        ({**REFRESH, "grant_type": "password"}, "BAD_GRANT_TYPE"),
    ],
    ids=["unknown-refresh", "missing-refresh", "unknown-client", "wrong-secret", "wrong-grant"],
)
def test_bad_token_requests(emulator, form, status):
    server = emulator()
    response = requests.post(f"{server.url}/oauth/v1/token", data=form, timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == status
    assert body["message"]
    assert "access_token" not in body


def test_configured_clients_and_refresh_tokens(emulator):
    server = emulator(oauth_clients={"app": "shh"}, refresh_tokens=("r1", "r2"))
    form = {"grant_type": "refresh_token", "client_id": "app", "client_secret": "shh"}
    for refresh_token in ("r1", "r2"):
        data = {**form, "refresh_token": refresh_token}
        response = requests.post(f"{server.url}/oauth/v1/token", data=data, timeout=5)
        assert response.status_code == 200
    default = requests.post(f"{server.url}/oauth/v1/token", data=REFRESH, timeout=5)
    assert default.json()["status"] == "BAD_CLIENT_ID"


def test_emulator_endpoints_need_no_token(seeded_emulator):
    assert requests.get(f"{seeded_emulator.url}/_emulator/health", timeout=5).status_code == 200
    assert requests.get(f"{seeded_emulator.url}/_emulator/stats", timeout=5).status_code == 200
