"""HubSpot's official Python SDK (`hubspot-api-client`) against the emulator over loopback.

The SDK is generated from HubSpot's published OpenAPI specs and deserializes every answer into
strict models: a missing required field, an unknown enum value or a wrongly typed date raises
instead of passing silently. Driving the emulator with it checks the emulator's shapes against
an independent reading of HubSpot's API rather than against our own client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicFetchAssociationsBatchRequest,
)
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.tickets import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.tickets import (
    AssociationSpec as TicketAssociationSpec,
)

from hubspot_emulator.config import DEFAULT_TOKEN

TICKET_COUNT = 30
SEED = 11
OAUTH_CLIENT_ID = "emulator-client"
OAUTH_CLIENT_SECRET = "emulator-secret"
REFRESH_TOKEN = "emulator-refresh-token"


@pytest.fixture
def server(emulator):
    return emulator(tickets=TICKET_COUNT, seed=SEED)


@pytest.fixture
def client(server) -> HubSpot:
    # The SDK ships with client-side validation off; on, every model checks its required fields
    # and enums while deserializing, which is the point of this module.
    return HubSpot(access_token=DEFAULT_TOKEN, host=server.url, client_side_validation=True)


@pytest.fixture
def lenient_client(server) -> HubSpot:
    """Return the SDK as shipped, for 207 answers.

    HubSpot's spec marks `links`, `errors` and `context` as required on each batch error, but
    HubSpot's own answers leave out the ones that are empty (as the emulator does), so strict
    models would refuse real 207s too.
    """
    return HubSpot(access_token=DEFAULT_TOKEN, host=server.url)


def _pipeline(client: HubSpot) -> tuple[str, str]:
    """Return the first pipeline's id and its first stage's id, read through the SDK."""
    pipeline = client.crm.pipelines.pipelines_api.get_all("tickets").results[0]
    return pipeline.id, pipeline.stages[0].id


def _new_properties(client: HubSpot, subject: str, **extra: str) -> dict[str, str]:
    pipeline_id, stage_id = _pipeline(client)
    return {
        "subject": subject,
        "hs_pipeline": pipeline_id,
        "hs_pipeline_stage": stage_id,
        **extra,
    }


def _error_body(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert isinstance(body, dict)
    return body


# -- tickets: basic API --------------------------------------------------------------------------
def test_get_page_walks_every_ticket(client):
    seen: list[str] = []
    after: str | None = None
    while True:
        page = client.crm.tickets.basic_api.get_page(limit=7, after=after)
        seen += [ticket.id for ticket in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
        assert page.paging.next.link.startswith("http://127.0.0.1:")
        assert f"after={after}" in page.paging.next.link
    assert len(seen) == len(set(seen)) > 0
    first = client.crm.tickets.basic_api.get_page(limit=1).results[0]
    assert isinstance(first.created_at, datetime)
    assert first.created_at.tzinfo is not None
    assert isinstance(first.updated_at, datetime)
    assert first.archived is False
    assert "subject" in first.properties
    assert all(value is None or isinstance(value, str) for value in first.properties.values())


def test_get_page_with_properties_history_and_associations(client):
    page = client.crm.tickets.basic_api.get_page(
        limit=50,
        properties=["subject", "hs_ticket_priority"],
        properties_with_history=["hs_pipeline_stage"],
        associations=["contacts", "companies"],
    )
    assert page.results
    for ticket in page.results:
        assert {"subject", "hs_ticket_priority", "hs_object_id"} <= set(ticket.properties)
        history = ticket.properties_with_history["hs_pipeline_stage"]
        assert history, "every seeded ticket has a stage"
        assert all(isinstance(entry.timestamp, datetime) for entry in history)
        assert all(entry.source_type for entry in history)
    linked = [ticket for ticket in page.results if ticket.associations]
    assert linked, "the seed links some tickets to contacts or companies"
    for ticket in linked:
        for kind, associated in ticket.associations.items():
            assert kind in ("contacts", "companies")
            assert all(item.id and item.type for item in associated.results)


def test_get_page_archived_lists_only_archived(client):
    victim = client.crm.tickets.basic_api.get_page(limit=1).results[0].id
    client.crm.tickets.basic_api.archive(victim)
    archived = client.crm.tickets.basic_api.get_page(archived=True, limit=100).results
    assert victim in [ticket.id for ticket in archived]
    assert all(ticket.archived is True for ticket in archived)
    assert all(isinstance(ticket.archived_at, datetime) for ticket in archived)


def test_get_by_id_and_by_unique_property(client):
    created = client.crm.tickets.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties=_new_properties(client, "Printer on fire", external_ticket_id="EXT-1")
        )
    )
    by_id = client.crm.tickets.basic_api.get_by_id(
        created.id, properties=["subject"], properties_with_history=["subject"]
    )
    assert by_id.properties["subject"] == "Printer on fire"
    assert by_id.properties_with_history["subject"][0].value == "Printer on fire"
    by_key = client.crm.tickets.basic_api.get_by_id(
        "EXT-1", id_property="external_ticket_id", properties=["subject"]
    )
    assert by_key.id == created.id


def test_create_with_associations_then_update_and_archive(client, server):
    contact = server.portal.object_ids("contacts")[0]
    created = client.crm.tickets.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties=_new_properties(client, "Cannot log in", hs_ticket_priority="HIGH"),
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=contact),
                    types=[
                        TicketAssociationSpec(
                            association_category="HUBSPOT_DEFINED", association_type_id=16
                        )
                    ],
                )
            ],
        )
    )
    assert created.id
    assert created.properties["subject"] == "Cannot log in"
    read = client.crm.tickets.basic_api.get_by_id(created.id, associations=["contacts"])
    assert [item.id for item in read.associations["contacts"].results] == [contact]

    updated = client.crm.tickets.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"hs_ticket_priority": "LOW"})
    )
    assert updated.properties["hs_ticket_priority"] == "LOW"
    assert updated.updated_at >= created.updated_at

    client.crm.tickets.basic_api.archive(created.id)
    with pytest.raises(ApiException) as caught:
        client.crm.tickets.basic_api.get_by_id(created.id)
    assert caught.value.status == 404


# -- tickets: batch API --------------------------------------------------------------------------
def test_batch_create_read_update_archive(client, lenient_client):
    created = client.crm.tickets.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties=_new_properties(client, f"Batch ticket {n}")
                )
                for n in range(3)
            ]
        )
    )
    assert created.status == "COMPLETE"
    assert isinstance(created.started_at, datetime)
    assert isinstance(created.completed_at, datetime)
    ids = sorted(ticket.id for ticket in created.results)
    assert len(ids) == 3

    read = client.crm.tickets.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=ticket_id) for ticket_id in ids],
            properties=["subject"],
            properties_with_history=["subject"],
        )
    )
    assert sorted(ticket.id for ticket in read.results) == ids
    assert all(ticket.properties_with_history["subject"] for ticket in read.results)

    updated = client.crm.tickets.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(
                    id=ticket_id, properties={"hs_ticket_priority": "HIGH"}
                )
                for ticket_id in ids
            ]
        )
    )
    assert {ticket.properties["hs_ticket_priority"] for ticket in updated.results} == {"HIGH"}

    client.crm.tickets.batch_api.archive(
        BatchInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=ticket_id) for ticket_id in ids]
        )
    )
    gone = lenient_client.crm.tickets.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=ticket_id) for ticket_id in ids],
            properties=[],
            properties_with_history=[],
        )
    )
    assert gone.results == []
    assert gone.num_errors == 1
    assert gone.errors[0].category == "OBJECT_NOT_FOUND"


def test_batch_upsert_tells_new_from_existing(client):
    existing = client.crm.tickets.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties=_new_properties(client, "Upsert me", external_ticket_id="UP-1")
        )
    )
    pipeline_id, stage_id = _pipeline(client)
    answer = client.crm.tickets.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="UP-1", id_property="external_ticket_id", properties={"subject": "Upserted"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="UP-2",
                    id_property="external_ticket_id",
                    properties={
                        "subject": "Brand new",
                        "hs_pipeline": pipeline_id,
                        "hs_pipeline_stage": stage_id,
                    },
                ),
            ]
        )
    )
    by_key = {ticket.properties["external_ticket_id"]: ticket for ticket in answer.results}
    assert by_key["UP-1"].new is False
    assert by_key["UP-1"].id == existing.id
    assert by_key["UP-1"].properties["subject"] == "Upserted"
    assert by_key["UP-2"].new is True


def test_batch_partial_failure_is_a_207_with_errors(client, lenient_client):
    pipeline_id, stage_id = _pipeline(client)
    answer = lenient_client.crm.tickets.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties=_new_properties(client, "Good"), object_write_trace_id="good"
                ),
                SimplePublicObjectBatchInputForCreate(
                    properties={
                        "subject": "Bad",
                        "hs_pipeline": pipeline_id,
                        "hs_pipeline_stage": stage_id,
                        "no_such_property": "x",
                    },
                    object_write_trace_id="bad",
                ),
            ]
        )
    )
    assert [ticket.properties["subject"] for ticket in answer.results] == ["Good"]
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert error.category == "VALIDATION_ERROR"
    assert error.context["objectWriteTraceId"] == ["bad"]


# -- search --------------------------------------------------------------------------------------
def _search(client: HubSpot, **fields: Any):
    return client.crm.tickets.search_api.do_search(PublicObjectSearchRequest(**fields))


def test_search_pages_through_filtered_sorted_results(client, server):
    wanted = [
        ticket["id"]
        for ticket in server.portal.snapshot()
        if not ticket["archived"] and ticket["properties"].get("hs_ticket_priority") == "HIGH"
    ]
    seen: list[str] = []
    after: str | None = None
    while True:
        page = _search(
            client,
            filter_groups=[
                FilterGroup(
                    filters=[
                        Filter(property_name="hs_ticket_priority", operator="EQ", value="HIGH")
                    ]
                )
            ],
            sorts=["hs_object_id"],
            properties=["subject", "hs_ticket_priority"],
            limit=3,
            after=after,
        )
        assert page.total == len(wanted)
        seen += [ticket.id for ticket in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == sorted(wanted, key=int)


def test_search_filter_groups_are_ored(client):
    either = _search(
        client,
        filter_groups=[
            FilterGroup(
                filters=[Filter(property_name="hs_ticket_priority", operator="EQ", value=value)]
            )
            for value in ("HIGH", "LOW")
        ],
        limit=200,
    )
    assert {ticket.properties.get("hs_ticket_priority") for ticket in either.results} <= {
        "HIGH",
        "LOW",
    }
    assert either.total == len(either.results)


def test_search_without_properties_returns_the_defaults(client):
    page = _search(client, limit=1)
    assert page.results
    assert {"createdate", "hs_lastmodifieddate", "hs_object_id"} <= set(page.results[0].properties)


@pytest.mark.parametrize(
    ("after", "limit"),
    [
        pytest.param("10000", 1, id="after-at-the-cap"),
        pytest.param("20000", 10, id="after-past-the-cap"),
    ],
)
def test_search_past_ten_thousand_is_a_400(client, after, limit):
    with pytest.raises(ApiException) as caught:
        _search(client, after=after, limit=limit)
    assert caught.value.status == 400
    body = _error_body(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]


# -- properties and pipelines --------------------------------------------------------------------
def test_properties_get_all_get_by_name_and_create(client):
    everything = client.crm.properties.core_api.get_all("tickets").results
    names = {prop.name for prop in everything}
    assert {"subject", "hs_pipeline", "hs_pipeline_stage", "hs_lastmodifieddate"} <= names
    assert all(prop.modification_metadata is not None for prop in everything)
    subject = client.crm.properties.core_api.get_by_name("tickets", "subject")
    assert subject.type == "string"
    created = client.crm.properties.core_api.create(
        "tickets",
        PropertyCreate(
            name="sdk_region",
            label="Region",
            type="enumeration",
            field_type="select",
            group_name="ticketinformation",
            options=[
                {"label": "North", "value": "north", "hidden": False, "displayOrder": 0},
                {"label": "South", "value": "south", "hidden": False, "displayOrder": 1},
            ],
        ),
    )
    assert created.name == "sdk_region"
    assert [option.value for option in created.options] == ["north", "south"]
    assert client.crm.properties.core_api.get_by_name("tickets", "sdk_region").label == "Region"


def test_pipelines_get_all(client):
    pipelines = client.crm.pipelines.pipelines_api.get_all("tickets").results
    assert pipelines
    for pipeline in pipelines:
        assert pipeline.stages
        assert isinstance(pipeline.created_at, datetime)
        assert all(stage.metadata["ticketState"] in ("OPEN", "CLOSED") for stage in pipeline.stages)


# -- associations v4 -----------------------------------------------------------------------------
def test_association_create_list_and_archive(client, server):
    ticket = client.crm.tickets.basic_api.get_page(limit=1).results[0].id
    company = server.portal.object_ids("companies")[-1]
    v4 = client.crm.associations.v4
    made = v4.basic_api.create(
        "tickets",
        ticket,
        "companies",
        company,
        [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=26)],
    )
    assert str(made.from_object_id) == ticket
    assert str(made.to_object_id) == company
    assert made.labels == ["Primary"]

    listed = v4.basic_api.get_page("tickets", ticket, "companies", limit=500)
    entry = next(item for item in listed.results if str(item.to_object_id) == company)
    assert {kind.type_id for kind in entry.association_types} == {26, 339}
    assert {kind.category for kind in entry.association_types} == {"HUBSPOT_DEFINED"}

    v4.basic_api.archive("tickets", ticket, "companies", company)
    after = v4.basic_api.get_page("tickets", ticket, "companies", limit=500)
    assert company not in [str(item.to_object_id) for item in after.results]


def test_association_batch_read(client, server):
    contacts = server.portal.object_ids("contacts")
    tickets = [ticket.id for ticket in client.crm.tickets.basic_api.get_page(limit=2).results]
    v4 = client.crm.associations.v4
    for ticket in tickets:
        v4.basic_api.create(
            "tickets",
            ticket,
            "contacts",
            contacts[0],
            [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=16)],
        )
    answer = v4.batch_api.get_page(
        "tickets",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[{"id": ticket} for ticket in tickets]
        ),
    )
    assert answer.status == "COMPLETE"
    assert sorted(str(item._from.id) for item in answer.results) == sorted(tickets)
    for item in answer.results:
        assert contacts[0] in [str(to.to_object_id) for to in item.to]


def test_association_batch_read_reports_ids_without_associations(client, lenient_client):
    page = client.crm.tickets.basic_api.get_page(
        limit=100, associations=["contacts"], properties=["subject"]
    )
    lonely = next(ticket.id for ticket in page.results if not ticket.associations)
    answer = lenient_client.crm.associations.v4.batch_api.get_page(
        "tickets",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": lonely}]),
    )
    assert answer.results == []
    assert answer.num_errors == 1
    (error,) = answer.errors
    assert error.category == "OBJECT_NOT_FOUND"
    assert error.sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert error.message == f"No contact is associated with ticket {lonely}."
    assert error.context["fromObjectId"] == [lonely]


@pytest.mark.parametrize(
    ("from_type", "to_type"),
    [
        pytest.param("tickets", "contacts", id="tickets-to-contacts"),
        pytest.param("tickets", "companies", id="tickets-to-companies"),
        pytest.param("contacts", "tickets", id="contacts-to-tickets"),
    ],
)
def test_association_labels(client, from_type, to_type):
    labels = client.crm.associations.v4.schema.definitions_api.get_all(from_type, to_type)
    assert labels.results
    assert all(isinstance(label.type_id, int) for label in labels.results)
    assert {label.category for label in labels.results} <= {"HUBSPOT_DEFINED", "USER_DEFINED"}


# -- OAuth ---------------------------------------------------------------------------------------
def test_oauth_refresh_token_grant(server):
    client = HubSpot(host=server.url)
    tokens = client.oauth.tokens_api.create(
        grant_type="refresh_token",
        client_id=OAUTH_CLIENT_ID,
        client_secret=OAUTH_CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
    )
    assert tokens.access_token
    assert tokens.refresh_token == REFRESH_TOKEN
    assert tokens.expires_in > 0
    assert tokens.token_type == "bearer"
    as_app = HubSpot(access_token=tokens.access_token, host=server.url)
    assert as_app.crm.tickets.basic_api.get_page(limit=1).results


# -- errors --------------------------------------------------------------------------------------
ErrorCall = Callable[[HubSpot], object]


@pytest.mark.parametrize(
    ("call", "status", "category"),
    [
        pytest.param(
            lambda client: client.crm.tickets.basic_api.get_by_id("999999999"),
            404,
            "OBJECT_NOT_FOUND",
            id="missing-ticket",
        ),
        pytest.param(
            lambda client: client.crm.tickets.basic_api.update(
                "999999999", SimplePublicObjectInput(properties={"subject": "x"})
            ),
            404,
            "OBJECT_NOT_FOUND",
            id="update-missing-ticket",
        ),
        pytest.param(
            lambda client: client.crm.tickets.basic_api.create(
                SimplePublicObjectInputForCreate(properties={"no_such_property": "x"})
            ),
            400,
            "VALIDATION_ERROR",
            id="unknown-property",
        ),
        pytest.param(
            lambda client: client.crm.tickets.basic_api.get_page(limit=1000),
            400,
            "VALIDATION_ERROR",
            id="limit-too-large",
        ),
        pytest.param(
            lambda client: client.crm.properties.core_api.get_by_name("tickets", "nope"),
            404,
            "OBJECT_NOT_FOUND",
            id="missing-property",
        ),
    ],
)
def test_errors_carry_hubspots_error_body(client, call: ErrorCall, status, category):
    # Each API package of the SDK has its own ApiException class.
    with pytest.raises((ApiException, PropertiesApiException)) as caught:
        call(client)
    exc = caught.value
    assert exc.status == status, exc
    body = json.loads(exc.body)
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["message"]
    assert body["correlationId"]
    assert exc.headers["Content-Type"].startswith("application/json")
