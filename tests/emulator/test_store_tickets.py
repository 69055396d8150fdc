"""Ticket reads and writes on the Portal directly: shapes, validation, history, archiving."""

from __future__ import annotations

from typing import Any

import pytest

from hubspot_emulator.errors import ApiError
from hubspot_emulator.properties import DEFAULT_TICKET_PROPERTIES
from hubspot_emulator.store import Portal

START_MS = 1_800_000_000_000  # 2027-01-15T08:00:00.000Z


class Clock:
    """A hand-driven clock in epoch milliseconds."""

    def __init__(self, now: int = START_MS) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def tick(self, ms: int = 1_000) -> None:
        self.now += ms


def make_portal(**kwargs: Any) -> tuple[Portal, Clock]:
    clock = Clock()
    return Portal(clock_ms=clock, **kwargs), clock


def first_stage(portal: Portal, pipeline: int = 0) -> str:
    return portal.list_pipelines()["results"][pipeline]["stages"][0]["id"]


def closed_stage(portal: Portal) -> str:
    stages = portal.list_pipelines()["results"][0]["stages"]
    return next(s["id"] for s in stages if s["metadata"]["ticketState"] == "CLOSED")


def create(portal: Portal, api_version: str = "v3", **properties: Any) -> dict[str, Any]:
    body = {"subject": "Printer on fire", "hs_pipeline_stage": first_stage(portal), **properties}
    return portal.create_ticket({"properties": body}, api_version=api_version)


def read(portal: Portal, ticket_id: str, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "id_property": None,
        "properties": None,
        "properties_with_history": None,
        "associations": None,
        "archived": False,
    }
    args.update(kwargs)
    return portal.get_ticket(ticket_id, **args)


def listing(portal: Portal, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "limit": 10,
        "after": None,
        "properties": None,
        "properties_with_history": None,
        "associations": None,
        "archived": False,
    }
    args.update(kwargs)
    return portal.list_tickets(**args)


# -- create and read ----------------------------------------------------------------------------
def test_create_returns_hubspot_shape_with_maintained_properties():
    portal, _ = make_portal()
    ticket = create(portal)
    assert ticket["id"].isdigit()
    properties = ticket["properties"]
    assert properties["hs_object_id"] == ticket["id"]
    assert properties["createdate"] == "2027-01-15T08:00:00.000Z"
    assert properties["hs_lastmodifieddate"] == "2027-01-15T08:00:00.000Z"
    assert properties["hs_pipeline"] == "0"  # the default pipeline when none is given
    assert ticket["createdAt"] == ticket["updatedAt"] == "2027-01-15T08:00:00.000Z"
    assert ticket["archived"] is False
    assert all(isinstance(value, str) for value in properties.values())


def test_read_defaults_to_hubspots_ticket_properties():
    portal, _ = make_portal()
    ticket = create(portal, hs_ticket_priority="HIGH", customer_tier="gold")
    got = read(portal, ticket["id"])
    assert list(got["properties"]) == list(DEFAULT_TICKET_PROPERTIES)
    assert got["properties"]["hs_ticket_priority"] == "HIGH"
    assert got["properties"]["content"] is None


def test_read_ignores_unknown_properties_and_always_returns_the_basics():
    portal, _ = make_portal()
    ticket = create(portal, customer_tier="gold")
    got = read(portal, ticket["id"], properties=["customer_tier", "no_such_property"])
    assert got["properties"] == {
        "customer_tier": "gold",
        "createdate": ticket["properties"]["createdate"],
        "hs_lastmodifieddate": ticket["properties"]["hs_lastmodifieddate"],
        "hs_object_id": ticket["id"],
    }


@pytest.mark.parametrize(
    ("name", "given", "stored"),
    [
        ("estimated_effort_hours", 2.5, "2.5"),
        ("estimated_effort_hours", " 7 ", "7"),
        ("is_escalated", True, "true"),
        ("is_escalated", "FALSE", "false"),
        ("last_customer_reply_at", "1800000000123", "2027-01-15T08:00:00.123Z"),
        ("last_customer_reply_at", "2027-01-15T09:00:00+01:00", "2027-01-15T08:00:00.000Z"),
        ("sla_due_date", "2027-02-01", "2027-02-01"),
        ("sla_due_date", 1_801_440_000_000, "2027-02-01"),
        ("affected_products", "web_app;public_api;web_app", "web_app;public_api"),
        ("site_location", "52.52,13.405", "52.52,13.405"),
    ],
    ids=[
        "float-number",
        "padded-number",
        "json-bool",
        "upper-bool",
        "epoch-datetime",
        "offset-datetime",
        "iso-date",
        "midnight-epoch-date",
        "multi-select-dedupe",
        "coordinates",
    ],
)
def test_values_are_stored_normalised(name, given, stored):
    portal, _ = make_portal()
    ticket = create(portal, **{name: given})
    assert ticket["properties"][name] == stored


