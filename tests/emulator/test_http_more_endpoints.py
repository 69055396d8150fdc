"""Ticket-related endpoints beside the core routes: default associations, stages, property
batch reads and groups, account details, OAuth token metadata; and errors in HubSpot's shape.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from hubspot_emulator.server import EmulatorServer

ASSOCIATE_DEFAULT = [
    pytest.param("/crm/v4/objects/tickets", id="v4"),
    pytest.param("/crm/objects/2026-03/tickets", id="2026-03"),
]
ASSOCIATIONS = [
    pytest.param("/crm/v4/associations", id="v4"),
    pytest.param("/crm/associations/2026-03", id="2026-03"),
]
PIPELINES = [
    pytest.param("/crm/v3/pipelines/tickets", id="v3"),
    pytest.param("/crm/pipelines/2026-03/tickets", id="2026-03"),
]
PROPERTIES = [
    pytest.param("/crm/v3/properties/tickets", id="v3"),
    pytest.param("/crm/properties/2026-03/tickets", id="2026-03"),
]
ACCOUNT = [
    pytest.param("/account-info/v3/details", id="v3"),
    pytest.param("/account-info/2026-03/details", id="2026-03"),
]
OBJECT_BATCHES = ["read", "create", "update", "upsert", "archive"]


def _new_ticket(server: EmulatorServer) -> str:
    portal = server.portal
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    body = {"properties": {"subject": "linked", "hs_pipeline_stage": stage}}
    return str(portal.create_ticket(body, api_version="v3")["id"])


def _links(server: EmulatorServer, ticket_id: str, to_type: str) -> dict[str, set[int]]:
    page = server.portal.list_ticket_associations(ticket_id, to_type, limit=500, after=None)
    return {
        str(link["toObjectId"]): {kind["typeId"] for kind in link["associationTypes"]}
        for link in page["results"]
    }


def _assert_hubspot_error(response: requests.Response, status: int, category: str) -> None:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"]
    assert body["correlationId"]


# -- default associations ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [("contacts", 16, 15), ("companies", 339, 340), ("deals", 28, 27)],
    ids=["contacts", "companies", "deals"],
)
@pytest.mark.parametrize("prefix", ASSOCIATE_DEFAULT)
def test_associate_with_the_default_type(emulator, api_session, prefix, kind):
    to_type, forward, backward = kind
    server = emulator(tickets=1, seed=2)
    ticket_id = _new_ticket(server)
    other = server.portal.add_object(to_type)
    url = f"{server.url}{prefix}/{ticket_id}/associations/default/{to_type}/{other}"
    response = api_session.put(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert body["startedAt"] <= body["completedAt"]
    assert body["results"] == [
        {
            "from": {"id": ticket_id},
            "to": {"id": other},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t},
        }
        if t == forward
        else {
            "from": {"id": other},
            "to": {"id": ticket_id},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t},
        }
        for t in (forward, backward)
    ]
    assert _links(server, ticket_id, to_type) == {other: {forward}}


@pytest.mark.parametrize("prefix", ASSOCIATE_DEFAULT)
def test_associate_default_with_unknown_records_is_404(emulator, api_session, prefix):
    server = emulator(tickets=1, seed=2)
    ticket_id = _new_ticket(server)
    contact = server.portal.add_object("contacts")
    base = f"{server.url}{prefix}"
    missing_contact = api_session.put(f"{base}/{ticket_id}/associations/default/contacts/1")
    _assert_hubspot_error(missing_contact, 404, "OBJECT_NOT_FOUND")
    missing_ticket = api_session.put(f"{base}/1/associations/default/contacts/{contact}")
    _assert_hubspot_error(missing_ticket, 404, "OBJECT_NOT_FOUND")
    unknown_type = api_session.put(f"{base}/{ticket_id}/associations/default/widgets/{contact}")
    _assert_hubspot_error(unknown_type, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("prefix", ASSOCIATIONS)
def test_batch_associate_default(emulator, api_session, prefix):
    server = emulator(tickets=1, seed=2)
    tickets = [_new_ticket(server), _new_ticket(server)]
    contact = server.portal.add_object("contacts")
    body = {"inputs": [{"from": {"id": t}, "to": {"id": contact}} for t in tickets]}
    url = f"{server.url}{prefix}/tickets/contacts/batch/associate/default"
    response = api_session.post(url, json=body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 4
    assert {(r["from"]["id"], r["associationSpec"]["associationTypeId"]) for r in results} == {
        (tickets[0], 16),
        (tickets[1], 16),
        (contact, 15),
    }
    for ticket_id in tickets:
        assert _links(server, ticket_id, "contacts") == {contact: {16}}


def test_batch_associate_default_from_the_other_side(emulator, api_session):
    server = emulator(tickets=1, seed=2)
    ticket_id = _new_ticket(server)
    company = server.portal.add_object("companies")
    body = {"inputs": [{"from": {"id": company}, "to": {"id": ticket_id}}]}
    url = f"{server.url}/crm/v4/associations/companies/tickets/batch/associate/default"
    response = api_session.post(url, json=body)
    assert response.status_code == 200, response.text
    pairs = [
        (r["from"]["id"], r["associationSpec"]["associationTypeId"])
        for r in response.json()["results"]
    ]
    assert pairs == [(company, 340), (ticket_id, 339)]
    assert _links(server, ticket_id, "companies") == {company: {339}}


def test_batch_associate_default_reports_failed_inputs_in_a_207(emulator, api_session):
    server = emulator(tickets=1, seed=2)
    ticket_id = _new_ticket(server)
    contact = server.portal.add_object("contacts")
    body = {
        "inputs": [
            {"from": {"id": ticket_id}, "to": {"id": contact}},
            {"from": {"id": ticket_id}, "to": {"id": "1"}},
            {"from": {"id": ticket_id}},
        ]
    }
    url = f"{server.url}/crm/v4/associations/tickets/contacts/batch/associate/default"
    response = api_session.post(url, json=body)
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["status"] == "COMPLETE"
    assert len(answer["results"]) == 2
    assert answer["numErrors"] == 2
    assert [e["category"] for e in answer["errors"]] == ["OBJECT_NOT_FOUND", "VALIDATION_ERROR"]
    assert all(e["status"] == "error" and e["message"] for e in answer["errors"])


# -- pipeline stages -----------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", PIPELINES)
def test_pipeline_stages(seeded_emulator, api_session, prefix):
    url = f"{seeded_emulator.url}{prefix}"
    for pipeline in api_session.get(url).json()["results"]:
        stages = api_session.get(f"{url}/{pipeline['id']}/stages")
        assert stages.status_code == 200
        assert stages.json() == {"results": pipeline["stages"]}
        for stage in pipeline["stages"]:
            one = api_session.get(f"{url}/{pipeline['id']}/stages/{stage['id']}")
            assert one.status_code == 200
            assert one.json() == stage


@pytest.mark.parametrize("prefix", PIPELINES)
def test_unknown_pipeline_or_stage_is_404(seeded_emulator, api_session, prefix):
    url = f"{seeded_emulator.url}{prefix}"
    pipeline = api_session.get(url).json()["results"][0]
    other = api_session.get(url).json()["results"][1]
    cases = [
        f"{url}/999/stages",
        f"{url}/999/stages/{pipeline['stages'][0]['id']}",
        f"{url}/{pipeline['id']}/stages/1",
        # A stage of another pipeline is not a stage of this one.
        f"{url}/{pipeline['id']}/stages/{other['stages'][0]['id']}",
    ]
    for case in cases:
        response = api_session.get(case)
        _assert_hubspot_error(response, 404, "OBJECT_NOT_FOUND")
        assert "No resource found" not in response.json()["message"], "a route answers it"


# -- properties by name, groups ------------------------------------------------------------------
@pytest.mark.parametrize("prefix", PROPERTIES)
def test_properties_batch_read(seeded_emulator, api_session, prefix):
    url = f"{seeded_emulator.url}{prefix}"
    listing = {p["name"]: p for p in api_session.get(url).json()["results"]}
    body = {"archived": False, "inputs": [{"name": "subject"}, {"name": "hs_pipeline_stage"}]}
    response = api_session.post(f"{url}/batch/read", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "COMPLETE"
    assert answer["results"] == [listing["subject"], listing["hs_pipeline_stage"]]


def test_properties_batch_read_reports_unknown_names_in_a_207(seeded_emulator, api_session):
    url = f"{seeded_emulator.url}/crm/v3/properties/tickets/batch/read"
    body = {"inputs": [{"name": "subject"}, {"name": "no_such_property"}]}
    response = api_session.post(url, json=body)
    assert response.status_code == 207, response.text
    answer = response.json()
    assert [p["name"] for p in answer["results"]] == ["subject"]
    assert answer["numErrors"] == 1
    (error,) = answer["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"] == {"propertyName": ["no_such_property"]}


@pytest.mark.parametrize(
    "body",
    [{"inputs": "subject"}, {"inputs": [{"label": "x"}]}, {"inputs": [], "archived": "no"}, []],
    ids=["inputs-not-a-list", "input-without-name", "archived-not-bool", "not-an-object"],
)
def test_properties_batch_read_refuses_bad_bodies(seeded_emulator, api_session, body):
    url = f"{seeded_emulator.url}/crm/properties/2026-03/tickets/batch/read"
    _assert_hubspot_error(api_session.post(url, json=body), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("prefix", PROPERTIES)
def test_property_groups(seeded_emulator, api_session, prefix):
    url = f"{seeded_emulator.url}{prefix}"
    response = api_session.get(f"{url}/groups")
    assert response.status_code == 200
    groups = response.json()["results"]
    for group in groups:
        assert set(group) == {"name", "label", "displayOrder", "archived"}
    used = {p["groupName"] for p in api_session.get(url).json()["results"]}
    assert used <= {group["name"] for group in groups}
    one = api_session.get(f"{url}/groups/{groups[0]['name']}")
    assert one.json() == groups[0]
    _assert_hubspot_error(api_session.get(f"{url}/groups/nothing"), 404, "OBJECT_NOT_FOUND")


# -- the account ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ACCOUNT)
def test_account_details(emulator, api_session, path):
    server = emulator(portal_id=55501234)
    response = api_session.get(f"{server.url}{path}")
    assert response.status_code == 200
    details = response.json()
    assert details["portalId"] == 55501234
    for key in ("timeZone", "companyCurrency", "uiDomain", "dataHostingLocation", "utcOffset"):
        assert isinstance(details[key], str), key
        assert details[key], key
    assert details["accountType"] in {"STANDARD", "SANDBOX", "DEVELOPER_TEST", "APP_DEVELOPER"}
    assert isinstance(details["additionalCurrencies"], list)
    assert isinstance(details["utcOffsetMilliseconds"], int)


def test_account_details_has_a_fixed_default_portal_id(emulator, api_session):
    server = emulator()
    first = api_session.get(f"{server.url}/account-info/v3/details").json()
    again = emulator()
    second = api_session.get(f"{again.url}/account-info/v3/details").json()
    assert first["portalId"] == second["portalId"] == server.config.portal_id > 0


def test_account_details_need_a_token(emulator):
    server = emulator()
    response = requests.get(f"{server.url}/account-info/v3/details", timeout=5)
    _assert_hubspot_error(response, 401, "INVALID_AUTHENTICATION")


def _oauth_token(server: EmulatorServer) -> dict[str, Any]:
    form = {
        "grant_type": "refresh_token",
        "client_id": "emulator-client",
        "client_secret": "emulator-secret",
        "refresh_token": "emulator-refresh-token",
    }
    response = requests.post(f"{server.url}/oauth/v1/token", data=form, timeout=5)
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def test_access_token_metadata_names_the_portal(emulator):
    server = emulator(portal_id=7654321)
    token = _oauth_token(server)
    response = requests.get(
        f"{server.url}/oauth/v1/access-tokens/{token['access_token']}", timeout=5
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["hub_id"] == 7654321
    assert info["token"] == token["access_token"]
    assert info["token_type"] == "access"
    assert 0 < info["expires_in"] <= token["expires_in"]
    assert "tickets" in info["scopes"]
    assert isinstance(info["app_id"], int)
    assert info["user"]
    # The same app keeps its id across tokens.
    again = _oauth_token(server)["access_token"]
    other = requests.get(f"{server.url}/oauth/v1/access-tokens/{again}", timeout=5).json()
    assert other["app_id"] == info["app_id"]


def test_access_token_metadata_of_unknown_or_expired_tokens_is_404(emulator):
    server = emulator(token_lifetime_s=0.2)
    token = _oauth_token(server)["access_token"]
    unknown = requests.get(f"{server.url}/oauth/v1/access-tokens/emu-oauth-nothing", timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["status"] == "error"
    assert "No resource found" not in unknown.json()["message"], "a route answers it"
    time.sleep(0.3)
    expired = requests.get(f"{server.url}/oauth/v1/access-tokens/{token}", timeout=5)
    assert expired.status_code == 404


# -- limits and errors in HubSpot's shape --------------------------------------------------------
@pytest.mark.parametrize("operation", OBJECT_BATCHES)
def test_object_batches_take_at_most_100_inputs(seeded_emulator, api_session, operation):
    url = f"{seeded_emulator.url}/crm/objects/2026-03/tickets/batch/{operation}"
    inputs = [{"id": str(n), "properties": {"subject": "x"}} for n in range(101)]
    body: dict[str, Any] = {"inputs": inputs}
    if operation == "upsert":
        body["idProperty"] = "external_ticket_id"
    response = api_session.post(url, json=body)
    _assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "101" in response.json()["message"]


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("create", {"inputs": [{"from": "x", "to": {"id": "1"}, "types": []}]}),
        ("create", {"inputs": [{"from": {"id": {"a": 1}}, "to": {"id": "1"}}]}),
        ("archive", {"inputs": [{"from": {"id": "1"}, "to": {"id": "2"}}]}),
        ("archive", {"inputs": [{"from": {"id": "1"}, "to": ["2"]}]}),
        ("archive", {"inputs": [{"from": 5, "to": []}]}),
        ("associate/default", {"inputs": [{"from": [], "to": {"id": "1"}}]}),
        ("associate/default", {"inputs": "all"}),
        ("read", {"inputs": [{"id": "1", "after": {"x": 1}}]}),
    ],
    ids=[
        "create-from-not-object",
        "create-id-an-object",
        "archive-to-not-a-list",
        "archive-to-not-objects",
        "archive-from-a-number",
        "default-from-a-list",
        "default-inputs-not-a-list",
        "read-after-an-object",
    ],
)
def test_malformed_association_batches_are_hubspot_errors(
    seeded_emulator, api_session, operation, body
):
    url = f"{seeded_emulator.url}/crm/v4/associations/tickets/contacts/batch/{operation}"
    response = api_session.post(url, json=body)
    assert response.status_code in (207, 400), response.text[:300]
    answer = response.json()
    if response.status_code == 400:
        assert answer["status"] == "error"
        assert answer["category"] == "VALIDATION_ERROR"
        assert answer["correlationId"]
    else:
        assert answer["numErrors"] == len(answer["errors"]) >= 1
