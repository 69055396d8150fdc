"""Bearer-token checks and the OAuth token endpoint's state.

A request is let in with the private-app token from the config or with a live OAuth access
token issued by the token endpoint. Refreshing returns a new access token every time and hands
the same refresh token back, as HubSpot does (a refresh token stays valid until the app is
uninstalled). `GET /oauth/v1/access-tokens/{token}` tells which portal, app and scopes a live
access token belongs to.
"""

from __future__ import annotations

import secrets
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_emulator.errors import ApiError, error_body, new_correlation_id, not_found

# What the emulator's OAuth apps were granted at install, as token metadata lists them.
OAUTH_SCOPES = (
    "oauth",
    "tickets",
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
    "crm.objects.deals.read",
)
OAUTH_USER = "emulator-user@example.com"

# HubSpot's own wording for a missing or unknown bearer token.
MISSING_CREDENTIALS_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a private app or an OAuth app installed in the portal."""

    kind: str  # "private" or "oauth"
    # Rate limits are counted per app, not per access token: every refresh makes a new token.
    budget_key: str


@dataclass(frozen=True)
class _AccessToken:
    client_id: str
    expires_at: float


def _ago(seconds: float) -> str:
    """Say how long ago something happened the way HubSpot's expiry message does."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}(s)"
    return f"{int(seconds)} second(s)"


def _token_error(status: str, message: str) -> tuple[int, dict[str, Any]]:
    # The token endpoint answers in its own shape, not the CRM error body.
    return 400, error_body(message, status=status, correlation_id=new_correlation_id())


class Authenticator:
    """Check bearer tokens and issue OAuth access tokens; thread-safe."""

    def __init__(
        self,
        *,
        private_token: str,
        oauth_clients: Mapping[str, str],
        refresh_tokens: tuple[str, ...],
        token_lifetime_s: float,
        hub_id: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hub_id = hub_id
        self._private_token = private_token
        self._clients = dict(oauth_clients)
        self._refresh_tokens = set(refresh_tokens)
        self._lifetime_s = token_lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._access_tokens: dict[str, _AccessToken] = {}
        self._private = Principal("private", f"private:{private_token}")

    def authenticate(self, authorization: str | None) -> Principal:
        """Return the caller behind an `Authorization` header or raise HubSpot's 401."""
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token:
                if token == self._private_token:
                    return self._private
                with self._lock:
                    issued = self._access_tokens.get(token)
                if issued is not None:
                    late = self._clock() - issued.expires_at
                    if late < 0:
                        return Principal("oauth", f"oauth:{issued.client_id}")
                    raise ApiError(
                        401,
                        f"The OAuth token used to make this call expired {_ago(late)} ago.",
                        "EXPIRED_AUTHENTICATION",
                    )
        raise ApiError(401, MISSING_CREDENTIALS_MESSAGE, "INVALID_AUTHENTICATION")

    def token_metadata(self, token: str) -> tuple[int, dict[str, Any]]:
        """Answer `GET /oauth/v1/access-tokens/{token}`: whose live access token this is.

        An unknown or expired token answers 404 in the OAuth endpoints' own error shape.
        """
        with self._lock:
            issued = self._access_tokens.get(token)
        remaining = None if issued is None else issued.expires_at - self._clock()
        if issued is None or remaining is None or remaining <= 0:
            error = not_found("The access token was not found or has expired")
            return error.status, error.body()
        return 200, {
            "token": token,
            "user": OAUTH_USER,
            "hub_domain": f"emulator-{self._hub_id}.example.com",
            "scopes": list(OAUTH_SCOPES),
            "hub_id": self._hub_id,
            # A stable number per OAuth app, as HubSpot gives each app its id.
            "app_id": zlib.crc32(issued.client_id.encode("utf-8")) % 10_000_000,
            "expires_in": int(remaining),
            "user_id": 1,
            "token_type": "access",
        }

    def token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a form-encoded token request: `(status, body)`."""
        grant_type = form.get("grant_type", "")
        if grant_type != "refresh_token":
            return _token_error("BAD_GRANT_TYPE", "missing or unknown grant type")
        client_id = form.get("client_id", "")
        if client_id not in self._clients:
            return _token_error("BAD_CLIENT_ID", "missing or unknown client id")
        # compare_digest takes str of ASCII only: compare the UTF-8 bytes, so any secret works.
        given = form.get("client_secret", "").encode("utf-8", "replace")
        if not secrets.compare_digest(given, self._clients[client_id].encode("utf-8", "replace")):
            return _token_error("BAD_CLIENT_ID", "client secret does not match the client id")
        refresh_token = form.get("refresh_token", "")
        if refresh_token not in self._refresh_tokens:
            return _token_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        access_token = f"emu-oauth-{secrets.token_hex(16)}"
        with self._lock:
            self._access_tokens[access_token] = _AccessToken(
                client_id, self._clock() + self._lifetime_s
            )
        lifetime = self._lifetime_s
        return 200, {
            "token_type": "bearer",
            "refresh_token": refresh_token,
            "access_token": access_token,
            "expires_in": int(lifetime) if float(lifetime).is_integer() else lifetime,
        }
