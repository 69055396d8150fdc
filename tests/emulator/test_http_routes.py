"""The route table over real HTTP: both path families, query parsing, wire-level errors."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
import requests

from hubspot_emulator.store import Portal

OBJECTS = [
    pytest.param("/crm/v3/objects/tickets", id="legacy"),
    pytest.param("/crm/objects/2026-03/tickets", id="2026-03"),
    pytest.param("/crm/objects/2026-09/tickets", id="2026-09"),
]
PROPERTIES = [
    pytest.param("/crm/v3/properties/tickets", id="legacy"),
    pytest.param("/crm/properties/2026-03/tickets", id="2026-03"),
]
PIPELINES = [
    pytest.param("/crm/v3/pipelines/tickets", id="legacy"),
    pytest.param("/crm/pipelines/2026-03/tickets", id="2026-03"),
]
ASSOCIATIONS = [
    pytest.param("/crm/v4/associations", id="legacy"),
    pytest.param("/crm/associations/2026-03", id="2026-03"),
]
ASSOCIATE = [
    pytest.param("/crm/v4/objects/tickets", id="v4"),
    pytest.param("/crm/objects/2026-03/tickets", id="2026-03"),
]


def _first_ids(session: requests.Session, url: str, count: int) -> list[str]:
    page = session.get(f"{url}/crm/v3/objects/tickets", params={"limit": count}).json()
    return [ticket["id"] for ticket in page["results"]]


def _ticket_properties(session: requests.Session, url: str, subject: str) -> dict[str, str]:
    """Return properties for a valid new ticket, read from the portal's own pipelines."""
    pipeline = session.get(f"{url}/crm/v3/pipelines/tickets").json()["results"][0]
    return {
        "subject": subject,
        "hs_pipeline": pipeline["id"],
        "hs_pipeline_stage": pipeline["stages"][0]["id"],
    }


@pytest.mark.parametrize("prefix", OBJECTS)
def test_list_pages_with_json_and_paging(seeded_emulator, api_session, prefix):
    response = api_session.get(f"{seeded_emulator.url}{prefix}", params={"limit": 5})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    page = response.json()
    assert len(page["results"]) == 5
    assert page["paging"]["next"]["after"]


@pytest.mark.parametrize("prefix", OBJECTS)
def test_next_link_is_absolute_and_keeps_the_query(seeded_emulator, api_session, prefix):
    url = f"{seeded_emulator.url}{prefix}"
    query = {"limit": 3, "properties": "subject"}
    first = api_session.get(url, params=query).json()
    link = first["paging"]["next"]["link"]
    assert link.startswith(f"{url}?")
    by_link = api_session.get(link).json()
    by_after = api_session.get(url, params={**query, "after": first["paging"]["next"]["after"]})
    assert by_link == by_after.json()
    assert len(by_link["results"]) == 3


def test_list_defaults_to_ten(seeded_emulator, api_session):
    page = api_session.get(f"{seeded_emulator.url}/crm/v3/objects/tickets").json()
    assert len(page["results"]) == 10


def test_families_answer_with_identical_bodies(seeded_emulator, api_session):
    url = seeded_emulator.url
    query = {"limit": 7, "properties": "subject,hs_pipeline_stage"}
    legacy = api_session.get(f"{url}/crm/v3/objects/tickets", params=query).json()
    dated = api_session.get(f"{url}/crm/objects/2026-03/tickets", params=query).json()
    assert [t["id"] for t in legacy["results"]] == [t["id"] for t in dated["results"]]
    assert [t["properties"] for t in legacy["results"]] == [
        t["properties"] for t in dated["results"]
    ]
    assert legacy["paging"]["next"]["after"] == dated["paging"]["next"]["after"]


@pytest.mark.parametrize("prefix", OBJECTS)
def test_read_one_ticket(seeded_emulator, api_session, prefix):
    (ticket_id,) = _first_ids(api_session, seeded_emulator.url, 1)
    response = api_session.get(f"{seeded_emulator.url}{prefix}/{ticket_id}")
    assert response.status_code == 200
    assert response.json()["id"] == ticket_id


