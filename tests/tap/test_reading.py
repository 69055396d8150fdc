"""What the tap makes of values, settings and catalogs it cannot use as they are.

Pure parts (record building, the strict JSON writer, the preflight checks) are tested on their
own; the rest runs the tap in this process against the emulator.
"""

from __future__ import annotations

import json
import logging

import pytest
from singer_sdk.singerlib.encoding.simple import RecordMessage, SchemaMessage

from hubspot_api.errors import ConfigError
from hubspot_api.paths import Call
from hubspot_api.properties import PropertyDefinition
from hubspot_api.records import TICKET_BASE_COLUMNS
from hubspot_emulator.config import DEFAULT_TOKEN
from tap_hubspot_tickets.preflight import (
    KNOWN,
    UNKNOWN,
    Findings,
    Selection,
    check_associations,
    check_history_properties,
    normalise_object_types,
    probe_with,
    run_preflight,
)
from tap_hubspot_tickets.schemas import TicketRecordBuilder, history_records
from tap_hubspot_tickets.tap import TapHubSpotTickets
from tap_hubspot_tickets.values import SurrogateSafeWriter, ValueProblems

DEFINITIONS = [
    PropertyDefinition("subject"),
    PropertyDefinition("estimated_effort_hours", type="number", field_type="number"),
    PropertyDefinition("hs_object_id", type="number", field_type="number"),
    PropertyDefinition("is_escalated", type="bool", field_type="booleancheckbox"),
    PropertyDefinition("sla_due_date", type="date", field_type="date"),
    PropertyDefinition("last_customer_reply_at", type="datetime", field_type="date"),
]


def _ticket(ticket_id: str, **properties: str) -> dict:
    return {"id": ticket_id, "createdAt": "2026-01-01T00:00:00.000Z", "properties": properties}


# -- values a type cannot hold --------------------------------------------------------------------
def test_values_a_type_cannot_hold_are_null_and_counted_per_property() -> None:
    problems = ValueProblems()
    builder = TicketRecordBuilder(DEFINITIONS, problems)
    records = [
        builder.record(
            _ticket("1", estimated_effort_hours="abc", is_escalated="yes", hs_object_id="1")
        ),
        builder.record(_ticket("2", estimated_effort_hours="1.5", sla_due_date="soon")),
        builder.record(
            _ticket("3", estimated_effort_hours="x", last_customer_reply_at="2024-01-01T25:61:00Z")
        ),
    ]
    assert [r["estimated_effort_hours"] for r in records] == [None, 1.5, None]
    assert records[0]["is_escalated"] is None
    assert records[0]["subject"] is None
    assert records[0]["hs_object_id"] == 1
    assert records[1]["sla_due_date"] is None
    assert records[2]["last_customer_reply_at"] is None
    assert problems.counts() == {
        ("tickets", "property 'estimated_effort_hours'"): 2,
        ("tickets", "property 'is_escalated'"): 1,
        ("tickets", "property 'sla_due_date'"): 1,
        ("tickets", "property 'last_customer_reply_at'"): 1,
    }
    assert (
        "stream 'tickets': property 'estimated_effort_hours': 2 ticket(s) hold values that are "
        "not numbers (e.g. 'abc'); emitted as null"
    ) in problems.warnings()


def test_a_history_user_that_is_not_a_number_is_null_and_counted() -> None:
    problems = ValueProblems()
    ticket = {
        "id": "9",
        "propertiesWithHistory": {
            "subject": [
                {"value": "a", "timestamp": "2026-01-01T00:00:00.000Z", "updatedByUserId": 12},
                {"value": "b", "timestamp": "2026-01-02T00:00:00.000Z", "updatedByUserId": "x"},
                {"value": "c", "timestamp": "2026-01-03T00:00:00.000Z", "updatedByUserId": "7"},
            ]
        },
    }
    users = [r["updated_by_user_id"] for r in history_records(ticket, problems)]
    assert users == [12, None, 7]
    assert problems.counts() == {("ticket_property_history", "updatedByUserId"): 1}


