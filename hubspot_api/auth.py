"""Authentication: a small object that gives a token and decides what a 401 means.

The client asks `token()` before every attempt (after every wait, so the token is as fresh as
it can be) and, when an answer is 401, asks `unauthorized(token)` whether sending again with a
new token is worth it (once per call). A private app's token is fixed: a 401 is final. HubSpot's
OAuth access tokens live 30 minutes; HubSpot asks apps to refresh on `expires_in` rather than
wait for a 401 (https://developers.hubspot.com/docs/api/oauth-quickstart-guide,
https://developers.hubspot.com/apps/api_guidelines). `OAuthRefresher` refreshes ahead of
expiry, one thread at a time, and keeps the refresh token HubSpot returns; a 401 still gets one
refresh, as cheap insurance against a clock that ran ahead of `expires_in`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import requests

from hubspot_api.errors import AuthError, error_for_response, redact, shorten
from hubspot_api.ratelimit import credential_fingerprint

if TYPE_CHECKING:
    from hubspot_api.config import HubSpotSettings

# Refresh this long before expiry, but never more than this share of the token's lifetime.
REFRESH_MARGIN_S = 60.0
REFRESH_MARGIN_SHARE = 0.1
# HubSpot always sends expires_in; if it does not, assume its documented 30 minutes.
DEFAULT_TOKEN_LIFETIME_S = 1800.0

# Sends the token form and returns HubSpot's answer (the client supplies it, with retries).
PostForm = Callable[[Mapping[str, str]], requests.Response]


class Auth(Protocol):
    """What the client needs of a way to authenticate."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the values to redact from logs and errors."""
        ...

    @property
    def refresh_token(self) -> str | None:
        """Return the refresh token to persist (None: there is none)."""
        ...

    def token(self) -> str:
        """Return the access token to send now."""
        ...

    def unauthorized(self, token: str) -> bool:
        """Hear that HubSpot refused `token` (401); return whether a new one is worth a try."""
        ...


class BearerAuth:
    """Send a fixed private-app access token as `Authorization: Bearer`."""

    def __init__(self, token: str) -> None:
        """Keep the token."""
        self._token = token

    def token(self) -> str:
        """Return the access token."""
        return self._token

    def unauthorized(self, token: str) -> bool:
        """A fixed token refused stays refused."""
        return False

    @property
    def refresh_token(self) -> str | None:
        """A private app has no refresh token."""
        return None

    def __repr__(self) -> str:
        """Hide the token."""
        return "BearerAuth(***)"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return the values to redact from logs and errors."""
        return (self._token,)


class OAuthRefresher:
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

    def unauthorized(self, token: str) -> bool:
        """Refresh on next use (HubSpot says a 401 is no signal to, but it is cheap to try)."""
        self.invalidate(token)
        return True

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


def auth_for(
    settings: HubSpotSettings,
    post_form: PostForm,
    on_refresh_token: Callable[[str], None] | None = None,
) -> tuple[BearerAuth | OAuthRefresher, str]:
    """Return the auth the settings describe and the fingerprint its rate budget is kept under."""
    if settings.access_token is not None:
        return BearerAuth(settings.access_token), credential_fingerprint(settings.access_token)
    assert settings.client_id is not None
    assert settings.client_secret is not None
    assert settings.refresh_token is not None
    refresher = OAuthRefresher(
        settings.client_id,
        settings.client_secret,
        settings.refresh_token,
        post_form,
        on_refresh_token=on_refresh_token,
    )
    return refresher, credential_fingerprint(settings.client_id, settings.refresh_token)
