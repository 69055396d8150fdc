"""A catalog discovered before an admin changed a property's type: valid records, or one line.

HubSpot lets an admin change a custom property's type (PATCH /crm/v3/properties/tickets/{name}).
A run given the catalog discovered before then must emit values as the SCHEMA it sends says, or
stop before any record with one line asking for discovery again: never a record that violates
the schema of its own run.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

pytestmark = pytest.mark.journeys

ERROR = "tap-hubspot-tickets: error: "
CHANGED = 30


def _select_only(catalog: dict[str, Any], properties: list[str]) -> None:
    """Select the tickets stream alone, with only `properties` (as a narrow `select`)."""
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] == "tickets"
        for item in entry["metadata"]:
            crumb = item["breadcrumb"]
            if not crumb:
                item["metadata"]["selected"] = chosen
            elif chosen:
                item["metadata"]["selected"] = crumb[-1] in properties


# (type, fieldType) before and after the change, a value of each, whether the run goes on.
CHANGES = {
    # Text values a number column cannot hold: the run stops and asks for discovery.
    "n2s": (("number", "number"), ("string", "text"), "12.5", "abc-{n}", False),
    # Numbers become HubSpot's own text of them: what the old string column holds.
    "s2n": (("string", "text"), ("number", "number"), "x-{n}", "{n}.5", True),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_catalog_from_before_a_type_change_never_yields_invalid_records(
    emulator, tap_cli, api_session, change
):
    old, new, before, after, converts = CHANGES[change]
    server = emulator(tickets=60, seed=211)
    name = "effort_estimate"
    created = api_session.post(
        f"{server.url}/crm/v3/properties/tickets",
        json={
            "name": name,
            "label": "Effort estimate",
            "type": old[0],
            "fieldType": old[1],
            "groupName": "ticketinformation",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    live = sorted((t["id"] for t in server.portal.snapshot() if not t["archived"]), key=int)
    for n, ticket_id in enumerate(live[:CHANGED]):
        server.portal.update_ticket(
            ticket_id,
            {"properties": {name: before.format(n=n)}},
            id_property=None,
            api_version="v3",
        )
    discovered = tap_cli(server, discover=True)
    assert discovered.returncode == 0, discovered.describe()
    catalog: dict[str, Any] = json.loads(discovered.stdout)
    _select_only(catalog, [name, "subject"])

    # The admin changes the type; then 30 tickets get values of the new type.
    changed = api_session.patch(
        f"{server.url}/crm/v3/properties/tickets/{name}",
        json={"type": new[0], "fieldType": new[1]},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == new[0]
    for n, ticket_id in enumerate(live[:CHANGED]):
        server.portal.update_ticket(
            ticket_id,
            {"properties": {name: after.format(n=n)}},
            id_property=None,
            api_version="v3",
        )

    run = tap_cli(server, catalog=catalog)
    records = run.records("tickets")
    if run.returncode != 0:
        assert not converts, run.describe()
        assert "Traceback" not in run.stderr, run.describe()
        (line,) = [ln for ln in run.stderr.splitlines() if ln.startswith(ERROR)]
        assert f"'{name}'" in line, line
        assert "--discover" in line, line
        assert not records, "records went out before the run stopped"
        return
    assert converts, f"the run went on with values its schema cannot hold; {run.describe()}"
    schema = run.schema("tickets")
    validator = jsonschema.Draft7Validator(schema)
    invalid = [r["id"] for r in records if not validator.is_valid(r)]
    assert not invalid, f"{len(invalid)} of {len(records)} records violate the SCHEMA sent"
    by_id = {r["id"]: r for r in records}
    for n, ticket_id in enumerate(live[:CHANGED]):
        assert by_id[ticket_id][name] == after.format(n=n)
