"""Every HubSpot call this project makes, and its path in each API version family.

Legacy (`api_version="v3"`) uses `/crm/v3/...`, `/crm/v4/...` and `/oauth/v1/token`. Dated
versions (`2026-03`, `2026-09`) put the version after the API name with the same bodies:
`/crm/objects/2026-03/tickets`, `/crm/associations/2026-03/{from}/{to}/batch/read`, ...
(https://developers.hubspot.com/docs/api-reference/latest/overview). `path_for` is the only
function that builds a path; nothing else spells one.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote

from hubspot_api.config import LEGACY_API_VERSION

TICKETS = "tickets"


class Budget(Enum):
    """Which of HubSpot's rate-limit budgets a call spends."""

    STANDARD = "standard"  # the rolling ten-second budget
    SEARCH = "search"  # the separate per-second search budget
    NONE = "none"  # not rate limited by the client (the OAuth token endpoint)


class Answer(Enum):
    """The shape of the answer HubSpot documents for a call; `answers.check_answer` holds it."""

    ANY = "any"  # nothing is read from it (204s, the token call, account details)
    OBJECT = "object"  # one object with its `id`
    LIST = "list"  # a page: `results` (objects with `id`), `paging.next.after` optional
    SEARCH = "search"  # `total` and `results` (objects with `id`)
    BATCH = "batch"  # `results` (objects with `id`), `errors` optional
    BATCH_WRITE = "batch_write"  # a batch that accounts for every input (results or errors)
    RESULTS = "results"  # `results`, a list of objects (properties, associations)
    # `results`: pipelines, each with an `id` and its `stages`, each stage with an `id` (text:
    # a pipeline's id need not be a number)
    PIPELINES = "pipelines"
    PIPELINE = "pipeline"  # one pipeline, the same shape


@dataclass(frozen=True)
class CallSpec:
    """How one call is sent: method, both path templates, retry safety, budget, answer."""

    method: str
    legacy: str
    dated: str  # `{v}` stands for the dated version
    idempotent: bool = True
    budget: Budget = Budget.STANDARD
    answer: Answer = Answer.ANY
    # Sent as POST but changes nothing in HubSpot (a search, a batch read); a GET never does.
    reads_only: bool = False

    @property
    def writes(self) -> bool:
        """Tell whether the call may change something in HubSpot."""
        return self.method != "GET" and not self.reads_only


_OBJ_LEGACY = "/crm/v3/objects/tickets"
_OBJ_DATED = "/crm/objects/{v}/tickets"
_ASSOC_OBJ_LEGACY = "/crm/v4/objects/tickets/{ticket_id}/associations/{to_type}"
_ASSOC_OBJ_DATED = "/crm/objects/{v}/tickets/{ticket_id}/associations/{to_type}"
_ASSOC_LEGACY = "/crm/v4/associations/{from_type}/{to_type}"
_ASSOC_DATED = "/crm/associations/{v}/{from_type}/{to_type}"


class Call(Enum):
    """A logical HubSpot call; `spec` says how it is sent."""

    LIST_TICKETS = "list_tickets"
    READ_TICKET = "read_ticket"
    CREATE_TICKET = "create_ticket"
    UPDATE_TICKET = "update_ticket"
    ARCHIVE_TICKET = "archive_ticket"
    BATCH_READ = "batch_read"
    BATCH_CREATE = "batch_create"
    BATCH_UPDATE = "batch_update"
    BATCH_UPSERT = "batch_upsert"
    BATCH_ARCHIVE = "batch_archive"
    SEARCH = "search"
    MERGE = "merge"
    LIST_PROPERTIES = "list_properties"
    CREATE_PROPERTY = "create_property"
    READ_PROPERTY = "read_property"
    BATCH_READ_PROPERTIES = "batch_read_properties"
    LIST_PIPELINES = "list_pipelines"
    READ_PIPELINE = "read_pipeline"
    BATCH_READ_ASSOCIATIONS = "batch_read_associations"
    BATCH_CREATE_ASSOCIATIONS = "batch_create_associations"
    BATCH_ARCHIVE_ASSOCIATIONS = "batch_archive_associations"
    ASSOCIATION_LABELS = "association_labels"
    LIST_TICKET_ASSOCIATIONS = "list_ticket_associations"
    ASSOCIATE = "associate"
    DISSOCIATE = "dissociate"
    ACCOUNT_DETAILS = "account_details"
    TOKEN = "token"  # noqa: S105 - the name of the OAuth call, not a credential

    @property
    def spec(self) -> CallSpec:
        """Return how this call is sent."""
        return _SPECS[self]

    @property
    def method(self) -> str:
        """Return the HTTP method."""
        return _SPECS[self].method


