"""The tap's output loads unchanged: tickets read from one portal land in another."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter

from hubspot_api.properties import PropertyDefinition, is_writable
from tap_hubspot_tickets.tap import TapHubSpotTickets
from target_hubspot_tickets.validation import SYSTEM_COLUMNS


def test_tap_output_round_trips_into_another_portal(emulator, target_config, run_target):
    source = emulator(tickets=40, seed=3)
    destination = emulator()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        TapHubSpotTickets(
            config={"api_url": source.url, "access_token": source.config.token}
        ).sync_all()
    # What a `select: [tickets.*]` would pass on: the tickets stream and the states.
    lines = []
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message.get("stream") == "tickets" or message["type"] == "STATE":
            lines.append(line)
    records = [json.loads(line)["record"] for line in lines if '"RECORD"' in line]
    active = [r for r in records if not r.get("archived")]
    assert active

    # The source's ids mean nothing in the destination: a stream map drops them, and tickets
    # are matched by their unique external id where they have one, else created.
    config = target_config(
        destination,
        id_property="external_ticket_id",
        stream_maps={
            "tickets": {
                "id": "__NULL__",
                "__key_properties__": None,
                # Pins need the pinned activity linked first; associations are not copied.
                "hs_pinned_engagement_id": "__NULL__",
            }
        },
    )
    run = run_target(config, lines)

    assert run.error is None, run.log
    keyed = [r for r in active if r.get("external_ticket_id")]
    assert run.summary["upserted"] == len(keyed)
    assert run.summary["created"] == len(active) - len(keyed)
    # Archived source tickets are rejected, not guessed: without an id they cannot be matched,
    # and their external id names no ticket of the destination, live or archived.
    assert run.summary["rejected"] == len(records) - len(active)
    archived = [r for r in records if r.get("archived")]
    expected = Counter(
        "external_ticket_id" if r.get("external_ticket_id") else "id" for r in archived
    )
    assert Counter(r["field"] for r in run.rejects) == expected
    assert run.states, "the tap's last state is passed on"
    definitions = {
        p["name"]: PropertyDefinition.from_api(p)
        for p in destination.portal.list_properties()["results"]
    }
    writable = {n for n, d in definitions.items() if is_writable(d)} - SYSTEM_COLUMNS
    writable.discard("hs_pinned_engagement_id")

    def projection(ticket):
        props = ticket["properties"]
        return tuple(sorted((name, props.get(name) or None) for name in writable))

    # Compared as multisets of writable values: unkeyed tickets may share a subject, so no
    # single column pairs a copy with its original.
    copied = Counter(projection(t) for t in destination.portal.snapshot())
    originals = Counter(projection(t) for t in source.portal.snapshot() if not t["archived"])
    assert copied == originals