@pytest.mark.parametrize(
    ("properties", "code", "name"),
    [
        ({"foo": "x"}, "PROPERTY_DOESNT_EXIST", "foo"),
        ({"hs_object_id": "12"}, "READ_ONLY_VALUE", "hs_object_id"),
        ({"time_to_close": "12"}, "READ_ONLY_VALUE", "time_to_close"),
        ({"hs_ticket_priority": "SOMEDAY"}, "INVALID_OPTION", "hs_ticket_priority"),
        ({"affected_products": "web_app;toaster"}, "INVALID_OPTION", "affected_products"),
        ({"is_escalated": "maybe"}, "INVALID_OPTION", "is_escalated"),
        ({"estimated_effort_hours": "lots"}, "INVALID_INTEGER", "estimated_effort_hours"),
        ({"sla_due_date": "1800000000001"}, "INVALID_DATE", "sla_due_date"),
        ({"sla_due_date": "2027-02-30"}, "INVALID_DATE", "sla_due_date"),
        ({"last_customer_reply_at": "yesterday"}, "INVALID_DATETIME", "last_customer_reply_at"),
        ({"site_location": "north pole"}, "INVALID_OBJECT_COORDINATES", "site_location"),
        ({"subject": ""}, "REQUIRED_FIELD", "subject"),
        ({"hs_pipeline_stage": ""}, "REQUIRED_FIELD", "hs_pipeline_stage"),
        ({"hs_pipeline": "999"}, "INVALID_OPTION", "hs_pipeline"),
        ({"hs_pipeline_stage": "1034562912"}, "INVALID_OPTION", "hs_pipeline_stage"),
        ({"hs_pinned_engagement_id": "67000000001"}, "INVALID_PINNED_ENGAGEMENT", None),
    ],
    ids=[
        "unknown",
        "read-only",
        "calculated",
        "bad-option",
        "bad-multi-option",
        "bad-bool",
        "bad-number",
        "date-not-midnight",
        "date-impossible",
        "bad-datetime",
        "bad-coordinates",
        "missing-subject",
        "missing-stage",
        "unknown-pipeline",
        "stage-of-other-pipeline",
        "pin-unassociated",
    ],
)
def test_create_validation_errors_name_the_property(properties, code, name):
    portal, _ = make_portal()
    with pytest.raises(ApiError) as caught:
        create(portal, **properties)
    error = caught.value
    assert error.status == 400
    assert error.category == "VALIDATION_ERROR"
    assert error.message.startswith("Property values were not valid")
    assert error.errors is not None
    assert [item["code"] for item in error.errors] == [code]
    expected = name or next(iter(properties))
    assert error.errors[0]["context"] == {"propertyName": [expected]}
    assert listing(portal)["results"] == []  # nothing written


def test_unknown_property_message_is_hubspots():
    portal, _ = make_portal()
    with pytest.raises(ApiError) as caught:
        create(portal, foo="x")
    assert caught.value.errors is not None
    assert caught.value.errors[0]["message"] == 'Property "foo" does not exist'


def test_stage_must_belong_to_the_given_pipeline():
    portal, _ = make_portal()
    escalations = portal.list_pipelines()["results"][1]
    ticket = create(portal, hs_pipeline=escalations["id"], hs_pipeline_stage=first_stage(portal, 1))
    assert ticket["properties"]["hs_pipeline"] == escalations["id"]
    with pytest.raises(ApiError):
        portal.update_ticket(
            ticket["id"], {"properties": {"hs_pipeline": "0"}}, id_property=None, api_version="v3"
        )


