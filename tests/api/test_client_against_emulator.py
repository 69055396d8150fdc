"""The client against the emulator over loopback: both path families, errors, concurrency."""

from __future__ import annotations

import pytest

from hubspot_api import (
    BATCH_LIMIT,
    Call,
    NotFoundError,
    UriTooLongError,
    ValidationError,
    chunk_properties,
    fetch_property_definitions,
    iter_keyset_search,
    iter_list,
)
from hubspot_api.properties import TICKET_INFORMATION_GROUP, create_unique_text_property

VERSIONS = ["v3", "2026-03", "2026-09"]


@pytest.mark.parametrize("version", VERSIONS, ids=VERSIONS)
def test_every_family_reads_and_writes(emulator, make_client, version):
    server = emulator(tickets=40, seed=5)
    client = make_client(server, api_version=version)
    expected = {t["id"] for t in server.portal.snapshot() if not t.get("archived")}

    listed = list(iter_list(client, Call.LIST_TICKETS, {"limit": 7}))
    assert {t["id"] for t in listed} == expected
    assert len(listed) == len(expected)

    found = [t["id"] for page in iter_keyset_search(client, page_size=9) for t in page.results]
    assert sorted(found, key=int) == sorted(expected, key=int)

    definitions = fetch_property_definitions(client)
    assert "subject" in definitions
    pipelines = client.get_json(Call.LIST_PIPELINES)["results"]
    pipeline, stage = pipelines[0]["id"], pipelines[0]["stages"][0]["id"]

    created = client.post_json(
        Call.CREATE_TICKET,
        {
            "properties": {
                "subject": f"made by {version}",
                "hs_pipeline": pipeline,
                "hs_pipeline_stage": stage,
            }
        },
    )
    ticket_id = created["id"]
    client.call(
        Call.UPDATE_TICKET, json={"properties": {"subject": "renamed"}}, ticket_id=ticket_id
    )
    read = client.get_json(
        Call.READ_TICKET, params={"properties": ["subject"]}, ticket_id=ticket_id
    )
    assert read["properties"]["subject"] == "renamed"

    batch = client.post_json(
        Call.BATCH_READ, {"inputs": [{"id": ticket_id}], "properties": ["subject"]}
    )
    assert [r["id"] for r in batch["results"]] == [ticket_id]

    labels = client.get_json(Call.ASSOCIATION_LABELS, to_type="contacts")
    assert labels["results"]

    assert client.call(Call.ARCHIVE_TICKET, ticket_id=ticket_id) is None  # 204
    with pytest.raises(NotFoundError):
        client.get_json(Call.READ_TICKET, ticket_id=ticket_id)


def test_concurrent_batch_updates_apply_in_input_order(emulator, make_client):
    server = emulator(tickets=250, seed=11)
    client = make_client(server, max_concurrency=6)
    ids = [t["id"] for t in server.portal.snapshot() if not t.get("archived")]
    batches = [ids[i : i + BATCH_LIMIT] for i in range(0, len(ids), BATCH_LIMIT)]

    def update(batch: list[str]) -> list[str]:
        body = {"inputs": [{"id": i, "properties": {"subject": f"s-{i}"}} for i in batch]}
        answer = client.post_json(Call.BATCH_UPDATE, body)
        return sorted(r["id"] for r in answer["results"])

    results = list(client.map_concurrent(update, batches))
    assert results == [sorted(b) for b in batches]
    subjects = {t["id"]: t["properties"]["subject"] for t in server.portal.snapshot()}
    assert all(subjects[i] == f"s-{i}" for i in ids)


def test_errors_are_typed_and_one_line(emulator, make_client):
    server = emulator(tickets=3)
    client = make_client(server)
    with pytest.raises(NotFoundError) as missing:
        client.get_json(Call.READ_TICKET, ticket_id="999999999")
    assert missing.value.status == 404
    with pytest.raises(ValidationError) as invalid:
        client.post_json(Call.CREATE_TICKET, {"properties": {"no_such_property_anywhere": "x"}})
    for error in (missing.value, invalid.value):
        assert "\n" not in str(error)
        assert error.correlation_id


def test_many_properties_fit_once_chunked(emulator, make_client):
    server = emulator(tickets=5, max_uri_length=1200)
    client = make_client(server)
    names = [f"made_up_property_number_{i}" for i in range(80)]
    with pytest.raises(UriTooLongError):
        client.get_json(Call.LIST_TICKETS, params={"properties": names})
    chunks = chunk_properties(names, 900)
    assert len(chunks) > 1
    for chunk in chunks:
        page = client.get_json(Call.LIST_TICKETS, params={"properties": chunk, "limit": 5})
        assert len(page["results"]) == 5


@pytest.mark.parametrize("version", VERSIONS, ids=VERSIONS)
def test_a_unique_text_property_is_created_once_and_read_when_it_exists(
    emulator, make_client, version
):
    server = emulator(tickets=2, seed=6)
    client = make_client(server, api_version=version)

    made = create_unique_text_property(client, "source_row_id", label="Row", description="key")
    again = create_unique_text_property(client, "source_row_id", label="Row", description="key")

    assert (made.type, made.field_type, made.has_unique_value) == ("string", "text", True)
    assert made.group_name == TICKET_INFORMATION_GROUP
    assert again == made  # HubSpot's 409 for an existing name: the property is read instead
    assert fetch_property_definitions(client)["source_row_id"] == made
