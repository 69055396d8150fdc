"""Paths HubSpot serves beside the v3 ticket routes: aliases, v4 reads, other types' metadata.

Published connectors call these at start-up or to list tickets: the singular and id aliases of
the ticket type, list and read on v4 object paths, other standard types' property lists, the
custom object schemas, and the legacy v2 properties list.
"""

from __future__ import annotations

import pytest
import requests

V3_LIST = "/crm/v3/objects/tickets"
TICKET_ALIASES = [
    pytest.param("/crm/v3/objects/ticket", id="v3-singular"),
    pytest.param("/crm/v3/objects/0-5", id="v3-type-id"),
    pytest.param("/crm/objects/2026-03/ticket", id="2026-03-singular"),
]
V4_OBJECTS = [
    pytest.param("/crm/v4/objects/tickets", id="v4"),
    pytest.param("/crm/v4/objects/ticket", id="v4-singular"),
    pytest.param("/crm/v4/objects/0-5", id="v4-type-id"),
]
OTHER_PROPERTIES = [
    pytest.param("/crm/v3/properties/contacts", "contactinformation", id="contacts"),
    pytest.param("/crm/v3/properties/company", "companyinformation", id="company-singular"),
    pytest.param("/crm/v3/properties/deals", "dealinformation", id="deals"),
    pytest.param("/crm/v3/properties/leads", "lead_information", id="leads"),
    pytest.param("/crm/v3/properties/line_item", "lineiteminformation", id="line-item"),
    pytest.param("/crm/v3/properties/call", "call", id="call"),
    pytest.param("/crm/v3/properties/0-49", "email", id="email-type-id"),
    pytest.param("/crm/v3/properties/notes", "note", id="notes"),
    pytest.param("/crm/v3/properties/goal_targets", "goal_target_information", id="goals"),
    pytest.param("/crm/properties/2026-03/meetings", "meeting", id="meetings-2026-03"),
]
SCHEMAS = [
    pytest.param("/crm/v3/schemas", id="crm-v3"),
    pytest.param("/crm-object-schemas/v3/schemas", id="object-schemas-v3"),
    pytest.param("/crm-object-schemas/2026-03/schemas", id="2026-03"),
]
LEGACY_PROPERTIES = [
    pytest.param("/properties/v2/tickets/properties", id="plural"),
    pytest.param("/properties/v2/ticket/properties", id="singular"),
]
LEGACY_KEYS = {
    "name",
    "label",
    "description",
    "groupName",
    "type",
    "fieldType",
    "options",
    "displayOrder",
    "formField",
    "readOnlyValue",
    "readOnlyDefinition",
    "hidden",
    "mutableDefinitionNotDeletable",
    "calculated",
    "externalOptions",
    "hubspotDefined",
    "createdAt",
    "updatedAt",
}


def _ids(page: dict) -> list[str]:
    return [ticket["id"] for ticket in page["results"]]


@pytest.mark.parametrize("prefix", TICKET_ALIASES + V4_OBJECTS)
def test_ticket_aliases_and_v4_list_and_read_like_v3(seeded_emulator, api_session, prefix):
    url = seeded_emulator.url
    query = {"limit": 4, "properties": "subject,hs_pipeline", "associations": "contacts"}
    v3 = api_session.get(f"{url}{V3_LIST}", params=query).json()
    response = api_session.get(f"{url}{prefix}", params=query)
    assert response.status_code == 200
    page = response.json()
    assert _ids(page) == _ids(v3)
    assert [t["properties"] for t in page["results"]] == [t["properties"] for t in v3["results"]]
    assert [t.get("associations") for t in page["results"]] == [
        t.get("associations") for t in v3["results"]
    ]
    assert page["paging"]["next"]["link"].startswith(f"{url}{prefix}?")
    nxt = api_session.get(page["paging"]["next"]["link"]).json()
    assert _ids(nxt) == _ids(api_session.get(v3["paging"]["next"]["link"]).json())
    one = api_session.get(f"{url}{prefix}/{v3['results'][0]['id']}")
    assert one.status_code == 200
    assert one.json()["id"] == v3["results"][0]["id"]


@pytest.mark.parametrize("prefix", TICKET_ALIASES)
def test_singular_and_type_id_take_searches_and_batches(seeded_emulator, api_session, prefix):
    url = seeded_emulator.url
    ids = _ids(api_session.get(f"{url}{V3_LIST}", params={"limit": 2}).json())
    batch = api_session.post(f"{url}{prefix}/batch/read", json={"inputs": [{"id": i} for i in ids]})
    assert batch.status_code == 200
    assert sorted(_ids(batch.json())) == sorted(ids)
    search = api_session.post(f"{url}{prefix}/search", json={"limit": 2})
    assert search.status_code == 200
    assert len(search.json()["results"]) == 2


@pytest.mark.parametrize(
    "path",
    ["/crm/v4/objects/tickets/search", "/crm/v4/objects/tickets/batch/read"],
    ids=["search", "batch-read"],
)
def test_v4_object_paths_do_not_take_writes_or_searches(seeded_emulator, api_session, path):
    # HubSpot's v4 object paths serve list and read; POSTs there are not routes.
    response = api_session.post(f"{seeded_emulator.url}{path}", json={})
    assert response.status_code in (404, 405)


