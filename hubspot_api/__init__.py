"""The one HubSpot layer both connectors use: config, auth, HTTP, rate limits, retries, paging.

Start with `HubSpotSettings.from_config(config)` and `HubSpotClient(settings)`; `Call` names
every endpoint, `paging` iterates lists and searches, `associations` reads links in bulk,
`pipelines` reads and looks up pipelines and stages, `properties` types property values and
`property_values` converts them, `instants` is the one codec of ISO 8601 and epoch
milliseconds, `records` is the Singer record of a ticket both connectors share, `progress`
writes the progress lines of both, and `errors` documents every exception raised.
"""

from __future__ import annotations

from hubspot_api.associations import (
    ASSOCIATION_BATCH_LIMIT,
    AssociationLink,
    read_associations,
)
from hubspot_api.client import HubSpotClient, map_concurrent
from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS, ServerClock
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
    DailyReserveError,
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
    BATCH_LIMIT,
    LIST_PAGE_LIMIT,
    LIST_WITH_HISTORY_LIMIT,
    SEARCH_PAGE_LIMIT,
    SEARCH_RESULT_CAP,
    ListPage,
    PagingLoopError,
    SearchPage,
    chunk_properties,
    chunked,
    iter_keyset_search,
    iter_list,
    iter_list_pages,
)
from hubspot_api.paths import Call, path_for
from hubspot_api.properties import (
    PropertyDefinition,
    fetch_property_definitions,
    is_writable,
    json_schema_for,
)
from hubspot_api.property_values import (
    ValueConversionError,
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
    "AssociationLink",
    "AuthError",
    "Call",
    "ConfigError",
    "ConflictError",
    "DailyLimitError",
    "DailyReserveError",
    "HubSpotAPIError",
    "HubSpotClient",
    "HubSpotConnectionError",
    "HubSpotError",
    "HubSpotSettings",
    "ListPage",
    "NotFoundError",
    "OutcomeUnknownError",
    "PagingLoopError",
    "PropertyDefinition",
    "RateLimitError",
    "RetriableError",
    "SearchPage",
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
    "iter_keyset_search",
    "iter_list",
    "iter_list_pages",
    "json_schema_for",
    "map_concurrent",
    "parse_value",
    "path_for",
    "read_associations",
    "redact",
    "settings_schema",
    "to_hubspot",
    "value_parser",
]
