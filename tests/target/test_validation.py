"""Every check a record must pass before it is sent; invalid records never reach HubSpot."""

from __future__ import annotations

from typing import Any

import pytest

VALID = {"subject": "Printer on fire", "hs_pipeline_stage": "New"}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # (id, record, extra config, the field the reject must name)
    ("unknown-property", {**VALID, "no_such_property": "x"}, {}, "no_such_property"),
    (
        "read-only-value",
        {**VALID, "hs_object_source": "API"},
        {"read_only_columns": "reject"},
        "hs_object_source",
    ),
    ("calculated-value", {**VALID, "num_notes": 3}, {"read_only_columns": "reject"}, "num_notes"),
    ("invalid-option", {**VALID, "hs_ticket_priority": "SUPER"}, {}, "hs_ticket_priority"),
    (
        "invalid-multi-select-part-string",
        {**VALID, "affected_products": "web_app;toaster"},
        {},
        "affected_products",
    ),
    (
        "invalid-multi-select-part-list",
        {**VALID, "affected_products": ["web_app", "toaster"]},
        {},
        "affected_products",
    ),
    (
        "wrong-type-number",
        {**VALID, "estimated_effort_hours": "lots"},
        {},
        "estimated_effort_hours",
    ),
    ("wrong-type-bool", {**VALID, "is_escalated": "maybe"}, {}, "is_escalated"),
    ("wrong-type-date", {**VALID, "sla_due_date": "next tuesday"}, {}, "sla_due_date"),
    (
        "wrong-type-datetime",
        {**VALID, "last_customer_reply_at": "yesterday"},
        {},
        "last_customer_reply_at",
    ),
    ("bad-coordinates-type", {**VALID, "site_location": 12}, {}, "site_location"),
    ("missing-subject", {"hs_pipeline_stage": "New"}, {}, "subject"),
    ("missing-stage", {"subject": "No stage"}, {}, "hs_pipeline_stage"),
    ("unknown-pipeline", {**VALID, "hs_pipeline": "Sales"}, {}, "hs_pipeline"),
    ("unknown-stage", {**VALID, "hs_pipeline_stage": "Limbo"}, {}, "hs_pipeline_stage"),
    (
        "stage-of-another-pipeline",
        {**VALID, "hs_pipeline": "Support Pipeline", "hs_pipeline_stage": "Triage"},
        {},
        "hs_pipeline_stage",
    ),
    ("archive-without-id", {**VALID, "archived": True}, {}, "id"),
    (
        "archive-without-id-or-key",
        {**VALID, "archived": True},
        {"id_property": "external_ticket_id"},
        "id",
    ),
    (
        "archive-by-key-without-id-property",
        {**VALID, "external_ticket_id": "EXT-1", "archived": True},
        {},
        "id",
    ),
    (
        "association-without-type",
        {**VALID, "associations": [{"to_object_id": "1"}]},
        {},
        "associations[0]",
    ),
    (
        "association-unknown-object-type",
        {**VALID, "associations": [{"to_object_type": "widgets", "to_object_id": "1"}]},
        {},
        "associations[0]",
    ),
    (
        "association-bad-category",
        {
            **VALID,
            "associations": [
                {
                    "to_object_type": "contacts",
                    "to_object_id": "1",
                    "association_category": "MADE_UP",
                }
            ],
        },
        {},
        "associations[0]",
    ),
]


@pytest.mark.parametrize(
    ("record", "extra", "field"),
    [pytest.param(rec, extra, fld, id=case_id) for case_id, rec, extra, fld in CASES],
)
def test_invalid_record_is_rejected_before_sending(  # noqa: PLR0917 - fixtures + params
    emulator, singer, target_config, run_target, record, extra, field
):
    server = emulator()
    messages = singer(server)
    good = {"subject": "Fine ticket", "hs_pipeline_stage": "Waiting on us"}
    config = target_config(server, **extra)

    run = run_target(config, messages.lines([good, record]))

    assert run.error is None
    assert run.summary["received"] == 2
    assert run.summary["created"] == 1
    assert run.summary["rejected"] == 1
    [reject] = run.rejects
    assert reject["field"] == field
    assert reject["stream"] == "tickets"
    assert "tickets record #2" in reject["reason"]
    assert reject["category"] == "VALIDATION"
    assert reject["record"].get("subject") == record.get("subject")
    tickets = server.portal.snapshot()
    assert [t["properties"]["subject"] for t in tickets] == ["Fine ticket"]
    # Only the valid record was sent: one create call with one input.
    creates = server.stats()["by_route"]
    assert sum(sum(v.values()) for k, v in creates.items() if "batch_create" in k) == 1


def test_pipeline_and_stage_labels_are_resolved_on_update(
    emulator, singer, target_config, run_target
):
    server = emulator()
    messages = singer(server)
    config = target_config(server)
    run_target(config, messages.lines([{"subject": "Move me", "hs_pipeline_stage": "New"}]))
    [ticket] = server.portal.snapshot()

    run = run_target(
        config,
        messages.lines(
            [
                {
                    "id": ticket["id"],
                    "hs_pipeline": "engineering escalations",
                    "hs_pipeline_stage": "Investigating",
                }
            ]
        ),
    )

    assert run.summary["updated"] == 1, run.rejects
    [after] = server.portal.snapshot()
    assert after["properties"]["hs_pipeline"] == "58213947"
    assert after["properties"]["hs_pipeline_stage"] == "1034562913"
