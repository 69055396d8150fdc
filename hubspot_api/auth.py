"""Authentication as small `requests` auth objects: a static bearer token or OAuth refresh.

HubSpot's OAuth access tokens live 30 minutes; HubSpot asks apps to refresh on `expires_in`
rather than wait for a 401 (https://developers.hubspot.com/docs/api/oauth-quickstart-guide,
https://developers.hubspot.com/apps/api_guidelines). `OAuthRefresher` refreshes ahead of
expiry, one thread at a time, and keeps the refresh token HubSpot returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.auth import AuthBase

from hubspot_api.errors import AuthError, error_for_response, redact, shorten

# Refresh this long before expiry, but never more than this share of the token's lifetime.
REFRESH_MARGIN_S = 60.0
REFRESH_MARGIN_SHARE = 0.1
# HubSpot always sends expires_in; if it does not, assume its documented 30 minutes.
DEFAULT_TOKEN_LIFETIME_S = 1800.0

# Sends the token form and returns HubSpot's answer (the client supplies it, with retries).
PostForm = Callable[[Mapping[str, str]], requests.Response]


class BearerAuth(AuthBase):
    """Send a fixed private-app access token as `Authorization: Bearer`."""

    def __init__(self, token: str) -> None:
        """Keep the token."""
        self._token = token

    def token(self) -> str:
        """Return the access token."""
        return self._token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the Authorization header."""
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        """Hide the token."""
        return "BearerAuth(***)"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the values to redact from logs and errors."""
        return (self._token,)


class OAuthRefresher(AuthBase):
    """Keep a fresh OAuth access token from a refresh token; thread-safe."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        post_form: PostForm,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_refresh_token: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare to refresh; nothing is sent until the first request needs a token.

        `post_form` sends the form to the version's token path. `on_refresh_token` is told
        whenever HubSpot hands back a different refresh token, so a caller can persist it.
        """
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._post_form = post_form
        self._clock = clock
        self._on_refresh_token = on_refresh_token
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_at = 0.0
        self.refresh_count = 0

    def __repr__(self) -> str:
        """Hide every secret."""
        return f"OAuthRefresher(client_id={self._client_id!r}, ***)"

    @property
    def refresh_token(self) -> str:
        """Return the current refresh token (HubSpot may hand back a new one)."""
        return self._refresh_token

    @property
    def access_token(self) -> str | None:
        """Return the current access token, if one was obtained."""
        return self._access_token

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the values to redact from logs and errors."""
        values = (self._client_secret, self._refresh_token, self._access_token)
        return tuple(v for v in values if v)

    def token(self) -> str:
        """Return a valid access token, refreshing it first if it is missing or about to end."""
        token = self._access_token
        if token is not None and self._clock() < self._refresh_at:
            return token
        with self._lock:
            # Another thread may have refreshed while this one waited for the lock.
            if self._access_token is None or self._clock() >= self._refresh_at:
                self._refresh()
            assert self._access_token is not None
            return self._access_token

    def invalidate(self, token: str) -> None:
        """Force a refresh on next use if `token` is still the current one (after a 401)."""
        with self._lock:
            if self._access_token == token:
                self._refresh_at = 0.0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the Authorization header with a fresh token."""
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        started = self._clock()
        response = self._post_form(form)
        if response.status_code != 200:
            error = error_for_response(response, self.secrets)
            raise AuthError(
                f"OAuth token refresh refused: {error.message}",
                status=response.status_code,
                category=error.category,
                correlation_id=error.correlation_id,
            )
        body = _json_object(response, self.secrets)
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError("OAuth token answer carried no access_token")
        lifetime = _positive_float(body.get("expires_in"), DEFAULT_TOKEN_LIFETIME_S)
        margin = min(REFRESH_MARGIN_S, lifetime * REFRESH_MARGIN_SHARE)
        self._access_token = access
        self._refresh_at = started + lifetime - margin
        self.refresh_count += 1
        new_refresh = body.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh and new_refresh != self._refresh_token:
            self._refresh_token = new_refresh
            if self._on_refresh_token is not None:
                self._on_refresh_token(new_refresh)


def _json_object(response: requests.Response, secrets: tuple[str, ...]) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        text = shorten(redact(response.text, secrets))
        raise AuthError(f"OAuth token answer is not JSON: {text}") from None
    return body if isinstance(body, dict) else {}


def _positive_float(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
