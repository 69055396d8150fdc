"""docs/endpoints.md against the emulator: every listed path is routed and answers HubSpot's shape.

The test reads the table itself, fills each path's placeholders with records of a fresh portal,
sends a valid request, and requires a 2xx answer in the endpoint's documented shape (never the
emulator's "no resource" 404 or a 405). It also checks the other way round: every ticket route
the emulator serves appears in the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from hubspot_emulator.routes import ROUTER, build_routes
from hubspot_emulator.server import EmulatorServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "endpoints.md"
HEADER = ["method", "legacy path", "dated path", "what it does", "limits"]
NONE = "—"
# Routes the emulator serves that are not ticket endpoints (see the note under the table).
NOT_TICKET_ROUTES = {"other_properties.list", "other_properties.read", "schemas.list"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Endpoint:
    """One row of the table."""

    method: str
    legacy: str | None
    dated: str | None


def _cell(text: str) -> str | None:
    text = text.strip().strip("`")
    return None if text in ("", NONE) else text


def read_table(path: Path = DOC) -> list[Endpoint]:
    """Return the rows of the endpoints table in docs/endpoints.md."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    split = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    start = split.index(HEADER)
    rows: list[Endpoint] = []
    for line, cells in zip(lines[start + 2 :], split[start + 2 :], strict=True):
        if not line.startswith("|"):
            break
        assert len(cells) == len(HEADER), f"a row of {len(cells)} cells: {line}"
        rows.append(Endpoint(cells[0], _cell(cells[1]), _cell(cells[2])))
    return rows


ENDPOINTS = read_table()
CASES = [
    pytest.param(endpoint.method, path, id=f"{endpoint.method} {path}")
    for endpoint in ENDPOINTS
    for path in (endpoint.legacy, endpoint.dated)
    if path is not None
]


def test_the_table_is_read_whole():
    assert len(ENDPOINTS) >= 30
    for endpoint in ENDPOINTS:
        assert endpoint.method in {"GET", "POST", "PUT", "PATCH", "DELETE"}, endpoint
        assert endpoint.legacy or endpoint.dated, endpoint
        for path in (endpoint.legacy, endpoint.dated):
            assert path is None or path.startswith("/"), endpoint
        if endpoint.dated is not None:
            assert "/2026-03/" in endpoint.dated, endpoint


# -- a portal to call, and a valid request for each route ---------------------------------------
@dataclass
class Portal:
    """The records a request's placeholders and body refer to."""

    server: EmulatorServer
    tickets: list[str]
    contact: str
    token: str

    @property
    def values(self) -> dict[str, str]:
        pipeline = self.server.portal.list_pipelines()["results"][0]
        return {
            "ticketId": self.tickets[0],
            "fromObjectType": "tickets",
            "toObjectType": "contacts",
            "toObjectId": self.contact,
            "associationTypeId": "16",
            "pipelineId": pipeline["id"],
            "stageId": pipeline["stages"][0]["id"],
            "propertyName": "subject",
            "groupName": "ticketinformation",
            "token": self.token,
        }


def _portal(server: EmulatorServer) -> Portal:
    portal = server.portal
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    tickets = [
        str(
            portal.create_ticket(
                {"properties": {"subject": f"doc {n}", "hs_pipeline_stage": stage}},
                api_version="v3",
            )["id"]
        )
        for n in range(3)
    ]
    contact = portal.add_object("contacts")
    portal.associate(tickets[0], "contacts", contact, [])
    form = {
        "grant_type": "refresh_token",
        "client_id": "emulator-client",
        "client_secret": "emulator-secret",
        "refresh_token": "emulator-refresh-token",
    }
    token = requests.post(f"{server.url}/oauth/v1/token", data=form, timeout=5).json()
    return Portal(server, tickets, contact, token["access_token"])


def _request(route: str, portal: Portal) -> dict[str, Any]:
    """Return the keyword arguments of a valid request to `route` (body, form, query)."""
    stage = portal.values["stageId"]
    first, second, third = portal.tickets
    types = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]
    pair = {"from": {"id": first}, "to": {"id": portal.contact}}
    bodies: dict[str, Any] = {
        "tickets.create": {"properties": {"subject": "new", "hs_pipeline_stage": stage}},
        "tickets.update": {"properties": {"subject": "renamed"}},
        "tickets.batch_read": {"inputs": [{"id": first}], "properties": ["subject"]},
        "tickets.batch_create": {
            "inputs": [{"properties": {"subject": "new", "hs_pipeline_stage": stage}}]
        },
        "tickets.batch_update": {"inputs": [{"id": first, "properties": {"subject": "x"}}]},
        "tickets.batch_upsert": {
            "idProperty": "external_ticket_id",
            "inputs": [
                {"id": "doc-1", "properties": {"subject": "up", "hs_pipeline_stage": stage}}
            ],
        },
        "tickets.batch_archive": {"inputs": [{"id": third}]},
        "tickets.search": {"limit": 2},
        "tickets.merge": {"primaryObjectId": second, "objectIdToMerge": third},
        "tickets.associate": types,
        "associations.batch_read": {"inputs": [{"id": first}]},
        "associations.batch_create": {"inputs": [{**pair, "types": types}]},
        "associations.batch_associate_default": {"inputs": [pair]},
        "associations.batch_archive": {
            "inputs": [{"from": {"id": first}, "to": [{"id": portal.contact}]}]
        },
        "properties.create": {
            "name": "doc_property",
            "label": "Doc property",
            "type": "string",
            "fieldType": "text",
            "groupName": "ticketinformation",
        },
        "properties.batch_read": {"inputs": [{"name": "subject"}]},
        "properties.update": {"label": "Doc label"},
    }
    if route == "oauth.token":
        form = {
            "grant_type": "refresh_token",
            "client_id": "emulator-client",
            "client_secret": "emulator-secret",
            "refresh_token": "emulator-refresh-token",
        }
        return {"data": form, "headers": {}}
    request: dict[str, Any] = {}
    if route in bodies:
        request["json"] = bodies[route]
    return request