# -- text JSON cannot carry -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("half \ud83d", "half \ufffd"),
        ("\ude00 low", "\ufffd low"),
        ("two \udc00\ud800", "two \ufffd\ufffd"),
        ("whole \U0001f600", "whole \U0001f600"),
        ("pair in halves \ud83d\ude00", "pair in halves \U0001f600"),
        ("a literal \\ud800 in text", "a literal \\ud800 in text"),
        ("plain", "plain"),
    ],
    ids=["lone-high", "lone-low", "reversed-pair", "emoji", "split-pair", "literal", "plain"],
)
def test_the_writer_writes_strict_json(text: str, written: str) -> None:
    writer = SurrogateSafeWriter()
    line = writer.format_message(RecordMessage(stream="tickets", record={"v": text, "n": 1}))
    value = json.loads(line)["record"]["v"]
    assert value == written
    value.encode("utf-8")  # no surrogate left
    assert writer.replaced["tickets"] == (1 if "\ufffd" in written else 0)


def test_the_writer_leaves_other_messages_alone() -> None:
    writer = SurrogateSafeWriter()
    schema = SchemaMessage(stream="s", schema={"properties": {}}, key_properties=["id"])
    assert json.loads(writer.format_message(schema))["stream"] == "s"
    assert not writer.replaced


# -- settings checked against the portal ----------------------------------------------------------
KNOWN_NAMES = {"hs_pipeline_stage", "hs_ticket_priority", "subject"}


def test_unknown_history_properties_are_named_with_the_closest_and_dropped() -> None:
    findings = Findings()
    check_history_properties(
        ["hs_pipeline_stage", "hs_ticket_priorty", "zzz"],
        KNOWN_NAMES,
        selected=True,
        findings=findings,
    )
    assert findings.history_properties == ("hs_pipeline_stage",)
    assert len(findings.warnings) == 2
    assert "did you mean 'hs_ticket_priority'?" in findings.warnings[0]
    assert "did you mean" not in findings.warnings[1]


@pytest.mark.parametrize("selected", [True, False], ids=["selected", "deselected"])
def test_history_of_nothing_known_is_an_error_only_for_a_selected_stream(selected: bool) -> None:
    findings = Findings()
    if selected:
        with pytest.raises(ConfigError, match="hs_ticket_priorty"):
            check_history_properties(
                ["hs_ticket_priorty"], KNOWN_NAMES, selected=True, findings=findings
            )
    else:
        check_history_properties(
            ["hs_ticket_priorty"], KNOWN_NAMES, selected=False, findings=findings
        )
        assert findings.history_properties == ()


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            lambda: check_history_properties(
                ["a", "hs_ticket_priorty"], KNOWN_NAMES, selected=True, findings=Findings()
            ),
            "none of history_properties is a ticket property of this portal, so "
            "ticket_property_history would be empty: 'a', 'hs_ticket_priorty' (did you mean "
            "'hs_ticket_priority'?); fix the setting or deselect the stream",
        ),
        (
            lambda: check_associations(
                ["p1_x", "contact"], lambda _: UNKNOWN, selected=True, findings=Findings()
            ),
            "none of associations is an object type of this portal, so ticket_associations "
            "would be empty: 'p1_x', 'contact' (did you mean 'contacts'?); fix the setting or "
            "deselect the stream",
        ),
    ],
    ids=["history", "associations"],
)
def test_a_selected_stream_left_with_nothing_to_read_names_its_setting(check, message) -> None:
    with pytest.raises(ConfigError) as raised:
        check()
    assert str(raised.value) == message


def test_object_types_are_spelled_once_as_the_plural() -> None:
    assert normalise_object_types(["contact", "0-1", "Contacts", "", "company", "p1_cars"]) == (
        "contacts",
        "companies",
        "p1_cars",
    )