def test_ticket_properties_answer_on_the_singular_too(seeded_emulator, api_session):
    url = seeded_emulator.url
    plural = api_session.get(f"{url}/crm/v3/properties/tickets").json()
    singular = api_session.get(f"{url}/crm/v3/properties/ticket").json()
    assert singular == plural


@pytest.mark.parametrize(("path", "group"), OTHER_PROPERTIES)
def test_other_types_list_standard_properties_in_the_ticket_shape(
    seeded_emulator, api_session, path, group
):
    url = seeded_emulator.url
    response = api_session.get(f"{url}{path}")
    assert response.status_code == 200
    results = response.json()["results"]
    names = {p["name"] for p in results}
    assert {"hs_object_id", "hs_lastmodifieddate"} <= names
    assert names & {"createdate", "hs_createdate"}
    ticket_shape = set(api_session.get(f"{url}/crm/v3/properties/tickets").json()["results"][0])
    for prop in results:
        assert set(prop) == ticket_shape
        assert prop["groupName"] == group
        assert prop["hubspotDefined"] is True
    by_name = {p["name"]: p for p in results}
    assert by_name["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    one = api_session.get(f"{url}{path}/hs_object_id")
    assert one.status_code == 200
    assert one.json() == by_name["hs_object_id"]
    missing = api_session.get(f"{url}{path}/no_such_property")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_contacts_keep_their_own_last_modified_name(seeded_emulator, api_session):
    results = api_session.get(f"{seeded_emulator.url}/crm/v3/properties/contacts").json()
    names = {p["name"] for p in results["results"]}
    assert {"email", "firstname", "lastname", "lastmodifieddate", "createdate"} <= names


def test_unknown_object_types_stay_unknown(seeded_emulator, api_session):
    for path in ("/crm/v3/properties/widgets", "/properties/v2/contacts/properties"):
        response = api_session.get(f"{seeded_emulator.url}{path}")
        assert response.status_code == 404, path


@pytest.mark.parametrize("path", SCHEMAS)
def test_schemas_list_no_custom_objects(seeded_emulator, api_session, path):
    url = seeded_emulator.url
    assert api_session.get(f"{url}{path}").json() == {"results": []}
    archived = api_session.get(f"{url}{path}", params={"archived": "true"})
    assert archived.status_code == 200
    assert archived.json() == {"results": []}
    invalid = api_session.get(f"{url}{path}", params={"archived": "maybe"})
    assert invalid.status_code == 400


@pytest.mark.parametrize("path", LEGACY_PROPERTIES)
def test_legacy_v2_properties_are_a_bare_array_in_the_v2_shape(seeded_emulator, api_session, path):
    url = seeded_emulator.url
    response = api_session.get(f"{url}{path}")
    assert response.status_code == 200
    legacy = response.json()
    assert isinstance(legacy, list)
    v3 = {
        p["name"]: p for p in api_session.get(f"{url}/crm/v3/properties/tickets").json()["results"]
    }
    assert [p["name"] for p in legacy] == list(v3)
    for prop in legacy:
        assert set(prop) >= LEGACY_KEYS
        assert "modificationMetadata" not in prop
        current = v3[prop["name"]]
        assert (prop["type"], prop["fieldType"]) == (current["type"], current["fieldType"])
        assert prop["readOnlyValue"] == current["modificationMetadata"]["readOnlyValue"]
        assert isinstance(prop["createdAt"], int)
        assert [o["value"] for o in prop["options"]] == [o["value"] for o in current["options"]]


NEW_READS = [
    pytest.param("/crm/v4/objects/tickets", "tickets.list", id="v4-list"),
    pytest.param("/crm/v3/objects/ticket", "tickets.list", id="singular-list"),
    pytest.param("/crm/v3/properties/calls", "other_properties.list", id="other-properties"),
    pytest.param("/crm/v3/schemas", "schemas.list", id="schemas"),
    pytest.param("/properties/v2/ticket/properties", "properties.list_v2", id="legacy-v2"),
]


@pytest.mark.parametrize(("path", "route"), NEW_READS)
def test_new_paths_meet_auth_budgets_and_stats(emulator, api_session, path, route):
    server = emulator(tickets=3, rate_limit_10s=2)
    url = f"{server.url}{path}"
    assert requests.get(url, timeout=5).status_code == 401
    first = api_session.get(url)
    assert first.status_code == 200
    assert first.headers["X-HubSpot-RateLimit-Max"] == "2"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert api_session.get(url).status_code == 200
    assert api_session.get(url).status_code == 429
    assert server.stats()["by_route"] == {f"GET {route}": {"401": 1, "200": 2, "429": 1}}


@pytest.mark.parametrize(("path", "route"), NEW_READS)
def test_new_paths_meet_injected_faults(emulator, api_session, path, route):
    server = emulator(tickets=3, fault_rate=1.0)
    response = api_session.get(f"{server.url}{path}")
    assert response.status_code in (429, 502, 503, 504)
    assert server.stats()["injected_faults"] == 1