@pytest.mark.parametrize(
    ("api_version", "status"),
    [("v3", 201), ("2026-03", 201), ("2026-09", 400)],
    ids=["legacy", "2026-03", "2026-09"],
)
def test_required_properties_apply_from_2026_09(api_version, status):
    portal, _ = make_portal(required_properties=("hs_ticket_priority",))
    if status == 201:
        create(portal, api_version=api_version)
        return
    with pytest.raises(ApiError) as caught:
        create(portal, api_version=api_version)
    assert caught.value.errors is not None
    assert caught.value.errors[0]["context"] == {"propertyName": ["hs_ticket_priority"]}
    create(portal, api_version=api_version, hs_ticket_priority="LOW")


def test_required_properties_cannot_be_cleared_under_2026_09():
    portal, _ = make_portal(required_properties=("hs_ticket_priority",))
    ticket = create(portal, api_version="2026-09", hs_ticket_priority="LOW")
    with pytest.raises(ApiError):
        portal.update_ticket(
            ticket["id"],
            {"properties": {"hs_ticket_priority": ""}},
            id_property=None,
            api_version="2026-09",
        )


# -- unique values and idProperty ---------------------------------------------------------------
def test_unique_value_conflicts_with_409():
    portal, _ = make_portal()
    create(portal, external_ticket_id="EXT-1")
    with pytest.raises(ApiError) as caught:
        create(portal, external_ticket_id="EXT-1")
    assert caught.value.status == 409
    assert caught.value.category == "CONFLICT"


def test_read_and_update_by_unique_id_property():
    portal, _ = make_portal()
    ticket = create(portal, external_ticket_id="EXT-7")
    got = read(portal, "EXT-7", id_property="external_ticket_id")
    assert got["id"] == ticket["id"]
    portal.update_ticket(
        "EXT-7",
        {"properties": {"subject": "renamed"}},
        id_property="external_ticket_id",
        api_version="v3",
    )
    assert read(portal, ticket["id"], properties=["subject"])["properties"]["subject"] == "renamed"


def test_id_property_must_be_unique_valued():
    portal, _ = make_portal()
    create(portal)
    with pytest.raises(ApiError) as caught:
        read(portal, "Printer on fire", id_property="subject")
    assert caught.value.status == 400


@pytest.mark.parametrize("ticket_id", ["999999", "not-a-number"], ids=["unknown", "non-numeric"])
def test_missing_ticket_is_404(ticket_id):
    portal, _ = make_portal()
    with pytest.raises(ApiError) as caught:
        read(portal, ticket_id)
    assert caught.value.status == 404
    assert caught.value.category == "OBJECT_NOT_FOUND"


# -- updates and history ------------------------------------------------------------------------
def test_update_records_history_newest_first_and_bumps_modified_date():
    portal, clock = make_portal()
    ticket = create(portal, hs_ticket_priority="LOW")
    clock.tick(60_000)
    portal.update_ticket(
        ticket["id"],
        {"properties": {"hs_ticket_priority": "HIGH"}},
        id_property=None,
        api_version="v3",
    )
    got = read(portal, ticket["id"], properties_with_history=["hs_ticket_priority"])
    history = got["propertiesWithHistory"]["hs_ticket_priority"]
    assert [entry["value"] for entry in history] == ["HIGH", "LOW"]
    assert history[0] == {
        "value": "HIGH",
        "timestamp": "2027-01-15T08:01:00.000Z",
        "sourceType": "API",
    }
    assert got["properties"]["hs_lastmodifieddate"] == "2027-01-15T08:01:00.000Z"
    assert got["updatedAt"] == "2027-01-15T08:01:00.000Z"
    assert got["createdAt"] == "2027-01-15T08:00:00.000Z"


def test_unchanged_values_write_no_history_and_no_bump():
    portal, clock = make_portal()
    ticket = create(portal, hs_ticket_priority="LOW")
    clock.tick()
    portal.update_ticket(
        ticket["id"],
        {"properties": {"hs_ticket_priority": "LOW"}},
        id_property=None,
        api_version="v3",
    )
    got = read(portal, ticket["id"], properties_with_history=["hs_ticket_priority"])
    assert len(got["propertiesWithHistory"]["hs_ticket_priority"]) == 1
    assert got["updatedAt"] == ticket["updatedAt"]


def test_empty_string_clears_a_value_and_history_keeps_it():
    portal, clock = make_portal()
    ticket = create(portal, customer_tier="gold")
    clock.tick()
    updated = portal.update_ticket(
        ticket["id"], {"properties": {"customer_tier": ""}}, id_property=None, api_version="v3"
    )
    assert "customer_tier" not in updated["properties"]
    got = read(portal, ticket["id"], properties=["customer_tier"])
    assert got["properties"]["customer_tier"] is None
    history = read(portal, ticket["id"], properties_with_history=["customer_tier"])
    assert [e["value"] for e in history["propertiesWithHistory"]["customer_tier"]] == ["", "gold"]


