"""Paths of every call in both API version families."""

from __future__ import annotations

import pytest

from hubspot_api.paths import Budget, Call, path_for, template_fields

ARGS = {
    "ticket_id": "123",
    "to_type": "contacts",
    "to_id": "9",
    "property_name": "subject",
    "pipeline_id": "0",
}

CASES = [
    (Call.LIST_TICKETS, "/crm/v3/objects/tickets", "/crm/objects/2026-03/tickets"),
    (Call.READ_TICKET, "/crm/v3/objects/tickets/123", "/crm/objects/2026-03/tickets/123"),
    (Call.CREATE_TICKET, "/crm/v3/objects/tickets", "/crm/objects/2026-03/tickets"),
    (Call.UPDATE_TICKET, "/crm/v3/objects/tickets/123", "/crm/objects/2026-03/tickets/123"),
    (Call.ARCHIVE_TICKET, "/crm/v3/objects/tickets/123", "/crm/objects/2026-03/tickets/123"),
    (
        Call.BATCH_READ,
        "/crm/v3/objects/tickets/batch/read",
        "/crm/objects/2026-03/tickets/batch/read",
    ),
    (
        Call.BATCH_CREATE,
        "/crm/v3/objects/tickets/batch/create",
        "/crm/objects/2026-03/tickets/batch/create",
    ),
    (
        Call.BATCH_UPDATE,
        "/crm/v3/objects/tickets/batch/update",
        "/crm/objects/2026-03/tickets/batch/update",
    ),
    (
        Call.BATCH_UPSERT,
        "/crm/v3/objects/tickets/batch/upsert",
        "/crm/objects/2026-03/tickets/batch/upsert",
    ),
    (
        Call.BATCH_ARCHIVE,
        "/crm/v3/objects/tickets/batch/archive",
        "/crm/objects/2026-03/tickets/batch/archive",
    ),
    (Call.SEARCH, "/crm/v3/objects/tickets/search", "/crm/objects/2026-03/tickets/search"),
    (Call.MERGE, "/crm/v3/objects/tickets/merge", "/crm/objects/2026-03/tickets/merge"),
    (Call.LIST_PROPERTIES, "/crm/v3/properties/tickets", "/crm/properties/2026-03/tickets"),
    (Call.CREATE_PROPERTY, "/crm/v3/properties/tickets", "/crm/properties/2026-03/tickets"),
    (
        Call.READ_PROPERTY,
        "/crm/v3/properties/tickets/subject",
        "/crm/properties/2026-03/tickets/subject",
    ),
    (
        Call.BATCH_READ_PROPERTIES,
        "/crm/v3/properties/tickets/batch/read",
        "/crm/properties/2026-03/tickets/batch/read",
    ),
    (Call.LIST_PIPELINES, "/crm/v3/pipelines/tickets", "/crm/pipelines/2026-03/tickets"),
    (Call.READ_PIPELINE, "/crm/v3/pipelines/tickets/0", "/crm/pipelines/2026-03/tickets/0"),
    (
        Call.BATCH_READ_ASSOCIATIONS,
        "/crm/v4/associations/tickets/contacts/batch/read",
        "/crm/associations/2026-03/tickets/contacts/batch/read",
    ),
    (
        Call.BATCH_CREATE_ASSOCIATIONS,
        "/crm/v4/associations/tickets/contacts/batch/create",
        "/crm/associations/2026-03/tickets/contacts/batch/create",
    ),
    (
        Call.BATCH_ARCHIVE_ASSOCIATIONS,
        "/crm/v4/associations/tickets/contacts/batch/archive",
        "/crm/associations/2026-03/tickets/contacts/batch/archive",
    ),
    (
        Call.ASSOCIATION_LABELS,
        "/crm/v4/associations/tickets/contacts/labels",
        "/crm/associations/2026-03/tickets/contacts/labels",
    ),
    (
        Call.LIST_TICKET_ASSOCIATIONS,
        "/crm/v4/objects/tickets/123/associations/contacts",
        "/crm/objects/2026-03/tickets/123/associations/contacts",
    ),
    (
        Call.ASSOCIATE,
        "/crm/v4/objects/tickets/123/associations/contacts/9",
        "/crm/objects/2026-03/tickets/123/associations/contacts/9",
    ),
    (
        Call.DISSOCIATE,
        "/crm/v4/objects/tickets/123/associations/contacts/9",
        "/crm/objects/2026-03/tickets/123/associations/contacts/9",
    ),
    (Call.ACCOUNT_DETAILS, "/account-info/v3/details", "/account-info/2026-03/details"),
    (Call.TOKEN, "/oauth/v1/token", "/oauth/2026-03/token"),
]


def _args(call: Call) -> dict[str, str]:
    fields = template_fields(call.spec.legacy) | template_fields(call.spec.dated)
    return {k: v for k, v in ARGS.items() if k in fields}


@pytest.mark.parametrize(("call", "legacy", "dated"), CASES, ids=[c[0].name for c in CASES])
def test_paths_in_both_families(call, legacy, dated):
    args = _args(call)
    assert path_for(call, "v3", **args) == legacy
    assert path_for(call, "2026-03", **args) == dated
    assert path_for(call, "2026-09", **args) == dated.replace("2026-03", "2026-09")


def test_every_call_is_covered():
    assert {c[0] for c in CASES} == set(Call)


def test_parameters_are_percent_encoded():
    path = path_for(Call.READ_TICKET, "v3", ticket_id="a/b c")
    assert path == "/crm/v3/objects/tickets/a%2Fb%20c"


def test_from_type_can_be_overridden():
    path = path_for(Call.ASSOCIATION_LABELS, "v3", from_type="contacts", to_type="tickets")
    assert path == "/crm/v4/associations/contacts/tickets/labels"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "needs ticket_id"),
        ({"ticket_id": "1", "ticketid": "2"}, "takes no ticketid"),
        ({"ticket_id": ""}, "must not be empty"),
    ],
    ids=["missing", "typo", "empty"],
)
def test_bad_parameters_are_refused(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        path_for(Call.READ_TICKET, "v3", **kwargs)


@pytest.mark.parametrize(
    ("call", "idempotent", "budget"),
    [
        (Call.CREATE_TICKET, False, Budget.STANDARD),
        (Call.BATCH_CREATE, False, Budget.STANDARD),
        (Call.MERGE, False, Budget.STANDARD),
        (Call.CREATE_PROPERTY, True, Budget.STANDARD),
        (Call.BATCH_UPSERT, True, Budget.STANDARD),
        (Call.BATCH_UPDATE, True, Budget.STANDARD),
        (Call.SEARCH, True, Budget.SEARCH),
        (Call.TOKEN, True, Budget.NONE),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_retry_safety_and_budget(call, idempotent, budget):
    assert call.spec.idempotent is idempotent
    assert call.spec.budget is budget