@pytest.mark.parametrize("prefix", OBJECTS)
def test_missing_ticket_is_404(seeded_emulator, api_session, prefix):
    response = api_session.get(f"{seeded_emulator.url}{prefix}/999999999999")
    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("prefix", OBJECTS)
def test_batch_read_and_search(seeded_emulator, api_session, prefix):
    ids = _first_ids(api_session, seeded_emulator.url, 3)
    body = {"inputs": [{"id": i} for i in ids], "properties": ["subject"]}
    response = api_session.post(f"{seeded_emulator.url}{prefix}/batch/read", json=body)
    assert response.status_code == 200
    assert sorted(t["id"] for t in response.json()["results"]) == sorted(ids)
    response = api_session.post(f"{seeded_emulator.url}{prefix}/search", json={"limit": 3})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize("prefix", PROPERTIES)
def test_properties(seeded_emulator, api_session, prefix):
    listing = api_session.get(f"{seeded_emulator.url}{prefix}")
    assert listing.status_code == 200
    assert "subject" in {p["name"] for p in listing.json()["results"]}
    one = api_session.get(f"{seeded_emulator.url}{prefix}/subject")
    assert one.status_code == 200
    assert one.json()["name"] == "subject"


@pytest.mark.parametrize("prefix", PIPELINES)
def test_pipelines(seeded_emulator, api_session, prefix):
    listing = api_session.get(f"{seeded_emulator.url}{prefix}")
    assert listing.status_code == 200
    pipeline = listing.json()["results"][0]
    assert pipeline["stages"]
    one = api_session.get(f"{seeded_emulator.url}{prefix}/{pipeline['id']}")
    assert one.status_code == 200
    assert one.json()["id"] == pipeline["id"]


@pytest.mark.parametrize("prefix", ASSOCIATIONS)
def test_association_labels(seeded_emulator, api_session, prefix):
    response = api_session.get(f"{seeded_emulator.url}{prefix}/tickets/contacts/labels")
    assert response.status_code == 200
    assert 16 in {label["typeId"] for label in response.json()["results"]}


@pytest.mark.parametrize("prefix", OBJECTS)
def test_write_cycle(emulator, api_session, prefix):
    server = emulator(tickets=3, seed=1)
    url = server.url
    properties = _ticket_properties(api_session, url, "printer on fire")
    created = api_session.post(f"{url}{prefix}", json={"properties": properties})
    assert created.status_code == 201, created.text
    ticket_id = created.json()["id"]
    updated = api_session.patch(
        f"{url}{prefix}/{ticket_id}", json={"properties": {"subject": "printer fixed"}}
    )
    assert updated.status_code == 200
    assert updated.json()["properties"]["subject"] == "printer fixed"
    deleted = api_session.delete(f"{url}{prefix}/{ticket_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert "Content-Type" not in deleted.headers
    assert api_session.get(f"{url}{prefix}/{ticket_id}").status_code == 404
    archived = api_session.get(f"{url}{prefix}", params={"archived": "true"}).json()
    assert ticket_id in {t["id"] for t in archived["results"]}


@pytest.mark.parametrize("prefix", OBJECTS)
def test_batch_create_and_archive(emulator, api_session, prefix):
    server = emulator(tickets=1, seed=1)
    properties = _ticket_properties(api_session, server.url, "batch")
    body = {"inputs": [{"properties": properties}, {"properties": properties}]}
    created = api_session.post(f"{server.url}{prefix}/batch/create", json=body)
    assert created.status_code == 201, created.text
    ids = [t["id"] for t in created.json()["results"]]
    archive = {"inputs": [{"id": i} for i in ids]}
    archived = api_session.post(f"{server.url}{prefix}/batch/archive", json=archive)
    assert archived.status_code == 204


def test_required_properties_apply_from_2026_09_only(emulator, api_session):
    server = emulator(tickets=1, seed=1, required_properties=("hs_ticket_priority",))
    properties = _ticket_properties(api_session, server.url, "needs a priority")
    legacy = api_session.post(
        f"{server.url}/crm/objects/2026-03/tickets", json={"properties": properties}
    )
    assert legacy.status_code == 201, legacy.text
    dated = api_session.post(
        f"{server.url}/crm/objects/2026-09/tickets", json={"properties": properties}
    )
    assert dated.status_code == 400
    assert dated.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("prefix", ASSOCIATE)
def test_associate_list_and_dissociate(emulator, api_session, prefix):
    server = emulator(tickets=2, seed=3)
    url = server.url
    (ticket_id,) = _first_ids(api_session, url, 1)
    contact = server.portal.add_object("contacts")
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]
    link = f"{url}{prefix}/{ticket_id}/associations/contacts/{contact}"
    put = api_session.put(link, json=types)
    assert put.status_code == 201, put.text
    listed = api_session.get(f"{url}{prefix}/{ticket_id}/associations/contacts").json()
    assert contact in {str(r["toObjectId"]) for r in listed["results"]}
    assert api_session.delete(link).status_code == 204
    listed = api_session.get(f"{url}{prefix}/{ticket_id}/associations/contacts").json()
    assert contact not in {str(r["toObjectId"]) for r in listed["results"]}


