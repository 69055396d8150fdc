"""The emulator's HTTP layer: HubSpot's ticket routes over real HTTP/1.1 on loopback.

The server only parses the wire and calls the `Portal`; auth, rate limits and fault injection
wrap every call in the order a client would meet them on HubSpot: the edge (URI length,
dropped connections, transient errors), then authentication, then the request budgets, then
the API itself. Budgets count a request when it arrives; injected latency delays the answer.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from hubspot_emulator.account import account_details
from hubspot_emulator.auth import Authenticator, Principal
from hubspot_emulator.clock import Clock
from hubspot_emulator.config import EmulatorConfig
from hubspot_emulator.errors import ApiError, validation_error
from hubspot_emulator.faults import FaultInjector, FaultPlan, fault_body
from hubspot_emulator.objects import OTHER_TYPES, TICKET_TYPE, canonical_name
from hubspot_emulator.ratelimit import RateLimiter, Verdict, rate_limit_body
from hubspot_emulator.store import Portal

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
LEGACY_API_VERSION = "v3"
DATED_API_VERSIONS = ("2026-03", "2026-09")
DEFAULT_PAGE_SIZE = 10  # HubSpot's default `limit` on list calls
DEFAULT_ASSOCIATIONS_PAGE_SIZE = 500  # the v4 association list's default page
# Idle keep-alive connections are closed after this long; pooled clients reconnect quietly.
KEEP_ALIVE_TIMEOUT_S = 120.0
TICKETS = TICKET_TYPE.name

Result = tuple[int, Any]  # (HTTP status, JSON body, or None for an empty answer)


# -- request bodies ----------------------------------------------------------------------------
# NaN and Infinity are not JSON (RFC 8259 has no such numbers) although Python's json reads them;
# HubSpot's parser refuses them, and lone UTF-16 surrogates, whether escaped or as raw bytes.
_NON_STANDARD_TOKENS = ("-Infinity", "Infinity", "NaN")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _NonStandardToken(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_constant(token: str) -> Any:
    raise _NonStandardToken(token)


def _invalid_json(text: str, offset: int, reason: str) -> ApiError:
    """HubSpot's 400 for a body it cannot parse, pointing at `offset` like its parser does."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return validation_error(f"Invalid input JSON on line {line}, column {column}: {reason}")


def _first_problem(text: str) -> tuple[int, str] | None:
    """Find the first non-standard number outside strings or lone surrogate escape inside one."""
    index, end, in_string = 0, len(text), False
    while index < end:
        char = text[index]
        if in_string:
            if char == '"':
                in_string = False
            elif char == "\\":
                if text.startswith("u", index + 1):
                    problem, length = _surrogate_at(text, index)
                    if problem:
                        return index, problem
                    index += length
                    continue
                index += 2
                continue
        elif char == '"':
            in_string = True
        else:
            for token in _NON_STANDARD_TOKENS:
                if text.startswith(token, index):
                    return index, f"Non-standard token '{token}': not a JSON number"
        index += 1
    return None


def _code_unit(text: str, index: int) -> int | None:
    """Return the UTF-16 code unit of a `\\uXXXX` escape at `index`, or None."""
    digits = text[index + 2 : index + 6]
    if not text.startswith("\\u", index) or len(digits) != 4:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def _surrogate_at(text: str, index: int) -> tuple[str | None, int]:
    """Check the `\\u` escape at `index`: (what is wrong or None, characters it spans)."""
    unit = _code_unit(text, index)
    if unit is None or not 0xD800 <= unit <= 0xDFFF:
        return None, 6
    if unit <= 0xDBFF:
        low = _code_unit(text, index + 6)
        if low is not None and 0xDC00 <= low <= 0xDFFF:
            return None, 12  # a valid pair
        return f"Unpaired high surrogate \\u{unit:04x}: not valid Unicode", 6
    return f"Unpaired low surrogate \\u{unit:04x}: not valid Unicode", 6


