"""Batch read, create, update, upsert, archive and merge on the Portal directly."""

from __future__ import annotations

from typing import Any

import pytest

from hubspot_emulator.errors import ApiError
from hubspot_emulator.store import Portal

START_MS = 1_800_000_000_000


class Clock:
    """A hand-driven clock in epoch milliseconds."""

    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now


def make_portal() -> Portal:
    return Portal(clock_ms=Clock())


def valid(portal: Portal, **extra: Any) -> dict[str, Any]:
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    return {"subject": "Batch ticket", "hs_pipeline_stage": stage, **extra}


def ids_of(portal: Portal, count: int) -> list[str]:
    return [
        portal.create_ticket({"properties": valid(portal)}, api_version="v3")["id"]
        for _ in range(count)
    ]


# -- read ---------------------------------------------------------------------------------------
def test_batch_read_all_found_is_200():
    portal = make_portal()
    ids = ids_of(portal, 3)
    status, body = portal.batch_read(
        {"inputs": [{"id": i} for i in ids], "properties": ["subject"]}, archived=False
    )
    assert status == 200
    assert body["status"] == "COMPLETE"
    assert [t["id"] for t in body["results"]] == ids
    assert body["results"][0]["properties"]["subject"] == "Batch ticket"
    assert "errors" not in body
    assert {"startedAt", "completedAt"} <= set(body)


def test_batch_read_missing_ids_is_207_listing_them():
    portal = make_portal()
    ids = ids_of(portal, 2)
    status, body = portal.batch_read(
        {"inputs": [{"id": ids[0]}, {"id": "404404"}, {"id": "505505"}]}, archived=False
    )
    assert status == 207
    assert [t["id"] for t in body["results"]] == [ids[0]]
    assert body["numErrors"] == 1
    (error,) = body["errors"]
    assert error["status"] == "error"
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"] == {"ids": ["404404", "505505"]}


def test_batch_read_with_history_and_id_property():
    portal = make_portal()
    portal.create_ticket({"properties": valid(portal, external_ticket_id="A-1")}, api_version="v3")
    status, body = portal.batch_read(
        {
            "inputs": [{"id": "A-1"}],
            "idProperty": "external_ticket_id",
            "propertiesWithHistory": ["subject"],
        },
        archived=False,
    )
    assert status == 200
    assert body["results"][0]["propertiesWithHistory"]["subject"][0]["sourceType"] == "API"


def test_batch_read_of_archived_tickets():
    portal = make_portal()
    ids = ids_of(portal, 2)
    portal.archive_ticket(ids[0])
    status, body = portal.batch_read({"inputs": [{"id": i} for i in ids]}, archived=True)
    assert status == 207
    assert [t["id"] for t in body["results"]] == [ids[0]]
    assert body["results"][0]["archived"] is True


@pytest.mark.parametrize(
    "call",
    [
        lambda portal, body: portal.batch_read(body, archived=False),
        lambda portal, body: portal.batch_create(body, api_version="v3"),
        lambda portal, body: portal.batch_update(body, api_version="v3"),
        lambda portal, body: portal.batch_upsert(body, api_version="v3"),
        lambda portal, body: portal.batch_archive(body),
    ],
    ids=["read", "create", "update", "upsert", "archive"],
)
def test_batches_take_at_most_100_inputs(call):
    portal = make_portal()
    body = {"inputs": [{"id": str(i), "properties": {}} for i in range(101)]}
    with pytest.raises(ApiError) as caught:
        call(portal, body)
    assert caught.value.status == 400


# -- create -------------------------------------------------------------------------------------
def test_batch_create_all_valid_is_201():
    portal = make_portal()
    status, body = portal.batch_create(
        {"inputs": [{"properties": valid(portal)}, {"properties": valid(portal)}]},
        api_version="v3",
    )
    assert status == 201
    assert len(body["results"]) == 2
    assert len({t["id"] for t in body["results"]}) == 2