def test_closing_a_ticket_derives_close_date_and_time_to_close():
    portal, clock = make_portal()
    ticket = create(portal)
    clock.tick(3_600_000)
    closed = portal.update_ticket(
        ticket["id"],
        {"properties": {"hs_pipeline_stage": closed_stage(portal)}},
        id_property=None,
        api_version="v3",
    )["properties"]
    assert closed["hs_is_closed"] == "true"
    assert closed["closed_date"] == "2027-01-15T09:00:00.000Z"
    assert closed["time_to_close"] == "3600000"


# -- archiving ----------------------------------------------------------------------------------
def test_archiving_hides_the_ticket_and_keeps_its_modified_date():
    portal, clock = make_portal()
    ticket = create(portal)
    clock.tick(5_000)
    portal.archive_ticket(ticket["id"])
    with pytest.raises(ApiError):
        read(portal, ticket["id"])
    archived = read(portal, ticket["id"], archived=True)
    assert archived["archived"] is True
    assert archived["archivedAt"] == "2027-01-15T08:00:05.000Z"
    assert archived["updatedAt"] == ticket["updatedAt"]
    assert archived["properties"]["hs_lastmodifieddate"] == ticket["properties"]["createdate"]
    assert listing(portal)["results"] == []
    assert [t["id"] for t in listing(portal, archived=True)["results"]] == [ticket["id"]]


def test_archiving_an_unknown_ticket_is_not_an_error():
    portal, _ = make_portal()
    portal.archive_ticket("123456")


def test_archived_ticket_frees_its_unique_value():
    portal, _ = make_portal()
    ticket = create(portal, external_ticket_id="EXT-9")
    portal.archive_ticket(ticket["id"])
    create(portal, external_ticket_id="EXT-9")


def test_archived_ticket_cannot_be_updated():
    portal, _ = make_portal()
    ticket = create(portal)
    portal.archive_ticket(ticket["id"])
    with pytest.raises(ApiError) as caught:
        portal.update_ticket(
            ticket["id"], {"properties": {"subject": "x"}}, id_property=None, api_version="v3"
        )
    assert caught.value.status == 404


# -- listing ------------------------------------------------------------------------------------
def test_list_pages_in_id_order_with_opaque_cursor():
    portal, _ = make_portal()
    ids = [create(portal)["id"] for _ in range(5)]
    first = listing(portal, limit=2)
    assert [t["id"] for t in first["results"]] == ids[:2]
    cursor = first["paging"]["next"]["after"]
    assert first["paging"]["next"]["link"] == f"?after={cursor}"
    second = listing(portal, limit=2, after=cursor)
    third = listing(portal, limit=2, after=second["paging"]["next"]["after"])
    assert [t["id"] for t in second["results"] + third["results"]] == ids[2:]
    assert "paging" not in third


@pytest.mark.parametrize(
    ("limit", "history", "ok"),
    [(100, None, True), (101, None, False), (50, ["subject"], True), (51, ["subject"], False)],
    ids=["100", "101", "50-with-history", "51-with-history"],
)
def test_list_limits(limit, history, ok):
    portal, _ = make_portal()
    if ok:
        listing(portal, limit=limit, properties_with_history=history)
        return
    with pytest.raises(ApiError) as caught:
        listing(portal, limit=limit, properties_with_history=history)
    assert caught.value.status == 400
    assert caught.value.category == "VALIDATION_ERROR"


def test_list_with_history_and_inline_associations():
    portal, _ = make_portal()
    contact = portal.object_ids("contacts")[0]
    ticket = portal.create_ticket(
        {
            "properties": {"subject": "s", "hs_pipeline_stage": first_stage(portal)},
            "associations": [
                {
                    "to": {"id": contact},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
                }
            ],
        },
        api_version="v3",
    )
    page = listing(
        portal,
        properties_with_history=["subject"],
        associations=["contacts", "companies"],
    )
    (got,) = page["results"]
    assert got["id"] == ticket["id"]
    assert got["propertiesWithHistory"]["subject"][0]["value"] == "s"
    # Only association types with results appear.
    assert got["associations"] == {
        "contacts": {"results": [{"id": contact, "type": "ticket_to_contact"}]}
    }
