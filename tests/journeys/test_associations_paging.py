"""A ticket with 1,200 contacts, through both command lines (issue #10).

HubSpot's association batch read answers at most 500 links of one record and pages the rest
inside that record's result (`paging.next.after`, followed with `{inputs: [{id, after}]}`).
The tap must emit every one of the 1,200 rows; the target's `replace_associations` must see
all 1,200 links: it removes the one a record no longer lists, wherever it sits among them,
and leaves the 1,199 others alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hubspot_emulator.config import DEFAULT_TOKEN
from hubspot_emulator.server import EmulatorServer

pytestmark = pytest.mark.journeys

CONTACTS = 1_200
PAGE = 500  # the emulator's links per record and answer, as HubSpot's per-record page
TAP = str(Path(sys.executable).parent / "tap-hubspot-tickets")
RUN_TIMEOUT_S = 180
STREAM = "ticket_associations"


def _crowded_ticket(server: EmulatorServer) -> tuple[str, list[str]]:
    """Create a ticket linked to 1,200 new contacts; return it and the contacts in id order."""
    portal = server.portal
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    body = {
        "properties": {"subject": "a ticket the whole company is on", "hs_pipeline_stage": stage}
    }
    ticket_id = str(portal.create_ticket(body, api_version="v3")["id"])
    contacts = [portal.add_object("contacts") for _ in range(CONTACTS)]
    for contact in contacts:
        portal.associate(ticket_id, "contacts", contact, [])
    return ticket_id, contacts


def _contacts_of(server: EmulatorServer, ticket_id: str) -> set[str]:
    found: set[str] = set()
    after = None
    while True:
        page = server.portal.list_ticket_associations(
            ticket_id, "contacts", limit=PAGE, after=after
        )
        found |= {str(link["toObjectId"]) for link in page["results"]}
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return found


def _tap(
    tmp_path: Path, args: list[str], config: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    try:
        done = subprocess.run(
            [TAP, "--config", str(config_path), *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the tap ran over {RUN_TIMEOUT_S} s: {str(exc.stderr)[-2000:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _associations_only(catalog: dict[str, Any]) -> dict[str, Any]:
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == STREAM
    return catalog


def test_the_tap_emits_all_1200_links_of_one_ticket(emulator, tmp_path):
    server = emulator(tickets=40, seed=12)
    ticket_id, contacts = _crowded_ticket(server)
    config = {
        "api_url": server.url,
        "access_token": DEFAULT_TOKEN,
        "associations": ["contacts"],
        "search_lag_margin_seconds": 0,
    }
    catalog = _associations_only(json.loads(_tap(tmp_path, ["--discover"], config).stdout))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    done = _tap(tmp_path, ["--catalog", str(tmp_path / "catalog.json")], config)
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    rows = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == STREAM]
    crowded = [row for row in rows if row["ticket_id"] == ticket_id]
    assert len(crowded) == CONTACTS
    assert [row["to_object_id"] for row in crowded] == contacts
    assert {(row["association_type_id"], row["association_category"]) for row in crowded} == {
        (16, "HUBSPOT_DEFINED")
    }
    # The other tickets' links arrive too, each (ticket, contact, type) once, as the portal has.
    expected = Counter(
        (ticket["id"], str(link["id"]))
        for ticket in server.portal.snapshot()
        if not ticket["archived"]
        for link in ticket.get("associations", {}).get("contacts", {}).get("results", ())
    )
    assert Counter((row["ticket_id"], row["to_object_id"]) for row in rows) == expected


def _record(ticket_id: str, contacts: list[str]) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "associations": [
            {
                "to_object_type": "contacts",
                "to_object_id": contact,
                "association_type_id": 16,
                "association_category": "HUBSPOT_DEFINED",
            }
            for contact in contacts
        ],
    }


@pytest.mark.parametrize(
    "dropped",
    [0, PAGE + 17, CONTACTS - 1],
    ids=["on-the-first-page", "on-the-second-page", "on-the-last-page"],
)
def test_replace_removes_the_one_link_no_longer_listed_among_1200(
    emulator, singer_input, target_cli, dropped
):
    server = emulator(tickets=5, seed=12)
    ticket_id, contacts = _crowded_ticket(server)
    kept = [c for n, c in enumerate(contacts) if n != dropped]
    singer = singer_input(server)
    lines = [singer.schema(key_properties=["id"]), singer.record(_record(ticket_id, kept))]
    run = target_cli(server, lines, replace_associations=True, association_types=["contacts"])
    summary = run.assert_clean_success()
    assert summary["associations_removed"] == 1
    assert summary["associations_added"] == 0
    assert run.rejects == []
    assert _contacts_of(server, ticket_id) == set(kept)


def test_replace_with_every_link_listed_changes_nothing(emulator, singer_input, target_cli):
    server = emulator(tickets=5, seed=12)
    ticket_id, contacts = _crowded_ticket(server)
    extra = server.portal.add_object("contacts")
    singer = singer_input(server)
    record = _record(ticket_id, [*contacts, extra])
    lines = [singer.schema(key_properties=["id"]), singer.record(record)]
    run = target_cli(server, lines, replace_associations=True, association_types=["contacts"])
    summary = run.assert_clean_success()
    # Only the new contact is linked: the 1,200 present ones are seen and left as they are.
    assert (summary["associations_added"], summary["associations_removed"]) == (1, 0)
    assert _contacts_of(server, ticket_id) == {*contacts, extra}
