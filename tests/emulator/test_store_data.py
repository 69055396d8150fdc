"""Seeding, JSONL import, snapshots, and the property and pipeline definitions."""

from __future__ import annotations

import functools
import json
from collections import Counter
from typing import Any

import pytest

from hubspot_emulator.errors import ApiError
from hubspot_emulator.properties import FIELD_TYPES, MAX_UNIQUE_PROPERTIES
from hubspot_emulator.store import Portal

START_MS = 1_800_000_000_000
SEEDED = 600


def make_portal(**kwargs: Any) -> Portal:
    return Portal(clock_ms=lambda: START_MS, **kwargs)


@functools.cache
def seeded() -> tuple[Portal, tuple[dict[str, Any], ...]]:
    """Seed one portal for the read-only checks below."""
    portal = make_portal()
    portal.seed(SEEDED, seed=42)
    return portal, tuple(portal.snapshot())


# -- seeding ------------------------------------------------------------------------------------
def test_seed_is_deterministic():
    _, first = seeded()
    again = make_portal()
    again.seed(SEEDED, seed=42)
    assert again.snapshot() == list(first)
    other = make_portal()
    other.seed(SEEDED, seed=43)
    assert other.snapshot() != list(first)


def test_seed_replaces_the_portals_tickets():
    portal = make_portal()
    portal.seed(20, seed=1)
    portal.seed(10, seed=2)
    assert len(portal.snapshot()) == 10


def test_seeded_portal_looks_real():
    _, tickets = seeded()
    assert len(tickets) == SEEDED
    ids = [int(t["id"]) for t in tickets]
    assert ids == sorted(ids)
    assert len(set(ids)) == SEEDED
    pipelines = Counter(t["properties"]["hs_pipeline"] for t in tickets)
    assert len(pipelines) == 2
    priorities = Counter(t["properties"]["hs_ticket_priority"] for t in tickets)
    assert set(priorities) == {"LOW", "MEDIUM", "HIGH", "URGENT"}
    archived = sum(t["archived"] for t in tickets)
    assert 0 < archived < SEEDED * 0.08
    created = sorted(t["createdAt"] for t in tickets)
    assert created[0] < "2025-03-01" < created[-1]  # spread over about two years
    subjects = {t["properties"]["subject"] for t in tickets}
    assert len(subjects) > SEEDED // 4


def test_seeded_values_cover_every_custom_type():
    _, tickets = seeded()
    names = [
        "external_ticket_id",
        "customer_tier",
        "affected_products",
        "is_escalated",
        "estimated_effort_hours",
        "sla_due_date",
        "callback_phone",
        "site_location",
        "last_customer_reply_at",
    ]
    for name in names:
        assert any(t["properties"].get(name) for t in tickets), name
    assert any(";" in (t["properties"].get("affected_products") or "") for t in tickets)


def test_seeded_history_has_several_sources_and_matches_values():
    _, tickets = seeded()
    sources: Counter[str] = Counter()
    for ticket in tickets:
        for name, entries in ticket["propertiesWithHistory"].items():
            sources.update(entry["sourceType"] for entry in entries)
            timestamps = [entry["timestamp"] for entry in entries]
            assert timestamps == sorted(timestamps, reverse=True), (ticket["id"], name)
            current = ticket["properties"].get(name)
            assert (entries[0]["value"] or None) == current, (ticket["id"], name)
        assert ticket["properties"]["hs_lastmodifieddate"] == ticket["updatedAt"]
    assert {"CRM_UI", "API", "IMPORT", "AUTOMATION_PLATFORM", "CALCULATED"} <= set(sources)
    assert any(len(t["propertiesWithHistory"]["hs_pipeline_stage"]) > 2 for t in tickets)


def test_seeded_associations():
    _, tickets = seeded()
    kinds = Counter(kind for t in tickets for kind in t.get("associations", {}))
    assert {"contacts", "companies", "deals", "notes", "emails", "calls", "tasks"} <= set(kinds)
    pinned = [t for t in tickets if t["properties"].get("hs_pinned_engagement_id")]
    assert pinned
    for ticket in pinned:
        linked = {
            result["id"]
            for kind in ("calls", "emails", "meetings", "notes", "tasks")
            for result in ticket.get("associations", {}).get(kind, {}).get("results", [])
        }
        assert ticket["properties"]["hs_pinned_engagement_id"] in linked