_SPECS: dict[Call, CallSpec] = {
    Call.LIST_TICKETS: CallSpec("GET", _OBJ_LEGACY, _OBJ_DATED, answer=Answer.LIST),
    Call.READ_TICKET: CallSpec(
        "GET", _OBJ_LEGACY + "/{ticket_id}", _OBJ_DATED + "/{ticket_id}", answer=Answer.OBJECT
    ),
    Call.CREATE_TICKET: CallSpec(
        "POST", _OBJ_LEGACY, _OBJ_DATED, idempotent=False, answer=Answer.OBJECT
    ),
    Call.UPDATE_TICKET: CallSpec(
        "PATCH", _OBJ_LEGACY + "/{ticket_id}", _OBJ_DATED + "/{ticket_id}", answer=Answer.OBJECT
    ),
    Call.ARCHIVE_TICKET: CallSpec(
        "DELETE", _OBJ_LEGACY + "/{ticket_id}", _OBJ_DATED + "/{ticket_id}"
    ),
    Call.BATCH_READ: CallSpec(
        "POST",
        _OBJ_LEGACY + "/batch/read",
        _OBJ_DATED + "/batch/read",
        answer=Answer.BATCH,
        reads_only=True,
    ),
    Call.BATCH_CREATE: CallSpec(
        "POST",
        _OBJ_LEGACY + "/batch/create",
        _OBJ_DATED + "/batch/create",
        idempotent=False,
        answer=Answer.BATCH_WRITE,
    ),
    Call.BATCH_UPDATE: CallSpec(
        "POST",
        _OBJ_LEGACY + "/batch/update",
        _OBJ_DATED + "/batch/update",
        answer=Answer.BATCH_WRITE,
    ),
    Call.BATCH_UPSERT: CallSpec(
        "POST",
        _OBJ_LEGACY + "/batch/upsert",
        _OBJ_DATED + "/batch/upsert",
        answer=Answer.BATCH_WRITE,
    ),
    Call.BATCH_ARCHIVE: CallSpec(
        "POST", _OBJ_LEGACY + "/batch/archive", _OBJ_DATED + "/batch/archive"
    ),
    Call.SEARCH: CallSpec(
        "POST",
        _OBJ_LEGACY + "/search",
        _OBJ_DATED + "/search",
        budget=Budget.SEARCH,
        answer=Answer.SEARCH,
        reads_only=True,
    ),
    # A repeated merge fails or merges the survivor again: never resend blindly.
    Call.MERGE: CallSpec(
        "POST",
        _OBJ_LEGACY + "/merge",
        _OBJ_DATED + "/merge",
        idempotent=False,
        answer=Answer.OBJECT,
    ),
    Call.LIST_PROPERTIES: CallSpec(
        "GET", "/crm/v3/properties/tickets", "/crm/properties/{v}/tickets", answer=Answer.RESULTS
    ),
    # A resend of a create that landed answers 409 (the name exists): the caller reads it then.
    Call.CREATE_PROPERTY: CallSpec(
        "POST", "/crm/v3/properties/tickets", "/crm/properties/{v}/tickets"
    ),
    Call.READ_PROPERTY: CallSpec(
        "GET",
        "/crm/v3/properties/tickets/{property_name}",
        "/crm/properties/{v}/tickets/{property_name}",
    ),
    # A read sent as POST: named properties in the body, so resending it is harmless.
    Call.BATCH_READ_PROPERTIES: CallSpec(
        "POST",
        "/crm/v3/properties/tickets/batch/read",
        "/crm/properties/{v}/tickets/batch/read",
        reads_only=True,
    ),
    Call.LIST_PIPELINES: CallSpec(
        "GET", "/crm/v3/pipelines/tickets", "/crm/pipelines/{v}/tickets", answer=Answer.PIPELINES
    ),
    Call.READ_PIPELINE: CallSpec(
        "GET",
        "/crm/v3/pipelines/tickets/{pipeline_id}",
        "/crm/pipelines/{v}/tickets/{pipeline_id}",
        answer=Answer.PIPELINE,
    ),
    Call.BATCH_READ_ASSOCIATIONS: CallSpec(
        "POST",
        _ASSOC_LEGACY + "/batch/read",
        _ASSOC_DATED + "/batch/read",
        answer=Answer.RESULTS,
        reads_only=True,
    ),
    # Creating an association that exists already is a no-op, so a resend is harmless.
    Call.BATCH_CREATE_ASSOCIATIONS: CallSpec(
        "POST", _ASSOC_LEGACY + "/batch/create", _ASSOC_DATED + "/batch/create"
    ),
    Call.BATCH_ARCHIVE_ASSOCIATIONS: CallSpec(
        "POST", _ASSOC_LEGACY + "/batch/archive", _ASSOC_DATED + "/batch/archive"
    ),
    Call.ASSOCIATION_LABELS: CallSpec(
        "GET", _ASSOC_LEGACY + "/labels", _ASSOC_DATED + "/labels", answer=Answer.RESULTS
    ),
    Call.LIST_TICKET_ASSOCIATIONS: CallSpec(
        "GET", _ASSOC_OBJ_LEGACY, _ASSOC_OBJ_DATED, answer=Answer.RESULTS
    ),
    Call.ASSOCIATE: CallSpec("PUT", _ASSOC_OBJ_LEGACY + "/{to_id}", _ASSOC_OBJ_DATED + "/{to_id}"),
    Call.DISSOCIATE: CallSpec(
        "DELETE", _ASSOC_OBJ_LEGACY + "/{to_id}", _ASSOC_OBJ_DATED + "/{to_id}"
    ),
    # Which portal the credentials reach (portalId), its time zone and currency.
    Call.ACCOUNT_DETAILS: CallSpec("GET", "/account-info/v3/details", "/account-info/{v}/details"),
    # The token endpoint takes a form, answers without rate-limit headers, and a refresh
    # can be repeated safely with the same refresh token.
    Call.TOKEN: CallSpec("POST", "/oauth/v1/token", "/oauth/{v}/token", budget=Budget.NONE),
}


_DEFAULTS = {"from_type": TICKETS}


def template_fields(template: str) -> set[str]:
    """Return the placeholder names of a path template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def path_for(call: Call, version: str, **params: str | int) -> str:
    """Return the path of `call` under `version`, with each parameter percent-encoded.

    `from_type` defaults to `tickets`; every other placeholder must be given, and unknown
    keyword arguments are refused so a typo cannot silently build a wrong path.
    """
    template = call.spec.legacy if version == LEGACY_API_VERSION else call.spec.dated
    fields = template_fields(template) - {"v"}
    values = {**{k: v for k, v in _DEFAULTS.items() if k in fields}, **params}
    missing = fields - values.keys()
    if missing:
        raise ValueError(f"{call.name} needs {', '.join(sorted(missing))}")
    unknown = values.keys() - fields
    if unknown:
        raise ValueError(f"{call.name} takes no {', '.join(sorted(unknown))}")
    encoded = {k: quote(str(v), safe="") for k, v in values.items()}
    for key, raw in values.items():
        if str(raw) == "":
            raise ValueError(f"{call.name}: {key} must not be empty")
    return template.format(v=version, **encoded)