def parse_json_body(body: bytes) -> Any:
    """Decode a request body as strict JSON in UTF-8, or raise HubSpot's 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Raw surrogate bytes (ED A0 80) and any other bytes that are not UTF-8 land here.
        prefix = body[: exc.start].decode("utf-8", "replace")
        reason = f"Invalid UTF-8 start byte 0x{body[exc.start]:02x}"
        raise _invalid_json(prefix, len(prefix), reason) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _NonStandardToken as exc:
        offset, reason = _first_problem(text) or (0, f"Non-standard token '{exc.token}'")
        raise _invalid_json(text, offset, reason) from None
    except json.JSONDecodeError as exc:
        raise _invalid_json(text, exc.pos, exc.msg) from None
    # Only an escape can smuggle a lone surrogate past the UTF-8 decoding above.
    if _SURROGATE_ESCAPE.search(text):
        found = _first_problem(text)
        if found is not None:
            raise _invalid_json(text, *found)
    return value


# -- one request as the handlers see it ---------------------------------------------------------
class Call:
    """One routed request: path parameters, query, body, and the emulator it reached."""

    __slots__ = ("api_version", "body", "emulator", "params", "path", "principal", "query")

    def __init__(
        self,
        emulator: EmulatorServer,
        *,
        path: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
        principal: Principal | None,
    ) -> None:
        self.emulator = emulator
        self.path = path
        self.params = params
        self.query = query
        self.body = body
        self.principal = principal
        self.api_version = params.get("ver") or LEGACY_API_VERSION

    @property
    def portal(self) -> Portal:
        """Return the portal this request works on."""
        return self.emulator.portal

    def json(self) -> Any:
        """Decode the body, answering HubSpot's 400 for anything that is not JSON."""
        return parse_json_body(self.body)

    def json_object(self) -> dict[str, Any]:
        """Decode a body that must be a JSON object."""
        body = self.json()
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object")
        return body

    def json_array(self) -> list[Any]:
        """Decode a body that must be a JSON array."""
        body = self.json()
        if not isinstance(body, list):
            raise validation_error("Invalid input JSON: expected an array")
        return body

    def text(self, name: str) -> str | None:
        """Return a query parameter's last value, as HubSpot reads single-valued ones."""
        values = self.query.get(name)
        return values[-1] if values else None

    def words(self, name: str) -> list[str] | None:
        """Return a list parameter given as a comma list, repeated, or both; None if absent."""
        values = self.query.get(name)
        if not values:
            return None
        words = [word.strip() for value in values for word in value.split(",")]
        return [word for word in words if word] or None

    def integer(self, name: str, default: int) -> int:
        """Return an integer query parameter."""
        value = self.text(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise validation_error(
                f"Invalid value for query parameter '{name}': '{value}' is not an integer",
                context={name: [value]},
            ) from None

    def flag(self, name: str) -> bool:
        """Return a true/false query parameter (false when absent)."""
        value = self.text(name)
        if value is None or value == "":
            return False
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise validation_error(
                f"Invalid value for query parameter '{name}': '{value}' is not true or false",
                context={name: [value]},
            )
        return lowered == "true"

    def with_next_link(self, page: dict[str, Any]) -> dict[str, Any]:
        """Point `paging.next.link` at this URL with the next `after`, absolute as on HubSpot."""
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is not None:
            query = [(k, v) for k, values in self.query.items() if k != "after" for v in values]
            query.append(("after", str(after)))
            encoded = urlencode(query, safe=",")
            link = f"{self.emulator.url}{self.path}?{encoded}"
            page["paging"]["next"]["link"] = link
        return page


# -- handlers ------------------------------------------------------------------------------------
def _list_tickets(call: Call) -> Result:
    page = call.portal.list_tickets(
        limit=call.integer("limit", DEFAULT_PAGE_SIZE),
        after=call.text("after"),
        properties=call.words("properties"),
        properties_with_history=call.words("propertiesWithHistory"),
        associations=call.words("associations"),
        archived=call.flag("archived"),
    )
    return 200, call.with_next_link(page)


def _read_ticket(call: Call) -> Result:
    return 200, call.portal.get_ticket(
        call.params["ticketId"],
        id_property=call.text("idProperty"),
        properties=call.words("properties"),
        properties_with_history=call.words("propertiesWithHistory"),
        associations=call.words("associations"),
        archived=call.flag("archived"),
    )


def _create_ticket(call: Call) -> Result:
    return 201, call.portal.create_ticket(call.json_object(), api_version=call.api_version)


def _update_ticket(call: Call) -> Result:
    return 200, call.portal.update_ticket(
        call.params["ticketId"],
        call.json_object(),
        id_property=call.text("idProperty"),
        api_version=call.api_version,
    )


def _archive_ticket(call: Call) -> Result:
    call.portal.archive_ticket(call.params["ticketId"])
    return 204, None


def _batch_read(call: Call) -> Result:
    return call.portal.batch_read(call.json_object(), archived=call.flag("archived"))


def _batch_create(call: Call) -> Result:
    return call.portal.batch_create(call.json_object(), api_version=call.api_version)


def _batch_update(call: Call) -> Result:
    return call.portal.batch_update(call.json_object(), api_version=call.api_version)


def _batch_upsert(call: Call) -> Result:
    return call.portal.batch_upsert(call.json_object(), api_version=call.api_version)


def _batch_archive(call: Call) -> Result:
    call.portal.batch_archive(call.json_object())
    return 204, None


def _search(call: Call) -> Result:
    return 200, call.portal.search(call.json_object())


def _merge(call: Call) -> Result:
    return 200, call.portal.merge(call.json_object())


def _list_properties(call: Call) -> Result:
    return 200, call.portal.list_properties(archived=call.flag("archived"))


def _read_property(call: Call) -> Result:
    return 200, call.portal.get_property(call.params["propertyName"])


def _batch_read_properties(call: Call) -> Result:
    return call.portal.batch_read_properties(call.json_object())


def _list_property_groups(call: Call) -> Result:
    return 200, call.portal.list_property_groups()


def _read_property_group(call: Call) -> Result:
    return 200, call.portal.get_property_group(call.params["groupName"])


def _list_legacy_properties(call: Call) -> Result:
    return 200, call.portal.list_legacy_properties()


def _other_type(call: Call) -> str:
    name = canonical_name(call.params["objectType"])
    assert name is not None, "the route pattern admits known types only"
    return name


def _list_other_properties(call: Call) -> Result:
    return 200, call.portal.list_other_properties(_other_type(call), archived=call.flag("archived"))


def _read_other_property(call: Call) -> Result:
    return 200, call.portal.get_other_property(_other_type(call), call.params["propertyName"])


def _list_schemas(call: Call) -> Result:
    call.flag("archived")  # validated as HubSpot does; a portal without custom objects has none
    return 200, call.portal.list_schemas()


def _create_property(call: Call) -> Result:
    return 201, call.portal.create_property(call.json_object())


def _list_pipelines(call: Call) -> Result:
    return 200, call.portal.list_pipelines()


def _read_pipeline(call: Call) -> Result:
    return 200, call.portal.get_pipeline(call.params["pipelineId"])


def _list_stages(call: Call) -> Result:
    return 200, call.portal.list_stages(call.params["pipelineId"])


def _read_stage(call: Call) -> Result:
    return 200, call.portal.get_stage(call.params["pipelineId"], call.params["stageId"])


def _account_details(call: Call) -> Result:
    return 200, account_details(call.emulator.config.portal_id)


def _list_ticket_associations(call: Call) -> Result:
    page = call.portal.list_ticket_associations(
        call.params["ticketId"],
        call.params["toObjectType"],
        limit=call.integer("limit", DEFAULT_ASSOCIATIONS_PAGE_SIZE),
        after=call.text("after"),
    )
    return 200, call.with_next_link(page)


def _associate(call: Call) -> Result:
    # HubSpot documents 201 with the labels now between the two records.
    return 201, call.portal.associate(
        call.params["ticketId"],
        call.params["toObjectType"],
        call.params["toObjectId"],
        call.json_array(),
    )


def _associate_default(call: Call) -> Result:
    """Link a ticket to a record with the unlabeled type; no body, both directions answered."""
    clock = call.emulator.clock
    started = clock.iso_now()
    results = call.portal.associate_default(
        TICKETS, call.params["ticketId"], call.params["toObjectType"], call.params["toObjectId"]
    )
    return _batch_answer(results, [], started, clock.iso_now(), 200)


def _dissociate(call: Call) -> Result:
    call.portal.dissociate(
        call.params["ticketId"], call.params["toObjectType"], call.params["toObjectId"], None
    )
    return 204, None


def _type_id(call: Call) -> int:
    raw = call.params["associationTypeId"]
    try:
        return int(raw)
    except ValueError:
        raise validation_error(
            f"Invalid association type id '{raw}': not an integer",
            context={"associationTypeId": [raw]},
        ) from None


def _associate_v3(call: Call) -> Result:
    """Associate with one type id; answer the ticket with that association, as v3 does."""
    ticket_id, to_type = call.params["ticketId"], call.params["toObjectType"]
    type_id = _type_id(call)
    labels = call.portal.association_labels(TICKETS, to_type).get("results", [])
    # The v3 path names only a type id; its category comes from the portal's label list.
    category = next(
        (label["category"] for label in labels if label.get("typeId") == type_id),
        "HUBSPOT_DEFINED",
    )
    types = [{"associationCategory": category, "associationTypeId": type_id}]
    call.portal.associate(ticket_id, to_type, call.params["toObjectId"], types)
    return 200, call.portal.get_ticket(
        ticket_id,
        id_property=None,
        properties=None,
        properties_with_history=None,
        associations=[to_type],
        archived=False,
    )


def _dissociate_v3(call: Call) -> Result:
    call.portal.dissociate(
        call.params["ticketId"],
        call.params["toObjectType"],
        call.params["toObjectId"],
        _type_id(call),
    )
    return 204, None


def _association_labels(call: Call) -> Result:
    return 200, call.portal.association_labels(
        call.params["fromObjectType"], call.params["toObjectType"]
    )


def _batch_read_associations(call: Call) -> Result:
    return call.portal.batch_read_associations(
        call.params["fromObjectType"], call.params["toObjectType"], call.json_object()
    )


def _inputs(call: Call) -> list[dict[str, Any]]:
    inputs = call.json_object().get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise validation_error("Invalid input JSON: 'inputs' must be a list of objects")
    return inputs


def _ref_id(item: dict[str, Any], side: str) -> str:
    """Return the id of an input's `from` or `to` record (`{id}`), or HubSpot's 400."""
    ref = item.get(side)
    key = ref.get("id") if isinstance(ref, dict) else None
    if key is None or isinstance(key, (dict, list)) or str(key) == "":
        raise validation_error(
            f"Invalid input JSON: each input needs '{side}': {{'id': ...}}",
            context={side: ["missing"]},
        )
    return str(key)


def _ticket_side(call: Call) -> str:
    # The portal holds tickets' associations, so batches must start from tickets.
    if call.params["fromObjectType"] not in TICKET_TYPE.aliases:
        raise validation_error("Only associations from tickets are supported by this emulator")
    return call.params["toObjectType"]


def _batch_answer(
    results: list[Any], errors: list[dict[str, Any]], started: str, completed: str, ok_status: int
) -> Result:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return 207, body
    return ok_status, body


def _error_entry(exc: ApiError) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": "error", "category": exc.category, "message": exc.message}
    if exc.context:
        entry["context"] = exc.context
    return entry


def _batch_create_associations(call: Call) -> Result:
    to_type = _ticket_side(call)
    clock = call.emulator.clock
    started = clock.iso_now()
    results: list[Any] = []
    errors: list[dict[str, Any]] = []
    for item in _inputs(call):
        try:
            from_id, to_id = _ref_id(item, "from"), _ref_id(item, "to")
            results.append(call.portal.associate(from_id, to_type, to_id, item.get("types", [])))
        except ApiError as exc:
            errors.append(_error_entry(exc))
    return _batch_answer(results, errors, started, clock.iso_now(), 201)


def _batch_associate_default(call: Call) -> Result:
    """Link each input's pair with the unlabeled type; 207 names the inputs that failed."""
    from_type, to_type = call.params["fromObjectType"], call.params["toObjectType"]
    clock = call.emulator.clock
    started = clock.iso_now()
    results: list[Any] = []
    errors: list[dict[str, Any]] = []
    for item in _inputs(call):
        try:
            from_id, to_id = _ref_id(item, "from"), _ref_id(item, "to")
            results += call.portal.associate_default(from_type, from_id, to_type, to_id)
        except ApiError as exc:
            errors.append(_error_entry(exc))
    return _batch_answer(results, errors, started, clock.iso_now(), 200)


def _batch_archive_associations(call: Call) -> Result:
    to_type = _ticket_side(call)
    for item in _inputs(call):
        from_id = _ref_id(item, "from")
        targets = item.get("to")
        if not isinstance(targets, list):
            raise validation_error(
                "Invalid input JSON: each input's 'to' must be a list of {id}",
                context={"to": ["missing"]},
            )
        for target in targets:
            if not isinstance(target, dict):
                raise validation_error("Invalid input JSON: each 'to' must be an object {id}")
            try:
                call.portal.dissociate(from_id, to_type, _ref_id({"to": target}, "to"), None)
            except ApiError as exc:
                # Removing what is not there is a no-op on HubSpot's batch archive.
                if exc.status != 404:
                    raise
    return 204, None


def _oauth_token(call: Call) -> Result:
    form = {key: values[-1] for key, values in parse_qs(call.body.decode("latin-1")).items()}
    return call.emulator.auth.token(form)


def _access_token_metadata(call: Call) -> Result:
    return call.emulator.auth.token_metadata(call.params["token"])


def _emulator_stats(call: Call) -> Result:
    return 200, call.emulator.stats()


def _emulator_health(call: Call) -> Result:
    return 200, {"status": "ok"}


def _emulator_reset_stats(call: Call) -> Result:
    call.emulator.reset_stats()
    return 204, None


# -- routing -------------------------------------------------------------------------------------
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
    ("GET", "tickets.list", "objects", "", _list_tickets, READ),
    ("POST", "tickets.create", "objects", "", _create_ticket, WRITE),
    ("POST", "tickets.search", "objects", "/search", _search, SEARCH),
    ("POST", "tickets.batch_read", "objects", "/batch/read", _batch_read, READ),
    ("POST", "tickets.batch_create", "objects", "/batch/create", _batch_create, WRITE),
    ("POST", "tickets.batch_update", "objects", "/batch/update", _batch_update, WRITE),
    ("POST", "tickets.batch_upsert", "objects", "/batch/upsert", _batch_upsert, WRITE),
    ("POST", "tickets.batch_archive", "objects", "/batch/archive", _batch_archive, WRITE),
    ("POST", "tickets.merge", "objects", "/merge", _merge, WRITE),
    ("GET", "tickets.read", "objects", "/{ticketId}", _read_ticket, READ),
    ("PATCH", "tickets.update", "objects", "/{ticketId}", _update_ticket, WRITE),
    ("DELETE", "tickets.archive", "objects", "/{ticketId}", _archive_ticket, WRITE),
    # Before the v3 form below, whose `{toObjectType}` would take "default" for a type.
    (
        "PUT",
        "tickets.associate_default",
        "objects-v4",
        "/{ticketId}/associations/default/{toObjectType}/{toObjectId}",
        _associate_default,
        WRITE,
    ),
    (
        "PUT",
        "tickets.associate_v3",
        "objects",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}/{associationTypeId}",
        _associate_v3,
        WRITE,
    ),
    (
        "DELETE",
        "tickets.dissociate_v3",
        "objects",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}/{associationTypeId}",
        _dissociate_v3,
        WRITE,
    ),
    (
        "GET",
        "tickets.associations",
        "objects-v4",
        "/{ticketId}/associations/{toObjectType}",
        _list_ticket_associations,
        READ,
    ),
    (
        "PUT",
        "tickets.associate",
        "objects-v4",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}",
        _associate,
        WRITE,
    ),
    (
        "DELETE",
        "tickets.dissociate",
        "objects-v4",
        "/{ticketId}/associations/{toObjectType}/{toObjectId}",
        _dissociate,
        WRITE,
    ),
    ("GET", "properties.list", "properties", "", _list_properties, READ),
    ("POST", "properties.create", "properties", "", _create_property, WRITE),
    ("POST", "properties.batch_read", "properties", "/batch/read", _batch_read_properties, READ),
    # Before the read below, whose `{propertyName}` would take "groups" for a name.
    ("GET", "properties.groups", "properties", "/groups", _list_property_groups, READ),
    (
        "GET",
        "properties.group",
        "properties",
        "/groups/{groupName}",
        _read_property_group,
        READ,
    ),
    ("GET", "properties.read", "properties", "/{propertyName}", _read_property, READ),
    ("GET", "tickets.list", "objects-v4-read", "", _list_tickets, READ),
    ("GET", "tickets.read", "objects-v4-read", "/{ticketId}", _read_ticket, READ),
    ("GET", "properties.list_v2", "properties-v2", "/properties", _list_legacy_properties, READ),
    ("GET", "other_properties.list", "other-properties", "", _list_other_properties, READ),
    (
        "GET",
        "other_properties.read",
        "other-properties",
        "/{propertyName}",
        _read_other_property,
        READ,
    ),
    ("GET", "schemas.list", "schemas", "", _list_schemas, READ),
    ("GET", "pipelines.list", "pipelines", "", _list_pipelines, READ),
    ("GET", "pipelines.read", "pipelines", "/{pipelineId}", _read_pipeline, READ),
    ("GET", "pipelines.stages", "pipelines", "/{pipelineId}/stages", _list_stages, READ),
    (
        "GET",
        "pipelines.stage",
        "pipelines",
        "/{pipelineId}/stages/{stageId}",
        _read_stage,
        READ,
    ),
    (
        "GET",
        "associations.labels",
        "associations",
        "/{fromObjectType}/{toObjectType}/labels",
        _association_labels,
        READ,
    ),
    (
        "POST",
        "associations.batch_read",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/read",
        _batch_read_associations,
        READ,
    ),
    (
        "POST",
        "associations.batch_create",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/create",
        _batch_create_associations,
        WRITE,
    ),
    (
        "POST",
        "associations.batch_associate_default",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/associate/default",
        _batch_associate_default,
        WRITE,
    ),
    (
        "POST",
        "associations.batch_archive",
        "associations",
        "/{fromObjectType}/{toObjectType}/batch/archive",
        _batch_archive_associations,
        WRITE,
    ),
    ("POST", "oauth.token", "oauth", "/token", _oauth_token, PUBLIC),
    (
        "GET",
        "oauth.access_token",
        "oauth-v1",
        "/access-tokens/{token}",
        _access_token_metadata,
        PUBLIC,
    ),
    ("GET", "account.details", "account-info", "/details", _account_details, READ),
    ("GET", "emulator.stats", "emulator", "/stats", _emulator_stats, INTERNAL),
    ("GET", "emulator.health", "emulator", "/health", _emulator_health, INTERNAL),
    ("POST", "emulator.reset_stats", "emulator", "/reset-stats", _emulator_reset_stats, INTERNAL),
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


