"""The v4 association batch read over HTTP: per-record paging, cursors, the 1,000-input limit.

A record with more than 500 links answers its first 500 with `paging.next.after` inside its own
result; sending its id again with that cursor (`{inputs: [{id, after}]}`) reads the next page.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from hubspot_emulator.server import EmulatorServer

FAMILIES = [
    pytest.param("/crm/v4/associations", id="v4"),
    pytest.param("/crm/associations/2026-03", id="2026-03"),
]
PAGE = 500
CONTACTS = 1_200


def _new_ticket(server: EmulatorServer) -> str:
    portal = server.portal
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    body = {"properties": {"subject": "crowded", "hs_pipeline_stage": stage}}
    return str(portal.create_ticket(body, api_version="v3")["id"])


def _ticket_with_contacts(server: EmulatorServer, count: int) -> tuple[str, list[str]]:
    """Create a ticket linked to `count` new contacts; return it and their ids."""
    portal = server.portal
    ticket_id = _new_ticket(server)
    contacts = [portal.add_object("contacts") for _ in range(count)]
    for contact in contacts:
        portal.associate(ticket_id, "contacts", contact, [])
    return ticket_id, contacts


def _read(session: requests.Session, url: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    response = session.post(url, json={"inputs": inputs})
    assert response.status_code in (200, 207), response.text
    body: dict[str, Any] = response.json()
    return body


def _result_of(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    (result,) = [r for r in body["results"] if r["from"]["id"] == ticket_id]
    return result


def _linked_ids(result: dict[str, Any]) -> list[str]:
    return [str(link["toObjectId"]) for link in result["to"]]


@pytest.mark.parametrize("prefix", FAMILIES)
def test_a_record_with_many_links_pages_inside_its_result(emulator, api_session, prefix):
    server = emulator(tickets=3, seed=5)
    ticket_id, contacts = _ticket_with_contacts(server, CONTACTS)
    url = f"{server.url}{prefix}/tickets/contacts/batch/read"
    seen: list[str] = []
    inputs: list[dict[str, Any]] = [{"id": ticket_id}]
    pages = 0
    while inputs:
        result = _result_of(_read(api_session, url, inputs), ticket_id)
        pages += 1
        seen += _linked_ids(result)
        after = result.get("paging", {}).get("next", {}).get("after")
        if after is None:
            assert "paging" not in result, "the last page carries no paging"
            inputs = []
        else:
            assert len(result["to"]) == PAGE
            inputs = [{"id": ticket_id, "after": after}]
    assert pages == 3
    assert len(seen) == len(set(seen)) == CONTACTS
    assert set(seen) == set(contacts)


def test_paged_and_fresh_inputs_share_one_request(emulator, api_session):
    server = emulator(tickets=3, seed=5)
    ticket_id, contacts = _ticket_with_contacts(server, CONTACTS)
    other = _new_ticket(server)
    server.portal.associate(other, "contacts", contacts[0], [])
    url = f"{server.url}/crm/v4/associations/tickets/contacts/batch/read"
    first = _result_of(_read(api_session, url, [{"id": ticket_id}]), ticket_id)
    after = first["paging"]["next"]["after"]
    body = _read(api_session, url, [{"id": ticket_id, "after": after}, {"id": other}])
    assert _linked_ids(_result_of(body, ticket_id)) == contacts[PAGE : 2 * PAGE]
    assert _linked_ids(_result_of(body, other)) == [contacts[0]]
    assert "paging" not in _result_of(body, other)


def test_a_record_with_fewer_links_than_a_page_has_no_paging(emulator, api_session):
    server = emulator(tickets=3, seed=5)
    ticket_id, contacts = _ticket_with_contacts(server, PAGE)
    url = f"{server.url}/crm/v4/associations/tickets/contacts/batch/read"
    result = _result_of(_read(api_session, url, [{"id": ticket_id}]), ticket_id)
    assert _linked_ids(result) == contacts
    assert "paging" not in result


def test_links_removed_between_pages_neither_repeat_nor_skip_others(emulator, api_session):
    server = emulator(tickets=3, seed=5)
    ticket_id, contacts = _ticket_with_contacts(server, CONTACTS)
    url = f"{server.url}/crm/v4/associations/tickets/contacts/batch/read"
    first = _result_of(_read(api_session, url, [{"id": ticket_id}]), ticket_id)
    for contact in contacts[:10]:
        server.portal.dissociate(ticket_id, "contacts", contact, None)
    after = first["paging"]["next"]["after"]
    second = _result_of(_read(api_session, url, [{"id": ticket_id, "after": after}]), ticket_id)
    assert _linked_ids(second) == contacts[PAGE : 2 * PAGE]


@pytest.mark.parametrize(
    "after",
    ["not-a-cursor", "MC0yLTE1OTc0MDA2NTg=", "%%%"],
    ids=["garbage", "another-types-cursor", "not-base64"],
)
def test_a_cursor_that_is_not_one_is_a_validation_error(emulator, api_session, after):
    server = emulator(tickets=3, seed=5)
    ticket_id, _ = _ticket_with_contacts(server, 2)
    url = f"{server.url}/crm/v4/associations/tickets/contacts/batch/read"
    response = api_session.post(url, json={"inputs": [{"id": ticket_id, "after": after}]})
    assert response.status_code == 400
    error = response.json()
    assert error["status"] == "error"
    assert error["category"] == "VALIDATION_ERROR"
    assert error["correlationId"]


@pytest.mark.parametrize(("count", "status"), [(1_000, 207), (1_001, 400)], ids=["1000", "1001"])
def test_at_most_1000_inputs(emulator, api_session, count, status):
    server = emulator(tickets=3, seed=5)
    url = f"{server.url}/crm/associations/2026-03/tickets/contacts/batch/read"
    inputs = [{"id": str(1_850_000_000 + n)} for n in range(count)]
    response = api_session.post(url, json={"inputs": inputs})
    assert response.status_code == status, response.text[:300]
    body = response.json()
    if status == 400:
        assert body["status"] == "error"
        assert body["category"] == "VALIDATION_ERROR"
        assert "1001" in body["message"]
        assert body["correlationId"]
    else:
        assert body["status"] == "COMPLETE"
