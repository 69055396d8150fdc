"""The settings both connectors share, declared once, and their validation.

`COMMON_SETTINGS` is the singer-sdk schema fragment; a connector adds its own settings with
`settings_schema(*extra)`. `HubSpotSettings.from_config` turns a validated config mapping into
the frozen settings object the client takes, raising `ConfigError` with one clear line. What
the command line checks in a config file before the SDK sees it is in `config_files`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from singer_sdk import typing as th

from hubspot_api.errors import ConfigError

# The only place the production host is spelled.
DEFAULT_API_URL = "https://api.hubapi.com"

LEGACY_API_VERSION = "v3"
# Dated versions this layer knows the paths and bodies of
# (https://developers.hubspot.com/docs/api-reference/latest/overview).
DATED_API_VERSIONS = ("2026-03", "2026-09")
API_VERSIONS = (LEGACY_API_VERSION, *DATED_API_VERSIONS)
# 2026-03: HubSpot asks new integrations to use dated paths (v1-v4 paths end in September 2027),
# and 2026-03 keeps the legacy bodies and write rules. 2026-09 also enforces admin-configured
# required fields on writes, a behaviour change a user should opt into.
DEFAULT_API_VERSION = "2026-03"

DEFAULT_REQUEST_TIMEOUT_S = 60.0
# HubSpot's largest answers are pages of 100 tickets (50 with property history) or batch reads of
# 100: with every property of a busy portal, a few MB, and HubSpot keeps a text value to 65,536
# characters, so even 100 tickets with ten full-length values each stay near 65 MB. 256 MB is
# far above any real page, and still bounds what one answer can take (about three times its size
# in memory once parsed). See docs/hubspot-api.md.
DEFAULT_MAX_ANSWER_MB = 256
# Private apps on Professional/Enterprise get 190 per 10 s. The limiter already leaves a time
# margin for network jitter (see ratelimit.py), so the full count is used; accounts on a lower
# tier are corrected by the X-HubSpot-RateLimit-Max header, and a portal shared with other
# busy apps should lower this setting.
DEFAULT_REQUESTS_PER_10_SECONDS = 190
DEFAULT_SEARCH_REQUESTS_PER_SECOND = 5
# At ~150 ms per call, 19 calls per second need about 3 in flight; 8 covers slow searches and
# batch writes without holding many sockets.
DEFAULT_MAX_CONCURRENCY = 8

_LOOPBACK_NAMES = frozenset({"localhost"})

COMMON_SETTINGS = th.PropertiesList(
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        description="Base URL of the HubSpot API; plain http:// only for a loopback host.",
    ),
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        description="Private app access token. Give this or the OAuth trio, not both.",
    ),
    th.Property("client_id", th.StringType, description="OAuth app client id."),
    th.Property("client_secret", th.StringType, secret=True, description="OAuth client secret."),
    th.Property("refresh_token", th.StringType, secret=True, description="OAuth refresh token."),
    th.Property(
        "api_version",
        th.StringType,
        default=DEFAULT_API_VERSION,
        allowed_values=list(API_VERSIONS),
        description="'v3' for the legacy /crm/v3 and /crm/v4 paths, or a dated version.",
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=DEFAULT_REQUEST_TIMEOUT_S,
        description="Seconds to wait for one HTTP answer, from sending to its last byte.",
    ),
    th.Property(
        "max_answer_mb",
        th.IntegerType,
        default=DEFAULT_MAX_ANSWER_MB,
        description="Largest HTTP answer taken, in MB once decoded; a larger one fails its call.",
    ),
    th.Property(
        "requests_per_10_seconds",
        th.IntegerType,
        default=DEFAULT_REQUESTS_PER_10_SECONDS,
        description="Client-side budget for ordinary calls in any rolling 10 seconds.",
    ),
    th.Property(
        "search_requests_per_second",
        th.IntegerType,
        default=DEFAULT_SEARCH_REQUESTS_PER_SECOND,
        description="Client-side budget for search calls per second.",
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType,
        default=DEFAULT_MAX_CONCURRENCY,
        description="Most HTTP requests in flight at once.",
    ),
    th.Property(
        "daily_request_reserve",
        th.IntegerType,
        description=(
            "Calls of the portal's daily limit to leave to other integrations: the run stops, "
            "its state written, once HubSpot reports no more than this many left today. "
            "Default: 5% of the daily limit HubSpot reports (private apps only; OAuth apps "
            "have no daily limit)."
        ),
    ),
    th.Property(
        "shared_rate_limit",
        th.BooleanType,
        default=True,
        description=(
            "Share the budgets above with every process of this user that reaches the same "
            "portal with the same app (taps and targets alike), through a locked file in the "
            "user's cache directory (XDG_CACHE_HOME)."
        ),
    ),
)

SECRET_SETTINGS = tuple(p.name for p in COMMON_SETTINGS if p.secret)
OAUTH_SETTINGS = ("client_id", "client_secret", "refresh_token")
# The two ways to authenticate, each complete on its own: a token, or the whole OAuth trio.
AUTH_ALTERNATIVES = (("access_token",), OAUTH_SETTINGS)


def settings_schema(*extra: th.Property[Any]) -> dict[str, Any]:
    """Return a connector's `config_jsonschema`: the common settings plus its own."""
    schema: dict[str, Any] = th.PropertiesList(*COMMON_SETTINGS, *extra).to_dict()
    return schema