# -- bookkeeping ---------------------------------------------------------------------------------
class Stats:
    """Count answers by route and status, plus dropped connections and injected faults."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock or Clock()
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._started = self._clock.now()
            self._by_route: Counter[tuple[str, str]] = Counter()
            self._events: Counter[str] = Counter()

    def record(self, key: str, status: int | str, *events: str) -> None:
        """Count one request under `"<METHOD> <route>"` with its status (or "dropped")."""
        with self._lock:
            self._by_route[key, str(status)] += 1
            for event in events:
                self._events[event] += 1

    def count_connection(self) -> None:
        """Count one accepted TCP connection, whether or not a request ever arrives on it."""
        with self._lock:
            self._events["connection"] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the counts as JSON."""
        with self._lock:
            by_route: dict[str, dict[str, int]] = {}
            for (key, status), count in sorted(self._by_route.items()):
                by_route.setdefault(key, {})[status] = count
            events = dict(self._events)
            since = self._started
        return {
            "requests": sum(sum(statuses.values()) for statuses in by_route.values()),
            "by_route": by_route,
            "dropped": events.get("dropped", 0),
            "applied_then_dropped": events.get("applied_then_dropped", 0),
            "injected_faults": events.get("injected_fault", 0),
            "rate_limited": events.get("rate_limited", 0),
            # Accepted TCP connections: keep-alive reuse, or a TLS handshake that never became
            # a request, shows here and nowhere else.
            "connections": events.get("connection", 0),
            "since": since,
        }


