"""Associations on the Portal directly: v4 writes and reads, labels, pinning, no bumps."""

from __future__ import annotations

from typing import Any

import pytest

from hubspot_emulator.errors import ApiError
from hubspot_emulator.store import Portal

START_MS = 1_800_000_000_000


class Clock:
    """A hand-driven clock in epoch milliseconds."""

    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now


def make_portal() -> tuple[Portal, Clock]:
    clock = Clock()
    return Portal(clock_ms=clock), clock


def create(portal: Portal, **body: Any) -> str:
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    properties = {"subject": "Linked", "hs_pipeline_stage": stage, **body.pop("properties", {})}
    return str(portal.create_ticket({"properties": properties, **body}, api_version="v3")["id"])


def read(portal: Portal, ticket_id: str, associations: list[str]) -> dict[str, Any]:
    return portal.get_ticket(
        ticket_id,
        id_property=None,
        properties=None,
        properties_with_history=None,
        associations=associations,
        archived=False,
    )


def hubspot(type_id: int) -> dict[str, Any]:
    return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}


def test_associate_returns_v4_shape_and_lists_types():
    portal, _ = make_portal()
    ticket_id = create(portal)
    contact = portal.object_ids("contacts")[0]
    answer = portal.associate(ticket_id, "contacts", contact, [hubspot(16)])
    assert answer == {
        "fromObjectTypeId": "0-5",
        "fromObjectId": int(ticket_id),
        "toObjectTypeId": "0-1",
        "toObjectId": int(contact),
        "labels": [],
    }
    page = portal.list_ticket_associations(ticket_id, "contacts", limit=500, after=None)
    assert page == {
        "results": [
            {
                "toObjectId": int(contact),
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 16, "label": None}],
            }
        ]
    }


def test_labels_come_with_the_default_type():
    portal, _ = make_portal()
    ticket_id = create(portal)
    contact = portal.object_ids("contacts")[0]
    label = {"associationCategory": "USER_DEFINED", "associationTypeId": 87}
    answer = portal.associate(ticket_id, "contacts", contact, [label])
    assert answer["labels"] == ["Reporter"]
    (result,) = portal.list_ticket_associations(ticket_id, "contact", limit=10, after=None)[
        "results"
    ]
    assert [t["typeId"] for t in result["associationTypes"]] == [16, 87]
    inline = read(portal, ticket_id, ["contacts"])["associations"]["contacts"]["results"]
    assert inline == [
        {"id": contact, "type": "ticket_to_contact"},
        {"id": contact, "type": "87"},
    ]


def test_one_primary_company_per_ticket():
    portal, _ = make_portal()
    ticket_id = create(portal)
    first, second = portal.object_ids("companies")[:2]
    portal.associate(ticket_id, "companies", first, [hubspot(26)])
    portal.associate(ticket_id, "companies", second, [hubspot(26)])
    results = portal.list_ticket_associations(ticket_id, "companies", limit=10, after=None)
    types = {
        r["toObjectId"]: [t["typeId"] for t in r["associationTypes"]] for r in results["results"]
    }
    assert types == {int(first): [339], int(second): [339, 26]}


def test_dissociate_one_label_or_everything():
    portal, _ = make_portal()
    ticket_id = create(portal)
    company = portal.object_ids("companies")[0]
    portal.associate(ticket_id, "companies", company, [hubspot(26)])
    portal.dissociate(ticket_id, "companies", company, 26)
    (result,) = portal.list_ticket_associations(ticket_id, "companies", limit=10, after=None)[
        "results"
    ]
    assert [t["typeId"] for t in result["associationTypes"]] == [339]
    portal.dissociate(ticket_id, "companies", company, None)
    assert portal.list_ticket_associations(ticket_id, "companies", limit=10, after=None) == {
        "results": []
    }


def test_association_changes_do_not_bump_the_ticket():
    portal, clock = make_portal()
    ticket_id = create(portal)
    before = read(portal, ticket_id, [])
    clock.now += 60_000
    portal.associate(ticket_id, "contacts", portal.object_ids("contacts")[0], [])
    portal.dissociate(ticket_id, "contacts", portal.object_ids("contacts")[0], None)
    after = read(portal, ticket_id, [])
    assert after["updatedAt"] == before["updatedAt"]
    assert after["properties"]["hs_lastmodifieddate"] == before["properties"]["hs_lastmodifieddate"]


@pytest.mark.parametrize(
    ("to_type", "to_id", "types", "status"),
    [
        ("contacts", "1", [hubspot(16)], 404),
        ("widgets", "1", [], 400),
        ("contacts", None, [hubspot(28)], 400),
        ("contacts", None, [hubspot(999)], 400),
        ("contacts", None, [{"associationCategory": "USER_DEFINED", "associationTypeId": 16}], 400),
    ],
    ids=["unknown-record", "unknown-type", "type-of-other-pair", "unknown-type-id", "bad-category"],
)
def test_associate_refusals(to_type, to_id, types, status):
    portal, _ = make_portal()
    ticket_id = create(portal)
    target = to_id or portal.object_ids("contacts")[0]
    with pytest.raises(ApiError) as caught:
        portal.associate(ticket_id, to_type, target, types)
    assert caught.value.status == status


