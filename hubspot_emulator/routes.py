"""Every route the emulator serves: one table of calls over HubSpot's path families.

Each row names a call once; `build_routes` expands it over the family's legacy and
date-versioned prefixes, and `Router` finds the route for a method and path (404 versus 405).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from hubspot_emulator import handlers
from hubspot_emulator.calls import Call, Result
from hubspot_emulator.objects import OTHER_TYPES, TICKET_TYPE

DATED_API_VERSIONS = ("2026-03", "2026-09")


@dataclass(frozen=True)
class Route:
    """One method on one path pattern, with how the edge treats it."""

    method: str
    name: str
    pattern: re.Pattern[str]
    handler: Callable[[Call], Result]
    auth: bool = True  # needs a bearer token
    write: bool = False  # changes the portal: may be applied-then-dropped, may meet a 423
    search: bool = False  # spends the search budget, carries no rate-limit headers
    internal: bool = False  # the emulator's own endpoints: no faults, limits or stats


# Each path family: its legacy prefixes, then the date-versioned one; bodies are identical on
# all. `{obj}` is any name of the ticket type, `{other}` any name of another standard type.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "objects": ("/crm/v3/objects/{obj}", "/crm/objects/{ver}/{obj}"),
    "objects-v4": ("/crm/v4/objects/{obj}", "/crm/objects/{ver}/{obj}"),
    # HubSpot also lists and reads records on v4 object paths (singer-io's tap-hubspot lists
    # tickets there); writes, batches and search stay on the v3 form above.
    "objects-v4-read": ("/crm/v4/objects/{obj}",),
    "properties": ("/crm/v3/properties/{obj}", "/crm/properties/{ver}/{obj}"),
    "other-properties": ("/crm/v3/properties/{other}", "/crm/properties/{ver}/{other}"),
    # The legacy v2 properties API: a bare array, flat flags, epoch-millisecond times.
    "properties-v2": ("/properties/v2/{obj}",),
    # Custom object schemas: `/crm/v3/schemas` is the older documented path, still served.
    "schemas": (
        "/crm/v3/schemas",
        "/crm-object-schemas/v3/schemas",
        "/crm-object-schemas/{ver}/schemas",
    ),
    "pipelines": ("/crm/v3/pipelines/{obj}", "/crm/pipelines/{ver}/{obj}"),
    "associations": ("/crm/v4/associations", "/crm/associations/{ver}"),
    "oauth": ("/oauth/v1", "/oauth/{ver}"),
    # Token metadata by path is v1 only; the dated OAuth API introspects tokens by form instead.
    "oauth-v1": ("/oauth/v1",),
    "account-info": ("/account-info/v3", "/account-info/{ver}"),
    "emulator": ("/_emulator",),
}

# What kind of call a route is decides how the edge treats it.
READ = "read"
WRITE = "write"  # may be applied-then-dropped, may meet a 423
SEARCH = "search"  # the search budget, no rate-limit headers
PUBLIC = "public"  # no bearer token (the OAuth token endpoint)
INTERNAL = "internal"  # the emulator's own endpoints: no auth, faults, limits or stats

_ROUTE_TABLE: tuple[tuple[str, str, str, str, Callable[[Call], Result], str], ...] = (
    # method, name, family, path below the family's prefix, handler, kind
    ("GET", "tickets.list", "objects", "", handlers.list_tickets, READ),
    ("POST", "tickets.create", "objects", "", handlers.create_ticket, WRITE),
    ("POST", "tickets.search", "objects", "/search", handlers.search, SEARCH),
    ("POST", "tickets.batch_read", "objects", "/batch/read", handlers.batch_read, READ),
    ("POST", "tickets.batch_create", "objects", "/batch/create", handlers.batch_create, WRITE),
    ("POST", "tickets.batch_update", "objects", "/batch/update", handlers.batch_update, WRITE),
    ("POST", "tickets.batch_upsert", "objects", "/batch/upsert", handlers.batch_upsert, WRITE),
    ("POST", "tickets.batch_archive", "objects", "/batch/archive", handlers.batch_archive, WRITE),
    ("POST", "tickets.merge", "objects", "/merge", handlers.merge, WRITE),
    ("GET", "tickets.read", "objects", "/{ticketId}", handlers.read_ticket, READ),
    ("PATCH", "tickets.update", "objects", "/{ticketId}", handlers.update_ticket, WRITE),
    ("DELETE", "tickets.archive", "objects", "/{ticketId}", handlers.archive_ticket, WRITE),
    # Before the v3 form below, whose `{toObjectType}` would take "default" for a type.
    (
        "PUT",
        "tickets.associate_default",
        "objects-v4",
        "/{ticketId}/associations/default/{toObjectType}/{toObjectId}",
        handlers.associate_default,
        WRITE,
    ),
    (
        "PUT",
        "tickets.associate_v3",
        "objects",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}/{associationTypeId}",
        handlers.associate_v3,
        WRITE,
    ),
    (
        "DELETE",
        "tickets.dissociate_v3",
        "objects",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}/{associationTypeId}",
        handlers.dissociate_v3,
        WRITE,
    ),
    (
        "GET",
        "tickets.associations",
        "objects-v4",
        "/{ticketId}/associations/{toObjectType}",
        handlers.list_ticket_associations,
        READ,
    ),
    (
        "PUT",
        "tickets.associate",
        "objects-v4",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}",
        handlers.associate,
        WRITE,
    ),
    (
        "DELETE",
        "tickets.dissociate",
        "objects-v4",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}",
        handlers.dissociate,
        WRITE,
    ),
    ("GET", "properties.list", "properties", "", handlers.list_properties, READ),
    ("POST", "properties.create", "properties", "", handlers.create_property, WRITE),
    (
        "POST",
        "properties.batch_read",
        "properties",
        "/batch/read",
        handlers.batch_read_properties,
        READ,
    ),
    # Before the read below, whose `{propertyName}` would take "groups" for a name.
    ("GET", "properties.groups", "properties", "/groups", handlers.list_property_groups, READ),
    (
        "GET",
        "properties.group",
        "properties",
        "/groups/{groupName}",
        handlers.read_property_group,
        READ,
    ),
    ("GET", "properties.read", "properties", "/{propertyName}", handlers.read_property, READ),
    (
        "PATCH",
        "properties.update",
        "properties",
        "/{propertyName}",
        handlers.update_property,
        WRITE,
    ),
    ("GET", "tickets.list", "objects-v4-read", "", handlers.list_tickets, READ),
    ("GET", "tickets.read", "objects-v4-read", "/{ticketId}", handlers.read_ticket, READ),
    (
        "GET",
        "properties.list_v2",
        "properties-v2",
        "/properties",
        handlers.list_legacy_properties,
        READ,
    ),
    ("GET", "other_properties.list", "other-properties", "", handlers.list_other_properties, READ),
    (
        "GET",
        "other_properties.read",
        "other-properties",
        "/{propertyName}",
        handlers.read_other_property,
        READ,
    ),
    ("GET", "schemas.list", "schemas", "", handlers.list_schemas, READ),
    ("GET", "pipelines.list", "pipelines", "", handlers.list_pipelines, READ),
    ("GET", "pipelines.read", "pipelines", "/{pipelineId}", handlers.read_pipeline, READ),
    ("GET", "pipelines.stages", "pipelines", "/{pipelineId}/stages", handlers.list_stages, READ),
    (
        "GET",
        "pipelines.stage",
        "pipelines",
        "/{pipelineId}/stages/{stageId}",
        handlers.read_stage,
        READ,
    ),
    (
        "GET",
        "associations.labels",
        "associations",
        "/{fromObjectType}/{toObjectType}/labels",
        handlers.association_labels,
        READ,
    ),
    (
        "POST",
        "associations.batch_read",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/read",
        handlers.batch_read_associations,
        READ,
    ),
    (
        "POST",
        "associations.batch_create",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/create",
        handlers.batch_create_associations,
        WRITE,
    ),
    (
        "POST",
        "associations.batch_associate_default",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/associate/default",
        handlers.batch_associate_default,
        WRITE,
    ),
    (
        "POST",
        "associations.batch_archive",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/archive",
        handlers.batch_archive_associations,
        WRITE,
    ),
    ("POST", "oauth.token", "oauth", "/token", handlers.oauth_token, PUBLIC),
    (
        "GET",
        "oauth.access_token",
        "oauth-v1",
        "/access-tokens/{token}",
        handlers.access_token_metadata,
        PUBLIC,
    ),
    ("GET", "account.details", "account-info", "/details", handlers.read_account_details, READ),
    ("GET", "emulator.stats", "emulator", "/stats", handlers.emulator_stats, INTERNAL),
    ("GET", "emulator.health", "emulator", "/health", handlers.emulator_health, INTERNAL),
    (
        "POST",
        "emulator.reset_stats",
        "emulator",
        "/reset-stats",
        handlers.emulator_reset_stats,
        INTERNAL,
    ),
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_VERSION_GROUP = "(?P<ver>" + "|".join(re.escape(v) for v in DATED_API_VERSIONS) + ")"


def _placeholder(name: str) -> str:
    if name == "ver":
        return _VERSION_GROUP
    if name == "obj":
        return _alternatives(TICKET_TYPE.aliases)
    if name == "other":
        return f"(?P<objectType>{_alternatives(a for t in OTHER_TYPES for a in t.aliases)})"
    return f"(?P<{name}>[^/]+)"


def _alternatives(names: Iterable[str]) -> str:
    return "(?:" + "|".join(re.escape(name) for name in names) + ")"


def _compile(template: str) -> re.Pattern[str]:
    regex: list[str] = []
    last = 0
    for found in _PLACEHOLDER.finditer(template):
        regex += [re.escape(template[last : found.start()]), _placeholder(found.group(1))]
        last = found.end()
    regex.append(re.escape(template[last:]))
    return re.compile("".join(regex) + "/?")  # a trailing slash is tolerated, as on HubSpot


def build_routes() -> tuple[Route, ...]:
    """Expand the route table over both path families into compiled routes."""
    routes: list[Route] = []
    for method, name, family, below, handler, kind in _ROUTE_TABLE:
        for prefix in _FAMILIES[family]:
            routes.append(
                Route(
                    method=method,
                    name=name,
                    pattern=_compile(prefix + below),
                    handler=handler,
                    auth=kind not in (PUBLIC, INTERNAL),
                    write=kind == WRITE,
                    search=kind == SEARCH,
                    internal=kind == INTERNAL,
                )
            )
    return tuple(routes)


class Router:
    """Find the route for a method and path; tell 404 from 405."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)
        self._by_method: dict[str, list[Route]] = {}
        for route in self._routes:
            self._by_method.setdefault(route.method, []).append(route)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """Return (route, path parameters, allowed methods when the path exists without it)."""
        for route in self._by_method.get(method, ()):
            found = route.pattern.fullmatch(path)
            if found:
                params = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
                return route, params, []
        allowed = sorted({r.method for r in self._routes if r.pattern.fullmatch(path)})
        return None, {}, allowed


ROUTER = Router(build_routes())