def test_seeded_stages_belong_to_their_pipeline():
    portal, tickets = seeded()
    stages = {
        pipeline["id"]: {stage["id"] for stage in pipeline["stages"]}
        for pipeline in portal.list_pipelines()["results"]
    }
    for ticket in tickets:
        properties = ticket["properties"]
        assert properties["hs_pipeline_stage"] in stages[properties["hs_pipeline"]]


# -- JSONL --------------------------------------------------------------------------------------
def _line(ticket_id: int, **extra: Any) -> str:
    ticket = {
        "id": str(ticket_id),
        "properties": {
            "subject": f"Imported {ticket_id}",
            "hs_pipeline": "0",
            "hs_pipeline_stage": "1034562871",
            "createdate": "2026-01-01T00:00:00.000Z",
            "hs_lastmodifieddate": "2026-06-01T12:00:00.000Z",
        },
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-06-01T12:00:00.000Z",
        "archived": False,
        **extra,
    }
    return json.dumps(ticket)


def test_load_keeps_ids_timestamps_and_shared_modified_dates():
    portal = make_portal()
    count = portal.load_jsonl([_line(5_000_000 + i) for i in range(3_000)] + [""])
    assert count == 3_000
    search = portal.search(
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "EQ",
                            "value": "2026-06-01T12:00:00Z",
                        }
                    ]
                }
            ],
            "limit": 1,
        }
    )
    assert search["total"] == 3_000
    (first,) = portal.list_tickets(
        limit=1,
        after=None,
        properties=None,
        properties_with_history=None,
        associations=None,
        archived=False,
    )["results"]
    assert first["id"] == "5000000"
    assert first["updatedAt"] == "2026-06-01T12:00:00.000Z"
    assert first["properties"]["hs_object_id"] == "5000000"
    created = portal.create_ticket(
        {"properties": {"subject": "after import", "hs_pipeline_stage": "1034562871"}},
        api_version="v3",
    )
    assert int(created["id"]) > 5_002_999


def test_load_takes_history_and_associations_as_given():
    portal = make_portal()
    history = {
        "subject": [
            {
                "value": "Imported 7",
                "timestamp": "2026-03-01T00:00:00.000Z",
                "sourceType": "CRM_UI",
                "updatedByUserId": 9120400,
            },
            {"value": "First draft", "timestamp": "2026-01-01T00:00:00Z", "sourceType": "IMPORT"},
        ]
    }
    associations = {
        "contacts": {"results": [{"id": "901", "type": "ticket_to_contact"}]},
        "companies": {
            "results": [
                {"id": "902", "type": "ticket_to_company_unlabeled"},
                {"id": "902", "type": "ticket_to_company"},
            ]
        },
    }
    archived = {"archived": True, "archivedAt": "2026-07-01T00:00:00.000Z"}
    portal.load_jsonl(
        [
            _line(7, propertiesWithHistory=history, associations=associations),
            _line(8, **archived),
        ]
    )
    got = portal.get_ticket(
        "7",
        id_property=None,
        properties=["subject"],
        properties_with_history=["subject"],
        associations=["contacts", "companies"],
        archived=False,
    )
    assert [e["value"] for e in got["propertiesWithHistory"]["subject"]] == [
        "Imported 7",
        "First draft",
    ]
    assert got["propertiesWithHistory"]["subject"][0]["updatedByUserId"] == 9120400
    assert got["associations"] == associations
    gone = portal.get_ticket(
        "8",
        id_property=None,
        properties=None,
        properties_with_history=None,
        associations=None,
        archived=True,
    )
    assert gone["archivedAt"] == "2026-07-01T00:00:00.000Z"
    # Imported records exist afterwards: a write can associate with them.
    portal.associate("7", "contacts", "901", [])


@pytest.mark.parametrize(
    "line",
    ["{not json", "[1, 2]", json.dumps({"id": "abc", "properties": {}})],
    ids=["bad-json", "not-an-object", "bad-id"],
)
def test_load_names_the_bad_line(line):
    portal = make_portal()
    with pytest.raises(ValueError, match="line 2"):
        portal.load_jsonl([_line(1), line])


def test_snapshot_round_trips_through_load():
    _, tickets = seeded()
    copy = make_portal()
    copy.load_jsonl(json.dumps(ticket) for ticket in tickets)
    assert copy.snapshot() == list(tickets)