# The keys each route's answer must have: HubSpot's shape for it.
SHAPES: dict[str, set[str]] = {
    "tickets.list": {"results"},
    "tickets.read": {"id", "properties", "createdAt", "updatedAt", "archived"},
    "tickets.create": {"id", "properties", "createdAt", "updatedAt", "archived"},
    "tickets.update": {"id", "properties", "updatedAt"},
    "tickets.search": {"total", "results"},
    "tickets.merge": {"id", "properties"},
    "tickets.associations": {"results"},
    "tickets.associate": {"fromObjectTypeId", "fromObjectId", "toObjectTypeId", "toObjectId"},
    "tickets.associate_v3": {"id", "associations"},
    "tickets.associate_default": {"status", "results", "startedAt", "completedAt"},
    "associations.labels": {"results"},
    "properties.list": {"results"},
    "properties.read": {"name", "label", "type", "fieldType", "groupName"},
    "properties.create": {"name", "label", "type", "fieldType", "groupName"},
    "properties.update": {"name", "label", "type", "fieldType", "groupName"},
    "properties.groups": {"results"},
    "properties.group": {"name", "label", "displayOrder", "archived"},
    "pipelines.list": {"results"},
    "pipelines.read": {"id", "label", "stages"},
    "pipelines.stages": {"results"},
    "pipelines.stage": {"id", "label", "displayOrder", "metadata"},
    "account.details": {"portalId", "timeZone", "companyCurrency", "uiDomain"},
    "oauth.token": {"access_token", "refresh_token", "expires_in"},
    "oauth.access_token": {"hub_id", "scopes", "token", "user", "app_id", "expires_in"},
}
BATCH_SHAPE = {"status", "results", "startedAt", "completedAt"}


def _fill(path: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda found: values[found.group(1)], path)


def _route(method: str, path: str) -> str:
    route, _, _ = ROUTER.match(method, path)
    assert route is not None, f"the emulator has no route for {method} {path}"
    return route.name


@pytest.mark.parametrize(("method", "path"), CASES)
def test_every_listed_endpoint_answers_in_hubspots_shape(emulator, api_session, method, path):
    server = emulator(tickets=2, seed=8)
    portal = _portal(server)
    filled = _fill(path, portal.values)
    route = _route(method, filled)
    request = _request(route, portal)
    headers = request.pop("headers", None)
    if headers is not None:  # the token endpoint takes no bearer token
        response = requests.request(method, f"{server.url}{filled}", timeout=10, **request)
    else:
        response = api_session.request(method, f"{server.url}{filled}", **request)
    assert response.status_code not in (404, 405), response.text[:300]
    assert 200 <= response.status_code < 300, response.text[:300]
    if response.status_code == 204:
        assert response.content == b""
        return
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    if route == "properties.list_v2":
        assert isinstance(body, list)
        assert {"name", "type", "groupName"} <= set(body[0])
        return
    assert isinstance(body, dict)
    expected = SHAPES.get(route, BATCH_SHAPE if "/batch/" in path else set())
    assert expected, f"no expected shape for {route}"
    assert expected <= set(body), f"{route} answered without {expected - set(body)}"
    if "results" in expected:
        assert isinstance(body["results"], list)


def test_every_ticket_route_is_listed():
    values = {
        "ticketId": "1",
        "fromObjectType": "tickets",
        "toObjectType": "contacts",
        "toObjectId": "2",
        "associationTypeId": "16",
        "pipelineId": "0",
        "stageId": "3",
        "propertyName": "subject",
        "groupName": "ticketinformation",
        "token": "t",
    }
    listed = {
        _route(endpoint.method, _fill(path, values))
        for endpoint in ENDPOINTS
        for path in (endpoint.legacy, endpoint.dated)
        if path is not None
    }
    served = {
        route.name
        for route in build_routes()
        if not route.internal and route.name not in NOT_TICKET_ROUTES
    }
    assert served - listed == set(), "routes the emulator serves but docs/endpoints.md omits"
