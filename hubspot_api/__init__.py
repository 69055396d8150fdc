"""The one HubSpot layer both connectors use: config, auth, HTTP, rate limits, retries, paging.

Start with `HubSpotSettings.from_config(config)` and `HubSpotClient(settings)`; `Call` names
every endpoint, `paging` iterates lists and searches, `properties` types property values, and
`errors` documents every exception raised.
"""

from __future__ import annotations

from hubspot_api.client import (
    SERVER_CLOCK_UNCERTAINTY_MS,
    HubSpotClient,
    ServerClock,
    map_concurrent,
)
from hubspot_api.config import (
    COMMON_SETTINGS,
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    HubSpotSettings,
    settings_schema,
)
from hubspot_api.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    DailyLimitError,
    HubSpotAPIError,
    HubSpotConnectionError,
    HubSpotError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RetriableError,
    ServerError,
    TLSError,
    UnsendableBodyError,
    UriTooLongError,
    ValidationError,
    redact,
)
from hubspot_api.paging import (
    ASSOCIATION_BATCH_LIMIT,
    BATCH_LIMIT,
    LIST_PAGE_LIMIT,
    LIST_WITH_HISTORY_LIMIT,
    SEARCH_PAGE_LIMIT,
    SEARCH_RESULT_CAP,
    PagingLoopError,
    SearchPager,
    chunk_properties,
    chunked,
    iter_list,
    iter_list_pages,
    iter_search,
)
from hubspot_api.paths import Call, path_for
from hubspot_api.properties import (
    PropertyDefinition,
    ValueConversionError,
    fetch_property_definitions,
    is_writable,
    json_schema_for,
    parse_value,
    to_hubspot,
    value_parser,
)

__all__ = [
    "ASSOCIATION_BATCH_LIMIT",
    "BATCH_LIMIT",
    "COMMON_SETTINGS",
    "DEFAULT_API_URL",
    "DEFAULT_API_VERSION",
    "LIST_PAGE_LIMIT",
    "LIST_WITH_HISTORY_LIMIT",
    "SEARCH_PAGE_LIMIT",
    "SEARCH_RESULT_CAP",
    "SERVER_CLOCK_UNCERTAINTY_MS",
    "AuthError",
    "Call",
    "ConfigError",
    "ConflictError",
    "DailyLimitError",
    "HubSpotAPIError",
    "HubSpotClient",
    "HubSpotConnectionError",
    "HubSpotError",
    "HubSpotSettings",
    "NotFoundError",
    "OutcomeUnknownError",
    "PagingLoopError",
    "PropertyDefinition",
    "RateLimitError",
    "RetriableError",
    "SearchPager",
    "ServerClock",
    "ServerError",
    "TLSError",
    "UnsendableBodyError",
    "UriTooLongError",
    "ValidationError",
    "ValueConversionError",
    "chunk_properties",
    "chunked",
    "fetch_property_definitions",
    "is_writable",
    "iter_list",
    "iter_list_pages",
    "iter_search",
    "json_schema_for",
    "map_concurrent",
    "parse_value",
    "path_for",
    "redact",
    "settings_schema",
    "to_hubspot",
    "value_parser",
]