def is_loopback_host(host: str) -> bool:
    """Tell whether `host` names this machine (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_api_url(value: Any) -> str:
    """Return the base URL without a trailing slash, or raise `ConfigError`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("api_url must be a non-empty URL such as " + DEFAULT_API_URL)
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"api_url {url!r} is not a valid URL: {exc}") from None
    if "://" not in value:
        raise ConfigError(_no_scheme(url))
    if parts.scheme not in {"http", "https"} or not host:
        raise ConfigError(
            f"api_url {url!r} must start with https:// (or http:// for a loopback host such as "
            "the emulator) and name a host"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"api_url {url!r} must not carry a query, fragment or credentials")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"api_url {url!r} uses plain http:// for a non-loopback host; use https://"
        )
    return url


def _no_scheme(url: str) -> str:
    """Say that `url` lacks its scheme, and give it the one its host would take."""
    try:
        loopback = is_loopback_host(urlsplit(f"http://{url}").hostname or "")
    except ValueError:
        loopback = False
    guess = f"{'http' if loopback else 'https'}://{url}"
    return (
        f"api_url {url!r} has no scheme: write {guess!r} (HubSpot is {DEFAULT_API_URL}; "
        "plain http:// is for a loopback host only, such as the emulator's http://127.0.0.1:PORT)"
    )


def _text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value.strip() or None


def _number(config: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = config.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ConfigError(f"{key} must be between {low:g} and {high:g}, got {value!r}")
    return number


def _integer(config: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    number = _number(config, key, default, low, high)
    if number != int(number):
        raise ConfigError(f"{key} must be a whole number, got {config.get(key)!r}")
    return int(number)


_VERSION_RE = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class HubSpotSettings:
    """Validated settings of one HubSpot connection; build it with `from_config`."""

    api_url: str = DEFAULT_API_URL
    access_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    api_version: str = DEFAULT_API_VERSION
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S
    max_answer_mb: int = DEFAULT_MAX_ANSWER_MB
    requests_per_10_seconds: int = DEFAULT_REQUESTS_PER_10_SECONDS
    search_requests_per_second: int = DEFAULT_SEARCH_REQUESTS_PER_SECOND
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    daily_request_reserve: int | None = None  # None: DEFAULT_DAILY_RESERVE_SHARE of the limit
    shared_rate_limit: bool = True

    def __repr__(self) -> str:
        """Show the settings with every secret hidden."""
        shown = ", ".join(
            f"{name}={'***' if name in SECRET_SETTINGS and value else value!r}"
            for name, value in self.__dict__.items()
        )
        return f"HubSpotSettings({shown})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HubSpotSettings:
        """Validate a connector's config mapping; raise `ConfigError` with one clear line."""
        api_url = normalize_api_url(config.get("api_url") or DEFAULT_API_URL)
        version = _text(config, "api_version") or DEFAULT_API_VERSION
        if version not in API_VERSIONS:
            hint = " (dated versions look like 2026-03)" if not _VERSION_RE.match(version) else ""
            raise ConfigError(
                f"api_version {version!r} is not supported; use one of "
                f"{', '.join(API_VERSIONS)}{hint}"
            )
        token = _text(config, "access_token")
        oauth = {k: _text(config, k) for k in OAUTH_SETTINGS}
        given = [k for k, v in oauth.items() if v]
        if token and given:
            raise ConfigError(
                "give either access_token or client_id/client_secret/refresh_token, not both"
            )
        if not token and not given:
            raise ConfigError(
                "no credentials: set access_token, or client_id, client_secret and refresh_token"
            )
        if given and len(given) < len(oauth):
            missing = ", ".join(k for k, v in oauth.items() if not v)
            raise ConfigError(
                f"OAuth needs client_id, client_secret and refresh_token; missing {missing}"
            )
        return cls(
            api_url=api_url,
            access_token=token,
            client_id=oauth["client_id"],
            client_secret=oauth["client_secret"],
            refresh_token=oauth["refresh_token"],
            api_version=version,
            request_timeout=_number(
                config, "request_timeout", DEFAULT_REQUEST_TIMEOUT_S, 0.001, 3600
            ),
            max_answer_mb=_integer(config, "max_answer_mb", DEFAULT_MAX_ANSWER_MB, 1, 4096),
            requests_per_10_seconds=_integer(
                config, "requests_per_10_seconds", DEFAULT_REQUESTS_PER_10_SECONDS, 1, 10_000
            ),
            search_requests_per_second=_integer(
                config, "search_requests_per_second", DEFAULT_SEARCH_REQUESTS_PER_SECOND, 1, 100
            ),
            max_concurrency=_integer(config, "max_concurrency", DEFAULT_MAX_CONCURRENCY, 1, 64),
            daily_request_reserve=(
                None
                if config.get("daily_request_reserve") in (None, "")
                else _integer(config, "daily_request_reserve", 0, 0, 100_000_000)
            ),
            shared_rate_limit=bool(config.get("shared_rate_limit", True)),
        )

    @property
    def uses_oauth(self) -> bool:
        """Tell whether the OAuth refresh-token flow is configured (else a bearer token)."""
        return self.access_token is None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Return every configured secret, for redaction."""
        values = (self.access_token, self.client_secret, self.refresh_token)
        return tuple(v for v in values if v)