def test_create_with_associations_to_unknown_record_is_refused():
    portal, _ = make_portal()
    with pytest.raises(ApiError) as caught:
        create(portal, associations=[{"to": {"id": "42"}, "types": [hubspot(16)]}])
    assert caught.value.status == 404


def test_ticket_to_ticket_links_both_ways():
    portal, _ = make_portal()
    first, second = create(portal), create(portal)
    portal.associate(first, "tickets", second, [hubspot(452)])
    back = portal.list_ticket_associations(second, "tickets", limit=10, after=None)
    assert [r["toObjectId"] for r in back["results"]] == [int(first)]


def test_pinning_needs_an_associated_engagement():
    portal, _ = make_portal()
    note = portal.object_ids("notes")[0]
    with pytest.raises(ApiError):
        create(portal, properties={"hs_pinned_engagement_id": note})
    ticket_id = create(
        portal,
        properties={"hs_pinned_engagement_id": note},
        associations=[{"to": {"id": note}, "types": [hubspot(227)]}],
    )
    other = portal.object_ids("notes")[1]
    with pytest.raises(ApiError):
        portal.update_ticket(
            ticket_id,
            {"properties": {"hs_pinned_engagement_id": other}},
            id_property=None,
            api_version="v3",
        )
    portal.associate(ticket_id, "notes", other, [])
    portal.update_ticket(
        ticket_id,
        {"properties": {"hs_pinned_engagement_id": other}},
        id_property=None,
        api_version="v3",
    )


def test_labels_endpoint_both_directions():
    portal, _ = make_portal()
    forward = portal.association_labels("tickets", "companies")["results"]
    assert {"category": "HUBSPOT_DEFINED", "typeId": 339, "label": None} in forward
    assert {"category": "HUBSPOT_DEFINED", "typeId": 26, "label": "Primary"} in forward
    backward = portal.association_labels("companies", "tickets")["results"]
    assert {"category": "HUBSPOT_DEFINED", "typeId": 340, "label": None} in backward


def test_v4_batch_read_reports_ids_without_associations_as_errors():
    portal, _ = make_portal()
    linked, lonely = create(portal), create(portal)
    contact = portal.object_ids("contacts")[0]
    portal.associate(linked, "contacts", contact, [])
    status, body = portal.batch_read_associations(
        "tickets", "contacts", {"inputs": [{"id": linked}, {"id": lonely}]}
    )
    assert status == 207
    assert body["status"] == "COMPLETE"
    assert body["results"] == [
        {
            "from": {"id": linked},
            "to": [
                {
                    "toObjectId": int(contact),
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 16, "label": None}
                    ],
                }
            ],
        }
    ]
    assert body["numErrors"] == 1
    (error,) = body["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error["message"] == f"No contact is associated with ticket {lonely}."
    assert error["context"] == {
        "fromObjectId": [lonely],
        "fromObjectType": ["ticket"],
        "toObjectType": ["contact"],
    }


def test_v4_batch_read_from_the_other_side():
    portal, _ = make_portal()
    ticket_id = create(portal)
    contact = portal.object_ids("contacts")[0]
    portal.associate(ticket_id, "contacts", contact, [])
    status, body = portal.batch_read_associations(
        "contacts", "tickets", {"inputs": [{"id": contact}]}
    )
    assert status == 200
    assert body["results"][0]["to"][0]["toObjectId"] == int(ticket_id)
    assert body["results"][0]["to"][0]["associationTypes"][0]["typeId"] == 15


def test_v4_batch_read_takes_at_most_1000_inputs():
    portal, _ = make_portal()
    with pytest.raises(ApiError) as caught:
        portal.batch_read_associations(
            "tickets", "contacts", {"inputs": [{"id": str(i)} for i in range(1_001)]}
        )
    assert caught.value.status == 400


def test_association_listing_pages():
    portal, _ = make_portal()
    ticket_id = create(portal)
    for contact in portal.object_ids("contacts")[:3]:
        portal.associate(ticket_id, "contacts", contact, [])
    first = portal.list_ticket_associations(ticket_id, "contacts", limit=2, after=None)
    assert len(first["results"]) == 2
    rest = portal.list_ticket_associations(
        ticket_id, "contacts", limit=2, after=first["paging"]["next"]["after"]
    )
    assert len(rest["results"]) == 1
    assert "paging" not in rest


def test_added_objects_can_be_associated():
    portal, _ = make_portal()
    ticket_id = create(portal)
    deal = portal.add_object("deals")
    assert deal in portal.object_ids("deals")
    portal.associate(ticket_id, "deals", deal, [hubspot(28)])
