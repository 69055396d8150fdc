"""Creates, updates, upserts, archives, associations and pins land exactly, and are counted."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from hubspot_api.errors import ConfigError, HubSpotError

SUPPORT_PIPELINE = "0"
ESCALATIONS_PIPELINE = "58213947"
STAGE_NEW = "1034562871"
STAGE_WAITING_ON_US = "1034562873"
STAGE_TRIAGE = "1034562912"


def _by_subject(server):
    return {t["properties"].get("subject"): t for t in server.portal.snapshot()}


def _linked(ticket, to_type):
    results = (ticket.get("associations") or {}).get(to_type, {}).get("results", [])
    return {r["id"] for r in results}


def test_create_update_upsert_archive_in_one_run(emulator, singer, target_config, run_target):
    server = emulator(tickets=3, seed=5)
    messages = singer(server)
    existing = server.portal.snapshot()
    keep, archive, upsert_target = existing[0], existing[1], existing[2]
    unique = upsert_target["properties"]["external_ticket_id"]
    records = [
        # create by labels, with the default pipeline filled in
        {"subject": "New by label", "hs_pipeline_stage": "Waiting on us"},
        # create in another pipeline, all by label
        {
            "subject": "Escalated",
            "hs_pipeline": "Engineering Escalations",
            "hs_pipeline_stage": "triage",
            "affected_products": ["web_app", "public_api"],
            "is_escalated": True,
            "estimated_effort_hours": 2.5,
            "sla_due_date": "2026-12-01",
            "last_customer_reply_at": "2026-11-28T10:15:30+01:00",
        },
        {"id": keep["id"], "hs_ticket_priority": "URGENT", "content": ""},
        {"id": archive["id"], "archived": True},
        {"external_ticket_id": unique, "subject": "Upserted existing"},
        {
            "external_ticket_id": "EXT-NEW-1",
            "subject": "Upserted new",
            "hs_pipeline_stage": STAGE_NEW,
        },
    ]
    config = target_config(server, id_property="external_ticket_id", empty_string_values="clear")

    run = run_target(config, messages.lines(records))

    assert run.error is None
    assert run.rejects == []
    assert run.summary == {
        "received": 6,
        "created": 2,
        "updated": 1,
        "upserted": 2,
        "archived": 1,
        "associated": 0,
        "pinned": 0,
        "unchanged": 0,
        "superseded": 0,
        "rejected": 0,
        "associations_added": 0,
        "associations_removed": 0,
    }
    tickets = {t["id"]: t for t in server.portal.snapshot()}
    subjects = _by_subject(server)
    assert subjects["New by label"]["properties"]["hs_pipeline"] == SUPPORT_PIPELINE
    assert subjects["New by label"]["properties"]["hs_pipeline_stage"] == STAGE_WAITING_ON_US
    escalated = subjects["Escalated"]["properties"]
    assert escalated["hs_pipeline"] == ESCALATIONS_PIPELINE
    assert escalated["hs_pipeline_stage"] == STAGE_TRIAGE
    assert escalated["affected_products"] == "web_app;public_api"
    assert escalated["is_escalated"] == "true"
    assert escalated["estimated_effort_hours"] == "2.5"
    assert escalated["sla_due_date"] == "2026-12-01"
    assert escalated["last_customer_reply_at"] == "2026-11-28T09:15:30.000Z"
    assert tickets[keep["id"]]["properties"]["hs_ticket_priority"] == "URGENT"
    assert not tickets[keep["id"]]["properties"].get("content")  # "" clears, when asked to
    assert tickets[archive["id"]]["archived"] is True
    assert tickets[upsert_target["id"]]["properties"]["subject"] == "Upserted existing"
    assert subjects["Upserted new"]["properties"]["external_ticket_id"] == "EXT-NEW-1"
    assert len(tickets) == 6
    assert "Run summary:" in run.log


def test_sdc_deleted_at_archives(emulator, singer, target_config, run_target):
    server = emulator(tickets=1, seed=2)
    [ticket] = server.portal.snapshot()
    run = run_target(
        target_config(server),
        singer(server).lines([{"id": ticket["id"], "_sdc_deleted_at": "2026-11-28T00:00:00Z"}]),
    )
    assert run.summary["archived"] == 1
    assert server.portal.snapshot()[0]["archived"] is True


def test_latest_record_per_id_wins_within_a_batch(emulator, singer, target_config, run_target):
    server = emulator(tickets=1, seed=3)
    [ticket] = server.portal.snapshot()
    records = [{"id": ticket["id"], "subject": f"version {n}"} for n in range(1, 4)]

    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["updated"] == 1
    assert run.summary["superseded"] == 2
    assert server.portal.snapshot()[0]["properties"]["subject"] == "version 3"


def test_per_input_failures_of_a_207_map_to_their_records(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=2, seed=4)
    first, second = server.portal.snapshot()
    records = [
        {"id": first["id"], "subject": "updated one"},
        {"id": "999999999", "subject": "no such ticket"},
        {"id": second["id"], "subject": "updated two"},
        {"subject": "created fine", "hs_pipeline_stage": "New"},
        {
            "subject": "links to a missing ticket",
            "hs_pipeline_stage": "New",
            "associations": [{"to_object_type": "tickets", "to_object_id": "999999998"}],
        },
        {"subject": "created too", "hs_pipeline_stage": "New"},
    ]

    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["updated"] == 2
    assert run.summary["created"] == 2
    assert run.summary["rejected"] == 2
    by_position = {r["reason"].split(":")[0]: r for r in run.rejects}
    missing_update = by_position["tickets record #2 (line 3, id 999999999)"]
    assert missing_update["category"] == "OBJECT_NOT_FOUND"
    assert missing_update["record"]["subject"] == "no such ticket"
    [bad_create] = [r for r in run.rejects if "record #5" in r["reason"]]
    assert bad_create["record"]["subject"] == "links to a missing ticket"
    subjects = set(_by_subject(server))
    assert {"updated one", "updated two", "created fine", "created too"} <= subjects
    assert "links to a missing ticket" not in subjects
    # Each batch went out once: the failures did not fail their neighbours.
    routes = server.stats()["by_route"]
    assert routes["POST tickets.batch_update"] == {"207": 1}
    assert routes["POST tickets.batch_create"] == {"207": 1}


def test_associations_pin_and_replace(emulator, singer, target_config, run_target):
    server = emulator(tickets=1, seed=1)
    [seeded] = server.portal.snapshot()
    # Links that replace_associations must remove, whatever the seed gave the ticket.
    for kind in ("contacts", "companies"):
        server.portal.associate_default(
            "tickets", seeded["id"], kind, server.portal.add_object(kind)
        )
    [ticket] = server.portal.snapshot()
    contacts = [server.portal.add_object("contacts") for _ in range(3)]
    note = server.portal.add_object("notes")
    messages = singer(server)
    before_companies = _linked(ticket, "companies")
    assert before_companies, "the ticket should have a company to remove"

    # A new ticket with its links in the create call, and the pin written after them.
    created = run_target(
        target_config(server),
        messages.lines(
            [
                {
                    "subject": "Linked at birth",
                    "hs_pipeline_stage": "New",
                    "hs_pinned_engagement_id": int(note),
                    "associations": [
                        {"to_object_type": "contacts", "to_object_id": contacts[0]},
                        {"to_object_type": "notes", "to_object_id": note},
                    ],
                }
            ]
        ),
    )
    assert created.summary["created"] == 1, created.rejects
    new = _by_subject(server)["Linked at birth"]
    assert _linked(new, "contacts") == {contacts[0]}
    assert new["properties"]["hs_pinned_engagement_id"] == note

    # Existing ticket: links added; with replace, unlisted contacts and companies removed.
    record = {
        "id": ticket["id"],
        "associations": [
            {"to_object_type": "contacts", "to_object_id": contacts[1]},
            {"to_object_type": "contacts", "to_object_id": contacts[2]},
            {"to_object_type": "notes", "to_object_id": note},
        ],
        "hs_pinned_engagement_id": int(note),
    }
    run = run_target(target_config(server, replace_associations=True), messages.lines([record]))

    assert run.summary["associated"] == 1, run.rejects
    after = next(t for t in server.portal.snapshot() if t["id"] == ticket["id"])
    assert _linked(after, "contacts") == {contacts[1], contacts[2]}
    assert _linked(after, "companies") == set()
    assert note in _linked(after, "notes")
    assert after["properties"]["hs_pinned_engagement_id"] == note
    assert run.summary["associations_added"] == 3
    assert run.summary["associations_removed"] >= 1 + len(before_companies)


def test_association_to_missing_record_rejects_only_that_record(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=2, seed=10)
    first, second = server.portal.snapshot()
    contact = server.portal.add_object("contacts")
    records = [
        {
            "id": first["id"],
            "associations": [{"to_object_type": "contacts", "to_object_id": contact}],
        },
        {
            "id": second["id"],
            "associations": [{"to_object_type": "contacts", "to_object_id": "1"}],
        },
    ]
    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["associated"] == 1
    assert run.summary["rejected"] == 1
    [reject] = run.rejects
    assert reject["field"] == "associations"
    assert f"id {second['id']}" in reject["reason"]


def test_read_only_columns_are_dropped_with_one_warning_each(
    emulator, singer, target_config, run_target
):
    server = emulator()
    records = [
        {
            "subject": f"ticket {n}",
            "hs_pipeline_stage": "New",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "archived_at": None,
            "hs_object_id": 123,
            "hs_lastmodifieddate": "2026-01-01T00:00:00Z",
            "createdate": "2026-01-01T00:00:00Z",
            "time_to_close": 5,
            "hs_object_source": "API",
            "archived": False,
        }
        for n in range(5)
    ]
    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["created"] == 5, run.rejects
    for column in (
        "created_at",
        "updated_at",
        "archived_at",
        "hs_object_id",
        "hs_lastmodifieddate",
        "createdate",
        "time_to_close",
        "hs_object_source",
    ):
        assert run.log.count(f"column {column!r} is not written") == 1, column


def test_rejects_file_summary_and_max_rejects(emulator, singer, target_config, run_target):
    server = emulator()
    records = [
        {"subject": "good 1", "hs_pipeline_stage": "New"},
        {"subject": "bad", "hs_pipeline_stage": "New", "hs_ticket_priority": "NOPE"},
        {"subject": "good 2", "hs_pipeline_stage": "New"},
        {"hs_pipeline_stage": "New"},
    ]
    config = target_config(server, max_rejects=1)

    run = run_target(config, singer(server).lines(records), expect_error=True)

    assert run.error is not None
    assert "2 record(s) rejected, more than max_rejects=1" in str(run.error)
    # Everything valid was written and the rejects file is complete before the failure.
    assert set(_by_subject(server)) == {"good 1", "good 2"}
    assert len(run.rejects) == 2
    for line in run.rejects:
        assert set(line) >= {"stream", "record", "reason", "field", "category", "at"}
    assert run.summary["received"] == 4
    assert run.summary["created"] + run.summary["rejected"] == 4
    # A monitor reading only the summary file sees the run failed, and why.
    assert run.ended == {"status": "failed", "error": str(run.error), "dry_run": False}


def test_within_max_rejects_the_run_succeeds(emulator, singer, target_config, run_target):
    server = emulator()
    records = [{"subject": "bad", "hs_pipeline_stage": "Nowhere"}]
    run = run_target(target_config(server, max_rejects=1), singer(server).lines(records))
    assert run.error is None
    assert run.summary["rejected"] == 1
    assert run.ended == {"status": "succeeded", "error": None, "dry_run": False}


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_a_run_that_hubspot_refuses_says_so_in_its_summary_file(
    emulator, singer, target_config, run_target, dry_run
):
    server = emulator()
    records = [{"subject": "never sent", "hs_pipeline_stage": "New"}]
    config = target_config(server, access_token="pat-na1-wrong-token", dry_run=dry_run)

    run = run_target(config, singer(server).lines(records), expect_error=True)

    assert run.error is not None
    # Not a run of zeros that reads as "nothing to do": failed, with HubSpot's refusal.
    assert run.ended["status"] == "failed"
    assert run.ended["dry_run"] is dry_run
    assert "401" in run.ended["error"]
    assert "pat-na1-wrong-token" not in json.dumps(run.ended)


def test_secret_canary_never_reaches_rejects_or_logs(
    emulator, singer, target_config, run_target, caplog
):
    canary = "canary-secret-7f3a9b2c"
    server = emulator(token=canary)
    records = [
        {"subject": "bad", "hs_pipeline_stage": "New", "hs_ticket_priority": "NOPE"},
        {"id": "424242", "subject": "missing"},
        {"subject": f"mentions {canary}", "hs_pipeline_stage": "Nowhere"},
    ]
    with caplog.at_level(logging.DEBUG):
        run = run_target(target_config(server, access_token=canary), singer(server).lines(records))

    assert run.summary["rejected"] == 3
    text = json.dumps(run.rejects)
    assert canary not in text
    assert canary not in run.log
    assert canary not in caplog.text


def test_state_is_emitted_only_after_its_records_are_written(
    emulator, singer, target_config, run_target
):
    server = emulator()
    messages = singer(server)
    seen_when_state_written: list[int] = []

    class Probe(io.StringIO):
        def write(self, text: str) -> int:
            if text.strip():
                seen_when_state_written.append(len(server.portal.snapshot()))
            return super().write(text)

    lines = [
        messages.schema(),
        messages.record({"subject": "a", "hs_pipeline_stage": "New"}),
        messages.state({"bookmark": 1}),
        messages.record({"subject": "b", "hs_pipeline_stage": "New"}),
        messages.record({"subject": "bad", "hs_pipeline_stage": "Nowhere"}),
        messages.state({"bookmark": 2}),
    ]
    probe = Probe()
    from contextlib import redirect_stdout

    from target_hubspot_tickets.target import TargetHubSpotTickets

    with redirect_stdout(probe):
        target = TargetHubSpotTickets(config=target_config(server))
        target.listen(file_input=io.StringIO("\n".join(lines) + "\n"))

    states = [json.loads(line) for line in probe.getvalue().splitlines() if line.strip()]
    assert states == [{"bookmark": 2}]
    assert seen_when_state_written == [2]


def test_unknown_stream_is_refused(emulator, singer, target_config, run_target):
    server = emulator()
    lines = [
        json.dumps({"type": "SCHEMA", "stream": "contacts", "schema": {"properties": {}}}),
    ]
    run = run_target(target_config(server), lines, expect_error=True)
    assert isinstance(run.error, HubSpotError)
    assert "writes only the 'tickets' stream" in str(run.error)


def test_records_without_any_input_give_an_empty_summary(target_config, emulator, run_target):
    server = emulator()
    run = run_target(target_config(server), [])
    assert run.error is None
    assert run.summary["received"] == 0


@pytest.mark.parametrize("flag", ["--about", "--version"], ids=["about", "version"])
def test_cli_prints_metadata(flag):
    done = subprocess.run(
        [sys.executable, "-m", "target_hubspot_tickets.target", flag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "target-hubspot-tickets" in output
    if flag == "--about":
        assert "source_id_property" in output
        assert "rejects_path" in output


def test_creates_sharing_a_source_id_are_one_ticket(emulator, singer, target_config, run_target):
    server = emulator()
    records = [
        {"subject": "first", "hs_pipeline_stage": "New", "external_ticket_id": "SRC-1"},
        {"subject": "second", "hs_pipeline_stage": "New"},
        {"subject": "first, corrected", "hs_pipeline_stage": "New", "external_ticket_id": "SRC-1"},
    ]
    config = target_config(server, source_id_property="external_ticket_id")

    run = run_target(config, singer(server).lines(records))

    assert run.summary["created"] == 2
    assert run.summary["superseded"] == 1
    tickets = {t["properties"]["subject"]: t["properties"] for t in server.portal.snapshot()}
    assert set(tickets) == {"first, corrected", "second"}
    assert tickets["first, corrected"]["external_ticket_id"] == "SRC-1"
    # The generated source id is stable: a replay of the same input updates, never duplicates,
    # and says so instead of counting a create. (A ticket counts as made before the run when
    # it is older than the run's start by more than HubSpot's clock can be read from its
    # Date headers, whole seconds: so the emulator's clock moves a minute on, as a day would.)
    server.clock.offset_s += 60
    replay = run_target(config, singer(server).lines(records[1:2]))
    assert replay.summary["created"] == 0
    assert replay.summary["upserted"] == 1
    assert len(server.portal.snapshot()) == 2
    # The same content in a later incremental run (whose STATE differs) is a new ticket.
    builder = singer(server)
    later = [builder.schema(), builder.record(records[1]), builder.state({"bookmark": 2})]
    again = run_target(config, later)
    assert again.summary["created"] == 1
    assert len(server.portal.snapshot()) == 3


@pytest.mark.parametrize(
    ("api_version", "rejected"),
    [pytest.param("2026-03", 0, id="2026-03-no-rule"), pytest.param("2026-09", 1, id="2026-09")],
)
def test_admin_required_fields_of_2026_09_reject_only_the_record_missing_one(
    emulator, singer, target_config, run_target, *, api_version, rejected
):
    # From 2026-09 HubSpot also checks writes against admin-configured required fields, which
    # the property definitions do not show: only HubSpot's answer tells, per record.
    server = emulator(required_properties=("hs_ticket_priority",))
    records = [
        {"subject": "has priority", "hs_pipeline_stage": "New", "hs_ticket_priority": "HIGH"},
        {"subject": "lacks priority", "hs_pipeline_stage": "New"},
        {"subject": "has it too", "hs_pipeline_stage": "New", "hs_ticket_priority": "LOW"},
    ]

    run = run_target(target_config(server, api_version=api_version), singer(server).lines(records))

    assert run.summary["created"] == 3 - rejected
    assert run.summary["rejected"] == rejected
    subjects = set(_by_subject(server))
    assert {"has priority", "has it too"} <= subjects
    if rejected:
        [reject] = run.rejects
        assert reject["record"]["subject"] == "lacks priority"
        assert reject["category"] == "VALIDATION_ERROR"
        assert "hs_ticket_priority" in reject["reason"]
        assert "lacks priority" not in subjects


def test_a_batch_refused_whole_is_split_until_only_the_bad_record_is_rejected(
    emulator, singer, target_config, run_target
):
    # Some HubSpot errors fail a batch whole whatever the trace ids; the emulator can do that
    # for every bad input. One missing id among 64 updates must cost that record only.
    server = emulator(tickets=64, seed=31, whole_batch_errors=True)
    ids = sorted((t["id"] for t in server.portal.snapshot() if not t["archived"]), key=int)
    missing = "999999999"
    records = [{"id": i, "subject": f"bulk {i}"} for i in ids]
    records.insert(len(records) // 2, {"id": missing, "subject": "no such ticket"})

    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["updated"] == len(ids)
    assert run.summary["rejected"] == 1
    [reject] = run.rejects
    assert reject["record"]["id"] == missing
    assert reject["category"] == "OBJECT_NOT_FOUND"
    by_id = {t["id"]: t["properties"]["subject"] for t in server.portal.snapshot()}
    assert all(by_id[i] == f"bulk {i}" for i in ids)
    # Bisecting one bad record out of n costs about 2 log2(n) extra requests, not n.
    batches = sum(server.stats()["by_route"]["POST tickets.batch_update"].values())
    assert batches <= 1 + 2 * 7


@pytest.mark.parametrize(
    ("null_values", "cleared"), [("skip", False), ("clear", True)], ids=["skip", "clear"]
)
def test_a_null_leaves_hubspots_value_unless_told_to_clear_it(  # noqa: PLR0917 - fixtures + params
    emulator, singer, target_config, run_target, null_values, cleared
):
    server = emulator(tickets=3, seed=5)
    ticket = server.portal.snapshot()[0]
    assert ticket["properties"].get("hs_ticket_priority")
    # A table row as tap-postgres sends it: every column, nulls where the row has none.
    records = [{"id": ticket["id"], "subject": "renamed", "hs_ticket_priority": None}]
    config = target_config(server, null_values=null_values)

    run = run_target(config, singer(server).lines(records))

    assert run.error is None
    after = {t["id"]: t for t in server.portal.snapshot()}[ticket["id"]]["properties"]
    assert after["subject"] == "renamed"
    assert (not after.get("hs_ticket_priority")) is cleared


def test_a_row_of_nulls_with_an_id_is_unchanged(emulator, singer, target_config, run_target):
    server = emulator(tickets=3, seed=5)
    ticket = server.portal.snapshot()[0]
    records = [{"id": ticket["id"], "subject": None, "hs_ticket_priority": None, "content": None}]

    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["unchanged"] == 1
    assert run.summary["updated"] == 0


def test_an_update_of_an_archived_ticket_says_it_is_archived(
    emulator, singer, target_config, run_target
):
    server = emulator(tickets=100, seed=5)
    archived = next(t for t in server.portal.snapshot() if t["archived"])
    live = next(t for t in server.portal.snapshot() if not t["archived"])
    records = [
        {"id": archived["id"], "subject": "too late"},
        {"id": "999999999", "subject": "never existed"},
        {"id": live["id"], "subject": "fine"},
    ]

    run = run_target(target_config(server), singer(server).lines(records))

    assert run.summary["updated"] == 1
    by_id = {r["record"]["id"]: r for r in run.rejects}
    assert by_id[archived["id"]]["category"] == "ARCHIVED"
    assert "is archived" in by_id[archived["id"]]["reason"]
    assert by_id["999999999"]["category"] == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("id_property", "subject", "id_property: property 'subject' does not hold unique values"),
        ("source_id_property", "no_such", "source_id_property: property 'no_such' does not exist"),
    ],
    ids=["not-unique", "unknown"],
)
def test_a_unique_property_setting_the_portal_cannot_honour_is_a_config_error(  # noqa: PLR0917
    emulator, singer, target_config, run_target, setting, value, says
):
    server = emulator()
    config = target_config(server, **{setting: value})

    run = run_target(config, singer(server).lines([{"subject": "x"}]), expect_error=True)

    assert isinstance(run.error, ConfigError)
    assert str(run.error).startswith(says)
    assert server.portal.snapshot() == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_rejects", -1), ("unknown_outcome_wait_s", -2)],
    ids=["negative-max-rejects", "negative-wait"],
)
def test_a_bad_target_setting_is_a_config_error_before_any_write(  # noqa: PLR0917
    emulator, singer, target_config, run_target, setting, value
):
    server = emulator()
    config = target_config(server, **{setting: value})

    run = run_target(config, singer(server).lines([{"subject": "x"}]), expect_error=True)

    assert isinstance(run.error, ConfigError)
    assert str(run.error).startswith(f"{setting} must be")
    assert server.portal.snapshot() == []