def test_v3_association_form(emulator, api_session):
    server = emulator(tickets=2, seed=3)
    url = server.url
    (ticket_id,) = _first_ids(api_session, url, 1)
    contact = server.portal.add_object("contacts")
    path = f"{url}/crm/v3/objects/tickets/{ticket_id}/associations/contacts/{contact}/16"
    put = api_session.put(path)
    assert put.status_code == 200, put.text
    assert put.json()["id"] == ticket_id
    assert api_session.delete(path).status_code == 204
    assert api_session.put(path.replace("/16", "/sixteen")).status_code == 400


@pytest.mark.parametrize("prefix", ASSOCIATIONS)
def test_association_batches(emulator, api_session, prefix):
    server = emulator(tickets=2, seed=3)
    url = server.url
    ticket_id = _first_ids(api_session, url, 1)[0]
    contact = server.portal.add_object("contacts")
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]
    create = {"inputs": [{"from": {"id": ticket_id}, "to": {"id": contact}, "types": types}]}
    created = api_session.post(f"{url}{prefix}/tickets/contacts/batch/create", json=create)
    assert created.status_code == 201, created.text
    read = {"inputs": [{"id": ticket_id}]}
    found = api_session.post(f"{url}{prefix}/tickets/contacts/batch/read", json=read)
    assert found.status_code == 200
    (result,) = found.json()["results"]
    assert contact in {str(to["toObjectId"]) for to in result["to"]}
    archive = {"inputs": [{"from": {"id": ticket_id}, "to": [{"id": contact}]}]}
    archived = api_session.post(f"{url}{prefix}/tickets/contacts/batch/archive", json=archive)
    assert archived.status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/crm/v3/objects/widgets", 404),
        ("GET", "/crm/objects/2025-01/tickets", 404),
        ("GET", "/nothing/here", 404),
        ("DELETE", "/crm/v3/objects/tickets", 405),
        ("PUT", "/crm/v3/properties/tickets", 405),
    ],
    ids=["unknown-object", "unknown-version", "unknown-path", "delete-list", "put-properties"],
)
def test_unknown_paths_and_methods(seeded_emulator, api_session, method, path, status):
    response = api_session.request(method, f"{seeded_emulator.url}{path}")
    assert response.status_code == status
    body = response.json()
    assert body["status"] == "error"
    assert body["correlationId"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe"],
    ids=["broken", "empty", "not-utf8"],
)
def test_invalid_json_is_a_validation_error(seeded_emulator, api_session, body):
    response = api_session.post(
        f"{seeded_emulator.url}/crm/v3/objects/tickets/search",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()
    assert error["category"] == "VALIDATION_ERROR"
    assert error["message"].startswith("Invalid input JSON")


def test_wrong_json_shape_is_a_validation_error(seeded_emulator, api_session):
    response = api_session.post(f"{seeded_emulator.url}/crm/v3/objects/tickets/search", json=[1])
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_uri_longer_than_the_limit_is_414(seeded_emulator, api_session):
    path = "/crm/v3/objects/tickets?properties="
    url = f"{seeded_emulator.url}{path}"
    fits = ",".join(["subject"] * ((16_000 - len(path)) // len("subject,")))
    assert len(path + fits) <= 16_000
    assert api_session.get(url + fits).status_code == 200
    too_long = fits + ",content" * 10
    assert len(path + too_long) > 16_000
    response = api_session.get(url + too_long)
    assert response.status_code == 414
    assert b"URI Too Long" in response.content
    # The connection stays usable after a 414.
    assert api_session.get(url + "subject").status_code == 200


def test_uri_limit_follows_the_config(emulator, api_session):
    server = emulator(max_uri_length=60)
    response = api_session.get(f"{server.url}/crm/v3/objects/tickets?properties={'x' * 40}")
    assert response.status_code == 414


def test_repeated_and_comma_list_params_mean_the_same(seeded_emulator, api_session):
    url = f"{seeded_emulator.url}/crm/v3/objects/tickets"
    comma = api_session.get(f"{url}?limit=3&properties=subject,content").json()
    repeated = api_session.get(f"{url}?limit=3&properties=subject&properties=content").json()
    mixed = api_session.get(f"{url}?limit=3&properties=subject,&properties=content").json()
    assert comma["results"] == repeated["results"] == mixed["results"]
    for ticket in comma["results"]:
        assert {"subject", "content"} <= set(ticket["properties"])


def test_properties_with_history_param(seeded_emulator, api_session):
    url = f"{seeded_emulator.url}/crm/v3/objects/tickets"
    page = api_session.get(url, params={"limit": 2, "propertiesWithHistory": "subject"}).json()
    for ticket in page["results"]:
        assert ticket["propertiesWithHistory"]["subject"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "abc"},
        {"limit": "101"},
        {"limit": "51", "propertiesWithHistory": "subject"},
        {"archived": "maybe"},
    ],
    ids=["not-a-number", "over-100", "history-over-50", "archived-not-bool"],
)
def test_query_validation(seeded_emulator, api_session, query):
    response = api_session.get(f"{seeded_emulator.url}/crm/v3/objects/tickets", params=query)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_limit_of_one_hundred_is_fine(seeded_emulator, api_session):
    page = api_session.get(
        f"{seeded_emulator.url}/crm/v3/objects/tickets", params={"limit": 100}
    ).json()
    assert len(page["results"]) == 100


def test_keep_alive_serves_many_requests_on_one_connection(seeded_emulator):
    host, port = seeded_emulator.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        sockets = set()
        for _ in range(3):
            connection.request(
                "GET", "/crm/v3/objects/tickets?limit=1", headers={"Authorization": "Bearer x"}
            )
            response = connection.getresponse()
            assert response.status == 401
            response.read()
            sockets.add(id(connection.sock))
            connection.request("GET", "/_emulator/health")
            response = connection.getresponse()
            assert json.loads(response.read()) == {"status": "ok"}
        assert len(sockets) == 1
    finally:
        connection.close()


def test_chunked_request_body(seeded_emulator, api_session):
    def chunks() -> Any:
        yield b'{"limit":'
        yield b"2}"

    response = api_session.post(
        f"{seeded_emulator.url}/crm/v3/objects/tickets/search",
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


class _BrokenPortal(Portal):
    def list_tickets(self, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("boom")


def test_unexpected_errors_are_500_and_logged(emulator, api_session, capsys):
    server = emulator(portal=_BrokenPortal())
    response = api_session.get(f"{server.url}/crm/v3/objects/tickets")
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "error"
    assert body["correlationId"]
    assert "RuntimeError: boom" in capsys.readouterr().err
    # The server keeps serving after it.
    assert api_session.get(f"{server.url}/crm/v3/properties/tickets").status_code == 200