def test_batch_create_with_trace_ids_applies_the_valid_and_reports_the_rest():
    portal = make_portal()
    inputs = [
        {"properties": valid(portal), "objectWriteTraceId": "a"},
        {"properties": valid(portal, hs_ticket_priority="NOPE"), "objectWriteTraceId": "b"},
        {"properties": valid(portal, foo="x"), "objectWriteTraceId": "c"},
    ]
    status, body = portal.batch_create({"inputs": inputs}, api_version="v3")
    assert status == 207
    assert len(body["results"]) == 1
    assert body["numErrors"] == 2
    traces = [error["context"]["objectWriteTraceId"] for error in body["errors"]]
    assert traces == [["b"], ["c"]]
    assert {error["category"] for error in body["errors"]} == {"VALIDATION_ERROR"}
    assert body["errors"][1]["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_batch_create_without_trace_ids_fails_whole_batch():
    portal = make_portal()
    inputs = [{"properties": valid(portal)}, {"properties": valid(portal, foo="x")}]
    with pytest.raises(ApiError) as caught:
        portal.batch_create({"inputs": inputs}, api_version="v3")
    assert caught.value.status == 400
    page = portal.list_tickets(
        limit=10,
        after=None,
        properties=None,
        properties_with_history=None,
        associations=None,
        archived=False,
    )
    assert page["results"] == []


def test_batch_create_unique_values_conflict_within_the_batch():
    portal = make_portal()
    inputs = [
        {"properties": valid(portal, external_ticket_id="X"), "objectWriteTraceId": "1"},
        {"properties": valid(portal, external_ticket_id="X"), "objectWriteTraceId": "2"},
    ]
    status, body = portal.batch_create({"inputs": inputs}, api_version="v3")
    assert status == 207
    assert body["errors"][0]["category"] == "CONFLICT"
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["2"]


# -- update -------------------------------------------------------------------------------------
def test_batch_update_applies_changes():
    portal = make_portal()
    ids = ids_of(portal, 2)
    inputs = [{"id": i, "properties": {"hs_ticket_priority": "URGENT"}} for i in ids]
    status, body = portal.batch_update({"inputs": inputs}, api_version="v3")
    assert status == 200
    assert {t["properties"]["hs_ticket_priority"] for t in body["results"]} == {"URGENT"}


def test_batch_update_duplicate_ids_fail_whole_request():
    portal = make_portal()
    (ticket_id,) = ids_of(portal, 1)
    inputs = [{"id": ticket_id, "properties": {"subject": n}} for n in ("a", "b")]
    with pytest.raises(ApiError) as caught:
        portal.batch_update({"inputs": inputs}, api_version="v3")
    assert caught.value.status == 400
    assert "Duplicate IDs" in caught.value.message


def test_batch_update_missing_id_with_trace_is_207():
    portal = make_portal()
    (ticket_id,) = ids_of(portal, 1)
    inputs = [
        {"id": ticket_id, "properties": {"subject": "ok"}, "objectWriteTraceId": "t1"},
        {"id": "777", "properties": {"subject": "gone"}, "objectWriteTraceId": "t2"},
    ]
    status, body = portal.batch_update({"inputs": inputs}, api_version="v3")
    assert status == 207
    assert body["results"][0]["properties"]["subject"] == "ok"
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["t2"]


# -- upsert -------------------------------------------------------------------------------------
def test_upsert_creates_then_updates_by_unique_property():
    portal = make_portal()
    body = {
        "inputs": [
            {"id": "EXT-1", "idProperty": "external_ticket_id", "properties": valid(portal)},
        ]
    }
    status, first = portal.batch_upsert(body, api_version="v3")
    assert status == 200
    (created,) = first["results"]
    assert created["new"] is True
    assert created["properties"]["external_ticket_id"] == "EXT-1"
    body["inputs"][0]["properties"] = {"subject": "second"}
    _, second = portal.batch_upsert(body, api_version="v3")
    (updated,) = second["results"]
    assert updated["new"] is False
    assert updated["id"] == created["id"]
    assert updated["properties"]["subject"] == "second"


@pytest.mark.parametrize(
    "id_property", [None, "subject", "nope"], ids=["missing", "not-unique", "unknown"]
)
def test_upsert_needs_a_unique_id_property(id_property):
    portal = make_portal()
    body = {"inputs": [{"id": "x", "idProperty": id_property, "properties": valid(portal)}]}
    with pytest.raises(ApiError) as caught:
        portal.batch_upsert(body, api_version="v3")
    assert caught.value.status == 400


def test_upsert_duplicate_values_fail_whole_request():
    portal = make_portal()
    item = {"id": "D", "idProperty": "external_ticket_id", "properties": valid(portal)}
    with pytest.raises(ApiError) as caught:
        portal.batch_upsert({"inputs": [item, dict(item)]}, api_version="v3")
    assert caught.value.status == 400


# -- archive and merge --------------------------------------------------------------------------
def test_batch_archive_ignores_unknown_ids():
    portal = make_portal()
    ids = ids_of(portal, 2)
    portal.batch_archive({"inputs": [{"id": ids[0]}, {"id": "31337"}]})
    status, body = portal.batch_read({"inputs": [{"id": i} for i in ids]}, archived=False)
    assert status == 207
    assert [t["id"] for t in body["results"]] == [ids[1]]


def test_merge_keeps_primary_and_moves_associations():
    portal = make_portal()
    contact, note = portal.object_ids("contacts")[0], portal.object_ids("notes")[0]
    primary, merged = ids_of(portal, 2)
    portal.update_ticket(
        merged, {"properties": {"customer_tier": "gold"}}, id_property=None, api_version="v3"
    )
    portal.associate(merged, "contacts", contact, [])
    portal.associate(merged, "notes", note, [])
    survivor = portal.merge({"primaryObjectId": primary, "objectIdToMerge": merged})
    assert survivor["id"] == primary
    assert survivor["properties"]["hs_merged_object_ids"] == merged
    assert survivor["properties"]["customer_tier"] == "gold"  # blanks filled from the merged
    links = portal.list_ticket_associations(primary, "contacts", limit=100, after=None)
    assert [r["toObjectId"] for r in links["results"]] == [int(contact)]
    # The merged id answers with the primary, and it shows among archived tickets.
    got = portal.get_ticket(
        merged,
        id_property=None,
        properties=None,
        properties_with_history=None,
        associations=None,
        archived=False,
    )
    assert got["id"] == primary
    archived = portal.list_tickets(
        limit=10,
        after=None,
        properties=None,
        properties_with_history=None,
        associations=None,
        archived=True,
    )
    assert [t["id"] for t in archived["results"]] == [merged]


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"primaryObjectId": "1", "objectIdToMerge": "2"}, 404), ("same", 400)],
    ids=["missing-ids", "unknown-ids", "same-ticket"],
)
def test_merge_refusals(body, status):
    portal = make_portal()
    if body == "same":
        (ticket_id,) = ids_of(portal, 1)
        body = {"primaryObjectId": ticket_id, "objectIdToMerge": ticket_id}
    with pytest.raises(ApiError) as caught:
        portal.merge(body)
    assert caught.value.status == status


def test_whole_batch_errors_fail_a_traced_batch_whole():
    portal = Portal(whole_batch_errors=True)
    portal.seed(3, 1)
    first, second, _ = (t["id"] for t in portal.snapshot())
    inputs = [
        {"id": first, "properties": {"subject": "fine"}, "objectWriteTraceId": "a"},
        {"id": "999999999", "properties": {"subject": "missing"}, "objectWriteTraceId": "b"},
        {"id": second, "properties": {"subject": "fine too"}, "objectWriteTraceId": "c"},
    ]
    with pytest.raises(ApiError) as refused:
        portal.batch_update({"inputs": inputs}, api_version="v3")
    assert refused.value.status == 404
    subjects = {t["id"]: t["properties"]["subject"] for t in portal.snapshot()}
    assert subjects[first] != "fine"
    assert subjects[second] != "fine too"