def _dumps(payload: Any) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A stored value holds a lone UTF-16 surrogate (from a --load file or a portal built in
        # code; request bodies with one are refused). HubSpot runs on the JVM, whose UTF-8
        # encoder never writes a lone surrogate but a replacement; U+FFFD, the Unicode
        # replacement character, keeps the answer valid UTF-8 JSON that any client can read,
        # where an escaped `\ud800` would be refused by strict parsers. Pairs stay pairs.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


# -- HTTP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Admission:
    """The outcome of authenticating a request and counting it against the budgets."""

    principal: Principal | None = None
    verdict: Verdict | None = None
    error: ApiError | None = None  # the authentication failure, answered after the delay

    def result(self) -> tuple[Principal, Verdict]:
        """Return who called and the budgets' verdict, or raise the authentication error."""
        if self.error is not None:
            raise self.error
        assert self.principal is not None
        assert self.verdict is not None
        return self.principal, self.verdict


def _reaches_api(plan: FaultPlan) -> bool:
    """Tell whether a request gets past the edge (no dropped connection, no injected error)."""
    return not plan.drop and plan.status is None


class _Handler(BaseHTTPRequestHandler):
    """Serve one keep-alive connection: many requests in turn."""

    protocol_version = "HTTP/1.1"
    # A request line http.server cannot parse (garbage, a TLS handshake sent to plain HTTP) is
    # answered with a status line and headers, Date included, as HubSpot's edge does, not in
    # the header-less HTTP/0.9 form http.server would otherwise fall back to.
    default_request_version = "HTTP/1.1"
    server_version = "hubspot-emulator"
    timeout = KEEP_ALIVE_TIMEOUT_S
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log only when the emulator is verbose."""
        if self.server.emulator.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Stay quiet: `_serve` logs its own line when verbose."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Date the answers http.server writes itself (malformed requests) by the emulator clock."""
        return self.server.emulator.clock.http_date()

    def do_GET(self) -> None:
        """Serve any method the same way: the route table decides."""
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- the pipeline ---------------------------------------------------------------------------
    def _serve(self) -> None:
        emulator = self.server.emulator
        started = time.perf_counter()
        method = self.command
        status: int | str = 0
        key = f"{method} unknown"
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(400, b"Bad request body\n", "text/plain;charset=utf-8")
            return
        target = self.path
        try:
            if len(target) > emulator.config.max_uri_length:
                # HubSpot's edge answers this before any API logic, in plain text.
                status = 414
                emulator.counters.record(f"{method} uri_too_long", 414)
                self._send(414, b"414 URI Too Long\n", "text/plain;charset=utf-8")
                return
            path, _, query_string = target.partition("?")
            route, params, allowed = ROUTER.match(method, path)
            if route is not None and route.internal:
                status = self._answer_internal(route, params, body)
                return
            if route is not None:
                key = f"{method} {route.name}"
            status = self._serve_api(
                route=route,
                path=path,
                params=params,
                allowed=allowed,
                query_string=query_string,
                body=body,
                key=key,
            )
        finally:
            if emulator.verbose:
                elapsed = (time.perf_counter() - started) * 1000
                sys.stderr.write(f"{method} {target[:200]} -> {status} ({elapsed:.1f} ms)\n")

    def _serve_api(
        self,
        *,
        route: Route | None,
        path: str,
        params: dict[str, str],
        allowed: list[str],
        query_string: str,
        body: bytes,
        key: str,
    ) -> int | str:
        emulator = self.server.emulator
        # Every branch counts before it answers: a client reading the stats right after its
        # answer must find that answer counted.
        stats = emulator.counters
        plan = emulator.faults.plan(write=route is not None and route.write)
        # HubSpot counts a request against its budgets when the request arrives; the injected
        # latency stands for the network and processing time around it. So a request that
        # passes the edge is authenticated and admitted first, and only then delayed.
        admission = None
        if route is not None and route.auth and _reaches_api(plan):
            admission = self._admit(route)
        if plan.delay_s:
            time.sleep(plan.delay_s)
        if plan.drop:
            stats.record(key, "dropped", "dropped")
            self._drop()
            return "dropped"
        if plan.status is not None:
            payload = fault_body(plan.status, str(uuid.uuid4()))
            headers = [("Retry-After", "1")] if emulator.config.retry_after else []
            stats.record(key, plan.status, "injected_fault")
            self._send_json(plan.status, payload, headers)
            return plan.status
        headers = []
        try:
            if route is None:
                status, payload = self._no_route(allowed, headers)
            else:
                principal = None
                if admission is not None:
                    principal, verdict = admission.result()
                    headers.extend(verdict.headers)
                    if not verdict.allowed:
                        if emulator.config.retry_after and verdict.retry_after_s:
                            headers.append(("Retry-After", str(verdict.retry_after_s)))
                        payload = rate_limit_body(
                            verdict.policy or "TEN_SECONDLY_ROLLING", str(uuid.uuid4())
                        )
                        stats.record(key, 429, "rate_limited")
                        self._send_json(429, payload, headers)
                        return 429
                query = parse_qs(query_string, keep_blank_values=True) if query_string else {}
                status, payload = route.handler(
                    Call(
                        emulator,
                        path=path,
                        params=params,
                        query=query,
                        body=body,
                        principal=principal,
                    )
                )
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        except Exception:
            sys.stderr.write(f"hubspot-emulator: error serving {self.command} {self.path[:200]}\n")
            traceback.print_exc(file=sys.stderr)
            status = 500
            payload = ApiError(500, "internal error in the emulator", "INTERNAL_ERROR").body()
        if plan.drop_after_apply:
            stats.record(key, "dropped", "applied_then_dropped")
            self._drop()
            return "dropped"
        stats.record(key, status)
        self._send_json(status, payload, headers)
        return status

    def _admit(self, route: Route) -> _Admission:
        """Authenticate the caller and count the request against its budgets, now."""
        emulator = self.server.emulator
        try:
            principal = emulator.auth.authenticate(self.headers.get("Authorization"))
        except ApiError as exc:
            return _Admission(error=exc)
        verdict = emulator.limiter.admit(principal, search=route.search)
        return _Admission(principal=principal, verdict=verdict)

    def _no_route(self, allowed: list[str], headers: list[tuple[str, str]]) -> Result:
        if allowed:
            headers.append(("Allow", ", ".join(allowed)))
            error = ApiError(
                405, f"HTTP {self.command} is not supported by this resource", "METHOD_NOT_ALLOWED"
            )
        else:
            error = ApiError(404, f"No resource found at {self.path[:200]}", "OBJECT_NOT_FOUND")
        return error.status, error.body()

    def _answer_internal(self, route: Route, params: dict[str, str], body: bytes) -> int:
        status, payload = route.handler(
            Call(self.server.emulator, path="", params=params, query={}, body=body, principal=None)
        )
        self._send_json(status, payload, [])
        return status

    # -- the wire -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        size = int(length)
        if size < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Skip trailers up to the blank line that ends the message.
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send_json(self, status: int, payload: Any, headers: list[tuple[str, str]]) -> None:
        if payload is None or status == 204:
            self._send(status, b"", None, headers)
            return
        extra = headers
        if status >= 400 and isinstance(payload, dict) and "correlationId" in payload:
            extra = [*headers, ("X-HubSpot-Correlation-Id", str(payload["correlationId"]))]
        self._send(status, _dumps(payload), JSON_CONTENT_TYPE, extra)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        # One write per answer: headers and body leave in the same segment, so neither side's
        # Nagle or delayed-ACK logic adds a round trip on keep-alive connections.
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {self.server.emulator.clock.http_date()}"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        if status != 204:
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + body if self.command != "HEAD" else head)
        except OSError:
            # The client went away; nothing left to tell it.
            self.close_connection = True

    def _drop(self) -> None:
        """Close the connection without answering, as a failing network or proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _HttpServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its idle keep-alive connections on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then serve it on its own thread."""
        self.emulator.counters.count_connection()
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection and close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that vanish mid-request; report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake every connection thread so it ends: their reads return end-of-file."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def build_portal(config: EmulatorConfig, clock: Clock | None = None) -> Portal:
    """Create the portal a config describes: seeded and/or loaded from a JSONL file."""
    portal = Portal(
        clock_ms=(clock or Clock(config.clock_offset_s)).now_ms,
        search_lag_ms=config.search_lag_ms,
        required_properties=config.required_properties,
        whole_batch_errors=config.whole_batch_errors,
    )
    if config.tickets > 0:
        portal.seed(config.tickets, config.seed)
    if config.load:
        with open(config.load, encoding="utf-8") as lines:
            portal.load_jsonl(lines)
    return portal


