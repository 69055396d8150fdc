"""The seeded portal's stage journeys, read as a tap reads them: over HTTP, with history.

Time-in-stage models meet their hard cases here: tickets reopened after closing (one stage
visited twice), tickets moved to another pipeline (`hs_pipeline` and the new pipeline's
`hs_pipeline_stage` change in the same millisecond), and tickets archived in an open stage.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
import requests

from hubspot_emulator.properties import ms_from_iso

TICKETS = "/crm/v3/objects/tickets"
JOURNEY = ("hs_pipeline", "hs_pipeline_stage", "hs_is_closed")
Ticket = dict[str, Any]
History = list[tuple[int, str]]  # (timestamp ms, value), oldest first


def _read_all(session: requests.Session, url: str, *, archived: bool) -> list[Ticket]:
    params: dict[str, Any] = {
        "limit": 50,
        "archived": str(archived).lower(),
        "properties": ",".join((*JOURNEY, "hs_lastmodifieddate")),
        "propertiesWithHistory": ",".join(JOURNEY),
    }
    tickets: list[Ticket] = []
    while True:
        response = session.get(f"{url}{TICKETS}", params=params, timeout=10)
        response.raise_for_status()
        page = response.json()
        tickets.extend(page["results"])
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return tickets
        params["after"] = after


@pytest.fixture(scope="module")
def portal(seeded_emulator: Any) -> tuple[list[Ticket], dict[str, dict[str, bool]]]:
    """Return every seeded ticket (archived ones too) and each pipeline's stages: closed?"""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {seeded_emulator.config.token}"
        url = seeded_emulator.url
        tickets = _read_all(session, url, archived=False) + _read_all(session, url, archived=True)
        pipelines = session.get(f"{url}/crm/v3/pipelines/tickets", timeout=10).json()["results"]
    stages = {
        pipeline["id"]: {
            stage["id"]: stage["metadata"]["ticketState"] == "CLOSED"
            for stage in pipeline["stages"]
        }
        for pipeline in pipelines
    }
    return tickets, stages


def _history(ticket: Ticket, name: str) -> History:
    entries = ticket["propertiesWithHistory"][name]
    return [(ms_from_iso(entry["timestamp"]), entry["value"]) for entry in reversed(entries)]


def _value_at(history: History, at: int) -> str:
    return [value for timestamp, value in history if timestamp <= at][-1]


def test_the_portal_has_two_pipelines_with_their_own_stages(portal):
    _, stages = portal
    assert len(stages) >= 2
    stage_sets = [set(ids) for ids in stages.values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(stage_sets) for b in stage_sets[i + 1 :])
    assert all(any(s.values()) and not all(s.values()) for s in stages.values())


def test_every_journey_is_in_time_order_and_ends_at_the_current_values(portal):
    tickets, stages = portal
    assert len(tickets) == 300
    for ticket in tickets:
        properties = ticket["properties"]
        modified = ms_from_iso(properties["hs_lastmodifieddate"])
        assert modified == ms_from_iso(ticket["updatedAt"]), ticket["id"]
        for name in JOURNEY:
            history = _history(ticket, name)
            times = [timestamp for timestamp, _ in history]
            assert times == sorted(set(times)), (ticket["id"], name)  # strictly increasing
            assert times[0] == ms_from_iso(ticket["createdAt"]), (ticket["id"], name)
            assert times[-1] <= modified, (ticket["id"], name)
            assert history[-1][1] == properties[name], (ticket["id"], name)
        pipelines = _history(ticket, "hs_pipeline")
        closed = _history(ticket, "hs_is_closed")
        for at, stage in _history(ticket, "hs_pipeline_stage"):
            in_pipeline = stages[_value_at(pipelines, at)]
            assert stage in in_pipeline, (ticket["id"], at)
            assert _value_at(closed, at) == str(in_pipeline[stage]).lower(), (ticket["id"], at)
        if ticket["archived"]:
            assert ms_from_iso(ticket["archivedAt"]) >= modified, ticket["id"]


def test_some_tickets_are_reopened_and_visit_a_stage_twice(portal):
    tickets, stages = portal
    closed = {stage for pipeline in stages.values() for stage, shut in pipeline.items() if shut}
    reopened = revisited = 0
    for ticket in tickets:
        journey = [stage for _, stage in _history(ticket, "hs_pipeline_stage")]
        reopened += any(a in closed and b not in closed for a, b in pairwise(journey))
        revisited += len(set(journey)) < len(journey)
    assert reopened > 0
    assert revisited > 0


def test_some_tickets_move_to_another_pipeline_and_its_stage_at_once(portal):
    tickets, stages = portal
    moves = 0
    for ticket in tickets:
        stage_changes = dict(_history(ticket, "hs_pipeline_stage"))
        for at, pipeline in _history(ticket, "hs_pipeline")[1:]:
            assert stage_changes.get(at) in stages[pipeline], (ticket["id"], at)
            moves += 1
    assert moves > 0


def test_some_tickets_are_archived_in_an_open_stage(portal):
    tickets, stages = portal
    archived = [ticket for ticket in tickets if ticket["archived"]]
    still_open = [
        ticket
        for ticket in archived
        if not stages[ticket["properties"]["hs_pipeline"]][
            ticket["properties"]["hs_pipeline_stage"]
        ]
    ]
    assert still_open