def test_association_types_the_portal_refuses_are_named_and_dropped() -> None:
    answers = {"contacts": KNOWN, "companys": UNKNOWN, "deals": "403: missing scope"}
    findings = Findings()
    check_associations(
        ["contacts", "companys", "deals"], answers.__getitem__, selected=True, findings=findings
    )
    assert findings.associations == ("contacts", "deals")
    assert "did you mean 'companies'?" in findings.warnings[0]
    assert "could not check object type 'deals'" in findings.warnings[1]
    with pytest.raises(ConfigError, match="companys"):
        check_associations(["companys"], answers.__getitem__, selected=True, findings=Findings())


def test_associations_are_not_asked_about_when_their_stream_is_not_selected() -> None:
    asked: list[str] = []
    findings = run_preflight(
        history_properties=["subject"],
        associations=["contact", "widgets"],
        property_names=KNOWN_NAMES,
        base_columns=TICKET_BASE_COLUMNS,
        selection=Selection(tickets=True, history=True, associations=False, ticket_properties=()),
        labels=asked.append,
    )
    assert asked == []
    assert findings.associations == ("contacts", "widgets")
    assert any("selected without any of its properties" in w for w in findings.warnings)


def _config(server, **settings) -> dict:
    return {
        "api_url": server.url,
        "access_token": DEFAULT_TOKEN,
        "search_lag_margin_seconds": 0,
        **settings,
    }


def test_the_probe_asks_the_portal(seeded_emulator) -> None:
    tap = TapHubSpotTickets(config=_config(seeded_emulator))
    client = tap.runtime.client
    probe = probe_with(lambda name: client.get_json(Call.ASSOCIATION_LABELS, to_type=name))
    assert probe("contacts") == KNOWN
    assert probe("contact") == KNOWN
    assert probe("widgets") == UNKNOWN


def test_the_run_warns_before_its_first_record(seeded_emulator, run_tap, caplog) -> None:
    caplog.set_level(logging.WARNING)
    run = run_tap(seeded_emulator, history_properties=["subjekt", "subject"])
    assert any("'subjekt'" in r.getMessage() for r in caplog.records)
    assert {r["property"] for r in run.records("ticket_property_history")} == {"subject"}


# -- what is always emitted -----------------------------------------------------------------------
AUTOMATIC = {
    "tickets": {*TICKET_BASE_COLUMNS},
    "ticket_property_history": {"ticket_id", "property", "timestamp", "entry_key"},
    "ticket_associations": {
        "ticket_id",
        "to_object_type",
        "to_object_id",
        "association_category",
        "association_type_id",
    },
    "ticket_pipelines": {"id", "archived"},
    "ticket_pipeline_stages": {"pipeline_id", "stage_id", "archived"},
    "ticket_properties": {"name", "archived"},
}


def _automatic(catalog: dict) -> dict[str, set[str]]:
    return {
        entry["tap_stream_id"]: {
            item["breadcrumb"][-1]
            for item in entry["metadata"]
            if item["breadcrumb"] and item["metadata"].get("inclusion") == "automatic"
        }
        for entry in catalog["streams"]
    }


def test_keys_replication_and_deletion_columns_are_automatic(seeded_emulator) -> None:
    catalog = TapHubSpotTickets(config=_config(seeded_emulator)).catalog_dict
    assert _automatic(catalog) == AUTOMATIC


def test_a_catalog_that_deselects_them_still_gets_them(
    seeded_emulator, run_tap, select_streams
) -> None:
    catalog = select_streams(seeded_emulator, "tickets", "ticket_pipelines")
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"]:
                # A catalog saved before these columns were automatic, narrowed to one column.
                item["metadata"]["inclusion"] = "available"
                item["metadata"]["selected"] = item["breadcrumb"][-1] in ("subject", "label")
    run = run_tap(seeded_emulator, catalog=catalog)
    tickets = run.records("tickets")
    assert tickets
    assert all(set(r) == {*TICKET_BASE_COLUMNS, "subject"} for r in tickets)
    assert any(r["archived"] for r in tickets)
    assert all(set(r) == {"id", "archived", "label"} for r in run.records("ticket_pipelines"))