class EmulatorServer:
    """The emulator: a portal served over HTTP on a background thread.

    `config.clock_offset_s` shifts the clock of everything the server builds; a `portal` passed
    in keeps the clock it was built with.
    """

    def __init__(
        self, config: EmulatorConfig, portal: Portal | None = None, *, verbose: bool = False
    ) -> None:
        self.config = config
        self.clock = Clock(config.clock_offset_s)
        self.portal = portal if portal is not None else build_portal(config, self.clock)
        self.verbose = verbose
        self.auth = Authenticator(
            private_token=config.token,
            oauth_clients=config.oauth_clients,
            refresh_tokens=config.refresh_tokens,
            token_lifetime_s=config.token_lifetime_s,
            hub_id=config.portal_id,
        )
        self.limiter = RateLimiter(
            per_10s=config.rate_limit_10s,
            search_per_s=config.search_rate_limit,
            daily=config.daily_limit,
            wall_clock=self.clock.now,
        )
        self.faults = FaultInjector(
            seed=config.seed,
            latency_ms=config.latency_ms,
            jitter_ms=config.jitter_ms,
            fault_rate=config.fault_rate,
            drop_rate=config.drop_rate,
            apply_then_drop_rate=config.apply_then_drop_rate,
        )
        self.counters = Stats(self.clock)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        """Bind the port and serve on a background thread; return self."""
        if self._httpd is not None:
            return self
        self._httpd = _HttpServer((self.config.host, self.config.port), self)
        self._stopped.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"hubspot-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until `stop()` is called from another thread or a signal handler."""
        self.start()
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop serving, close every connection and wait for their threads."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()  # joins the connection threads
        if thread is not None:
            thread.join()
        self._stopped.set()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where and how it is doing --------------------------------------------------------------
    @property
    def port(self) -> int:
        """Return the bound port (a free one when the config asked for 0)."""
        if self._httpd is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL clients use, e.g. http://127.0.0.1:8080."""
        return f"http://{self.config.host}:{self.port}"

    def stats(self) -> dict[str, Any]:
        """Return request counts by route and status, dropped connections and faults."""
        return self.counters.snapshot()

    def reset_stats(self) -> None:
        """Forget the request counts."""
        self.counters.reset()