# -- properties and pipelines -------------------------------------------------------------------
def test_property_shapes():
    portal = make_portal()
    results = portal.list_properties()["results"]
    assert 30 <= len(results) <= 60
    keys = {
        "name",
        "label",
        "type",
        "fieldType",
        "description",
        "groupName",
        "options",
        "displayOrder",
        "calculated",
        "externalOptions",
        "hasUniqueValue",
        "hidden",
        "hubspotDefined",
        "modificationMetadata",
        "formField",
        "createdAt",
        "updatedAt",
        "archived",
    }
    for prop in results:
        assert keys <= set(prop), prop["name"]
        assert prop["fieldType"] in FIELD_TYPES[prop["type"]], prop["name"]
    assert [p["name"] for p in results if p["hasUniqueValue"]] == ["external_ticket_id"]
    assert {p["type"] for p in results} >= {
        "string",
        "number",
        "bool",
        "enumeration",
        "date",
        "datetime",
        "phone_number",
        "object_coordinates",
    }
    priority = portal.get_property("hs_ticket_priority")
    assert [o["value"] for o in priority["options"]] == ["LOW", "MEDIUM", "HIGH", "URGENT"]
    assert portal.get_property("time_to_close")["modificationMetadata"]["readOnlyValue"] is True
    assert portal.list_properties(archived=True) == {"results": []}


def test_unknown_property_is_404():
    with pytest.raises(ApiError) as caught:
        make_portal().get_property("nope")
    assert caught.value.status == 404


def _definition(**extra: Any) -> dict[str, Any]:
    return {
        "name": "favourite_colour",
        "label": "Favourite colour",
        "type": "string",
        "fieldType": "text",
        "groupName": "support_details",
        **extra,
    }


def test_created_property_can_be_written():
    portal = make_portal()
    created = portal.create_property(_definition())
    assert created["hubspotDefined"] is False
    assert portal.get_property("favourite_colour")["label"] == "Favourite colour"
    ticket = portal.create_ticket(
        {
            "properties": {
                "subject": "x",
                "hs_pipeline_stage": "1034562871",
                "favourite_colour": "teal",
            }
        },
        api_version="v3",
    )
    assert ticket["properties"]["favourite_colour"] == "teal"


@pytest.mark.parametrize(
    ("definition", "status"),
    [
        (_definition(name="subject"), 409),
        (_definition(name="Bad Name"), 400),
        (_definition(type="colour"), 400),
        (_definition(fieldType="booleancheckbox"), 400),
        (_definition(type="enumeration", fieldType="select"), 400),
        (_definition(label=""), 400),
    ],
    ids=["duplicate", "bad-name", "bad-type", "bad-field-type", "enum-without-options", "no-label"],
)
def test_create_property_refusals(definition, status):
    with pytest.raises(ApiError) as caught:
        make_portal().create_property(definition)
    assert caught.value.status == status


def test_at_most_ten_unique_properties():
    portal = make_portal()
    for i in range(MAX_UNIQUE_PROPERTIES - 1):
        portal.create_property(_definition(name=f"unique_{i}", hasUniqueValue=True))
    with pytest.raises(ApiError) as caught:
        portal.create_property(_definition(name="one_too_many", hasUniqueValue=True))
    assert caught.value.status == 400


def test_pipelines_shape_and_stage_ids():
    portal = make_portal()
    pipelines = portal.list_pipelines()["results"]
    assert len(pipelines) >= 2
    assert pipelines[0]["id"] == "0"
    stage_ids = [stage["id"] for pipeline in pipelines for stage in pipeline["stages"]]
    assert not {"1", "2", "3", "4"} & set(stage_ids)
    assert len(set(stage_ids)) == len(stage_ids)
    for pipeline in pipelines:
        assert {
            "id",
            "label",
            "displayOrder",
            "stages",
            "createdAt",
            "updatedAt",
            "archived",
        } <= set(pipeline)
        states = {stage["metadata"]["ticketState"] for stage in pipeline["stages"]}
        assert states == {"OPEN", "CLOSED"}
    assert portal.get_pipeline(pipelines[1]["id"]) == pipelines[1]
    with pytest.raises(ApiError) as caught:
        portal.get_pipeline("404")
    assert caught.value.status == 404
