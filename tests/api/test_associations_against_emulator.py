"""`read_associations` against the emulator: chunks of 1,000, per-record paging, one shape."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hubspot_api.associations import ASSOCIATION_BATCH_LIMIT, AssociationLink, read_associations
from hubspot_api.errors import HubSpotError
from hubspot_api.paging import PagingLoopError
from hubspot_emulator.server import EmulatorServer
from hubspot_emulator.store import Portal

VERSIONS = [pytest.param("v3", id="legacy"), pytest.param("2026-03", id="2026-03")]
BATCH_READ_ROUTE = "POST associations.batch_read"


def _new_ticket(portal: Portal) -> str:
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    body = {"properties": {"subject": "linked", "hs_pipeline_stage": stage}}
    return str(portal.create_ticket(body, api_version="v3")["id"])


def _link_contacts(portal: Portal, ticket_id: str, count: int) -> list[str]:
    contacts = [portal.add_object("contacts") for _ in range(count)]
    for contact in contacts:
        portal.associate(ticket_id, "contacts", contact, [])
    return contacts


def _batch_reads(server: EmulatorServer) -> int:
    return sum(server.stats()["by_route"].get(BATCH_READ_ROUTE, {}).values())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_link_of_a_ticket_with_1200_contacts(emulator, make_client, version):
    server = emulator()
    crowded, single, lonely = (_new_ticket(server.portal) for _ in range(3))
    contacts = _link_contacts(server.portal, crowded, 1_200)
    server.portal.associate(single, "contacts", contacts[7], [])
    client = make_client(server, api_version=version)
    server.reset_stats()
    links = read_associations(client, "contacts", [crowded, single, lonely])
    # One request, then one per further page of the crowded ticket (500 links a page).
    assert _batch_reads(server) == 3
    by_ticket = Counter(link.from_id for link in links)
    assert by_ticket == {crowded: 1_200, single: 1}
    assert [link.to_id for link in links if link.from_id == crowded] == contacts
    assert {(link.to_type, link.type_id, link.category) for link in links} == {
        ("contacts", 16, "HUBSPOT_DEFINED")
    }
    # Links of one ticket come together, tickets in the order asked.
    assert [link.from_id for link in links] == [crowded] * 1_200 + [single]


def test_more_than_1000_ids_go_out_in_chunks(emulator, make_client):
    server = emulator(tickets=1_100, seed=4)
    ids = server.portal.object_ids("tickets")
    assert len(ids) > ASSOCIATION_BATCH_LIMIT
    client = make_client(server)
    server.reset_stats()
    links = read_associations(client, "companies", [*ids, *ids[:50]])
    assert _batch_reads(server) == 2
    expected = {
        (ticket["id"], str(link["id"]))
        for ticket in server.portal.snapshot()
        if not ticket["archived"]
        for link in ticket.get("associations", {}).get("companies", {}).get("results", [])
    }
    assert expected
    assert {(link.from_id, link.to_id) for link in links} == expected


def test_each_association_type_is_a_link_with_its_label(emulator, make_client):
    server = emulator()
    ticket_id = _new_ticket(server.portal)
    company = server.portal.add_object("companies")
    primary = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 26}
    server.portal.associate(ticket_id, "companies", company, [primary])
    links = read_associations(make_client(server), "companies", [ticket_id])
    assert links == [
        AssociationLink(ticket_id, "companies", company, 339, "HUBSPOT_DEFINED", None),
        AssociationLink(ticket_id, "companies", company, 26, "HUBSPOT_DEFINED", "Primary"),
    ]


def test_links_from_the_other_side(emulator, make_client):
    server = emulator()
    tickets = [_new_ticket(server.portal) for _ in range(3)]
    contact = server.portal.add_object("contacts")
    for ticket_id in tickets:
        server.portal.associate(ticket_id, "contacts", contact, [])
    links = read_associations(make_client(server), "tickets", [contact], from_type="contacts")
    assert [(link.from_id, link.to_id, link.type_id) for link in links] == [
        (contact, ticket_id, 15) for ticket_id in tickets
    ]


def test_no_ids_send_nothing(emulator, make_client):
    server = emulator()
    client = make_client(server)
    server.reset_stats()
    assert read_associations(client, "contacts", []) == []
    assert _batch_reads(server) == 0


class _RepeatingCursor(Portal):
    """Answers every record with one link and the same cursor, page after page."""

    def batch_read_associations(
        self, from_type: str, to_type: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        results = [
            {
                "from": {"id": str(item["id"])},
                "to": [{"toObjectId": 1, "associationTypes": [{"typeId": 16}]}],
                "paging": {"next": {"after": "same"}},
            }
            for item in body["inputs"]
        ]
        return 200, {"status": "COMPLETE", "results": results}


def test_a_repeated_cursor_stops_the_read(emulator, make_client):
    server = emulator(portal=_RepeatingCursor())
    with pytest.raises(PagingLoopError, match="repeated the cursor"):
        read_associations(make_client(server), "contacts", ["5"])


class _Malformed(Portal):
    """Answers a batch read with a result that is not the documented shape."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result

    def batch_read_associations(
        self, from_type: str, to_type: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        return 200, {"status": "COMPLETE", "results": [self.result]}


@pytest.mark.parametrize(
    "result",
    [
        {"to": []},
        {"from": {"id": "5"}, "to": "many"},
        {"from": {"id": "5"}, "to": [{"associationTypes": [{"typeId": 16}]}]},
        {"from": {"id": "5"}, "to": [{"toObjectId": 1, "associationTypes": []}]},
        {"from": {"id": "5"}, "to": [{"toObjectId": 1, "associationTypes": [{"typeId": "x"}]}]},
        "not an object",
    ],
    ids=["no-from", "to-not-a-list", "no-object-id", "no-types", "type-id-not-a-number", "text"],
)
def test_an_answer_not_in_the_documented_shape_is_an_error(emulator, make_client, result):
    server = emulator(portal=_Malformed(result))
    with pytest.raises(HubSpotError):
        read_associations(make_client(server), "contacts", ["5"])


class _Answering(Portal):
    """Answers every association batch read with the same status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__()
        self.answer = (status, body)

    def batch_read_associations(
        self, from_type: str, to_type: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        return self.answer


def _error(category: str, ids: list[str]) -> dict[str, Any]:
    return {"status": "error", "category": category, "message": "...",
            "context": {"fromObjectId": ids}}  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(200, {"status": "COMPLETE", "results": []}, id="empty-results-no-errors"),
        pytest.param(
            207,
            {"status": "COMPLETE", "results": [], "errors": [_error("INTERNAL_ERROR", ["5"])]},
            id="another-error",
        ),
        pytest.param(
            207,
            {"status": "COMPLETE", "results": [], "errors": [_error("OBJECT_NOT_FOUND", ["6"])]},
            id="no-links-of-another-id",
        ),
    ],
)
def test_an_answer_that_says_nothing_of_an_id_sent_is_never_read_as_no_links(
    emulator, make_client, status, body
):
    # Read as "no links", such an answer would have the warehouse delete the ticket's links.
    server = emulator(portal=_Answering(status, body))
    with pytest.raises(HubSpotError, match="association batch read to contacts"):
        read_associations(make_client(server), "contacts", ["5"])


def test_no_links_is_read_from_the_documented_error(emulator, make_client):
    body = {"status": "COMPLETE", "results": [], "errors": [_error("OBJECT_NOT_FOUND", ["5"])]}
    server = emulator(portal=_Answering(207, body))
    assert read_associations(make_client(server), "contacts", ["5"]) == []
