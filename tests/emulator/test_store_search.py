"""CRM search on the Portal directly: operators, limits, sorting, paging and index lag."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from hubspot_emulator.errors import ApiError
from hubspot_emulator.properties import DEFAULT_TICKET_PROPERTIES
from hubspot_emulator.search import (
    MAX_FILTER_GROUPS,
    MAX_FILTERS,
    MAX_FILTERS_PER_GROUP,
    MAX_SEARCH_LIMIT,
)
from hubspot_emulator.store import Portal

START_MS = 1_800_000_000_000  # 2027-01-15T08:00:00.000Z


class Clock:
    """A hand-driven clock in epoch milliseconds."""

    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now

    def tick(self, ms: int = 1_000) -> None:
        self.now += ms


def make_portal(lag_ms: float = 0.0) -> tuple[Portal, Clock]:
    clock = Clock()
    return Portal(clock_ms=clock, search_lag_ms=lag_ms), clock


def create(portal: Portal, **properties: Any) -> str:
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    body = {"subject": "Search me", "hs_pipeline_stage": stage, **properties}
    return str(portal.create_ticket({"properties": body}, api_version="v3")["id"])


def update(portal: Portal, ticket_id: str, **properties: Any) -> None:
    portal.update_ticket(ticket_id, {"properties": properties}, id_property=None, api_version="v3")


def found(portal: Portal, *filters: dict[str, Any], **body: Any) -> list[str]:
    if filters:
        body["filterGroups"] = [{"filters": list(filters)}]
    body.setdefault("limit", MAX_SEARCH_LIMIT)
    return [result["id"] for result in portal.search(body)["results"]]


@functools.cache
def sample() -> tuple[Portal, list[str]]:
    """Build four tickets an hour apart once; the tests only search them."""
    portal, clock = make_portal()
    ids = []
    for hours, priority, effort, tier, products in [
        (0, "LOW", "1", "gold", "web_app"),
        (1, "HIGH", "2.5", "silver", "web_app;public_api"),
        (2, "URGENT", "10", None, "public_api"),
        (3, "MEDIUM", None, "gold", None),
    ]:
        clock.now = START_MS + hours * 3_600_000
        properties: dict[str, Any] = {"hs_ticket_priority": priority}
        if effort is not None:
            properties["estimated_effort_hours"] = effort
        if tier is not None:
            properties["customer_tier"] = tier
        if products is not None:
            properties["affected_products"] = products
        ids.append(create(portal, subject=f"Printer {priority.lower()} jam", **properties))
    return portal, ids


def _f(name: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    item = {"propertyName": name, "operator": op, **extra}
    if value is not None:
        item["value"] = value
    return item


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (_f("hs_ticket_priority", "EQ", "HIGH"), [1]),
        (_f("hs_ticket_priority", "EQ", "high"), [1]),
        (_f("hs_ticket_priority", "NEQ", "HIGH"), [0, 2, 3]),
        (_f("customer_tier", "NEQ", "gold"), [1, 2]),
        (_f("estimated_effort_hours", "GT", "2"), [1, 2]),
        (_f("estimated_effort_hours", "LTE", "2.5"), [0, 1]),
        (_f("estimated_effort_hours", "BETWEEN", "2", highValue="10"), [1, 2]),
        (_f("createdate", "GTE", str(START_MS + 3_600_000)), [1, 2, 3]),
        (_f("createdate", "LT", "2027-01-15T09:00:00Z"), [0]),
        (_f("hs_lastmodifieddate", "BETWEEN", str(START_MS), highValue=str(START_MS)), [0]),
        (_f("hs_ticket_priority", "IN", values=["LOW", "URGENT"]), [0, 2]),
        (_f("hs_ticket_priority", "NOT_IN", values=["LOW", "URGENT"]), [1, 3]),
        (_f("affected_products", "IN", values=["public_api"]), [1, 2]),
        (_f("customer_tier", "HAS_PROPERTY"), [0, 1, 3]),
        (_f("customer_tier", "NOT_HAS_PROPERTY"), [2]),
        (_f("subject", "CONTAINS_TOKEN", "urgent"), [2]),
        (_f("subject", "CONTAINS_TOKEN", "jam*"), [0, 1, 2, 3]),
        (_f("subject", "NOT_CONTAINS_TOKEN", "low"), [1, 2, 3]),
    ],
    ids=[
        "eq",
        "eq-case-insensitive",
        "neq",
        "neq-includes-missing",
        "gt-number",
        "lte-number",
        "between-number",
        "gte-datetime-epoch",
        "lt-datetime-iso",
        "between-datetime",
        "in",
        "not-in",
        "in-multi-select",
        "has-property",
        "not-has-property",
        "contains-token",
        "contains-token-wildcard",
        "not-contains-token",
    ],
)
def test_operators(item, expected):
    portal, ids = sample()
    assert found(portal, item) == [ids[i] for i in expected]


def test_object_id_compares_numerically():
    portal, ids = sample()
    assert found(portal, _f("hs_object_id", "GT", ids[1])) == ids[2:]
    assert found(portal, _f("hs_object_id", "LTE", ids[1])) == ids[:2]


def test_filters_and_within_a_group_or_across_groups():
    portal, ids = sample()
    both = [_f("customer_tier", "EQ", "gold"), _f("hs_ticket_priority", "EQ", "LOW")]
    assert found(portal, *both) == [ids[0]]
    either = {
        "filterGroups": [
            {"filters": [_f("hs_ticket_priority", "EQ", "LOW")]},
            {"filters": [_f("hs_ticket_priority", "EQ", "URGENT")]},
        ]
    }
    assert found(portal, **either) == [ids[0], ids[2]]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, [0, 1, 2, 3]),
        ([{"propertyName": "hs_object_id", "direction": "DESCENDING"}], [3, 2, 1, 0]),
        ([{"propertyName": "estimated_effort_hours", "direction": "ASCENDING"}], [0, 1, 2, 3]),
        ([{"propertyName": "estimated_effort_hours", "direction": "DESCENDING"}], [2, 1, 0, 3]),
        (["-createdate"], [3, 2, 1, 0]),
    ],
    ids=["default-id", "id-desc", "number-asc", "number-desc-missing-last", "short-form"],
)
def test_sorting(sort, expected):
    portal, ids = sample()
    body: dict[str, Any] = {} if sort is None else {"sorts": sort}
    assert found(portal, **body) == [ids[i] for i in expected]


def test_results_shape_and_default_properties():
    portal, _ = sample()
    response = portal.search({"limit": 1})
    assert response["total"] == 4
    (result,) = response["results"]
    assert set(result) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert result["archived"] is False
    assert list(result["properties"]) == list(DEFAULT_TICKET_PROPERTIES)
    assert response["paging"] == {"next": {"after": "1"}}


def test_asked_properties_come_with_the_basics():
    portal, _ = sample()
    (result,) = portal.search({"limit": 1, "properties": ["customer_tier", "nope"]})["results"]
    assert set(result["properties"]) == {
        "customer_tier",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_offset_paging_ends_without_paging():
    portal, ids = sample()
    first = portal.search({"limit": 3})
    assert first["paging"]["next"]["after"] == "3"
    last = portal.search({"limit": 3, "after": first["paging"]["next"]["after"]})
    assert [r["id"] for r in last["results"]] == ids[3:]
    assert "paging" not in last


def test_query_matches_subject_text():
    portal, ids = sample()
    assert found(portal, query="URGENT jam") == [ids[2]]


@pytest.mark.parametrize(
    "body",
    [
        {"limit": MAX_SEARCH_LIMIT + 1},
        {"after": "9999", "limit": 2},
        {"after": "10000", "limit": 1},
        {"after": "ten"},
        {"sorts": ["createdate", "subject"]},
        {"sorts": [{"propertyName": "nope"}]},
        {"filterGroups": [{"filters": [_f("subject", "HAS_PROPERTY")]}] * (MAX_FILTER_GROUPS + 1)},
        {
            "filterGroups": [
                {"filters": [_f("subject", "HAS_PROPERTY")] * (MAX_FILTERS_PER_GROUP + 1)}
            ]
        },
        {
            "filterGroups": [{"filters": [_f("subject", "HAS_PROPERTY")] * MAX_FILTERS_PER_GROUP}]
            * (MAX_FILTERS // MAX_FILTERS_PER_GROUP + 1)
        },
        {"filterGroups": [{"filters": [_f("nope", "EQ", "x")]}]},
        {"filterGroups": [{"filters": [_f("subject", "LIKE", "x")]}]},
        {"filterGroups": [{"filters": [_f("createdate", "GT", "last tuesday")]}]},
        {"filterGroups": [{"filters": [_f("subject", "IN")]}]},
    ],
    ids=[
        "limit-over-200",
        "past-10k",
        "at-10k",
        "bad-after",
        "two-sorts",
        "unknown-sort",
        "too-many-groups",
        "too-many-in-group",
        "too-many-in-all",
        "unknown-property",
        "unknown-operator",
        "bad-datetime-value",
        "in-without-values",
    ],
)
def test_refused_requests(body):
    portal, _ = make_portal()
    with pytest.raises(ApiError) as caught:
        portal.search(body)
    assert caught.value.status == 400
    assert caught.value.category == "VALIDATION_ERROR"


def test_the_last_page_before_10k_is_allowed():
    portal, _ = make_portal()
    assert portal.search({"after": "9800", "limit": 200})["results"] == []


def test_archived_tickets_never_appear():
    portal, _ = make_portal()
    kept, gone = create(portal), create(portal)
    portal.archive_ticket(gone)
    assert found(portal) == [kept]


# -- lag ----------------------------------------------------------------------------------------
def test_new_ticket_is_invisible_until_the_lag_passes():
    portal, clock = make_portal(lag_ms=5_000)
    ticket_id = create(portal)
    assert portal.search({})["total"] == 0
    clock.tick(4_999)
    assert found(portal) == []
    clock.tick(1)
    assert found(portal) == [ticket_id]


def test_update_shows_the_previous_version_during_the_lag():
    portal, clock = make_portal(lag_ms=5_000)
    ticket_id = create(portal, hs_ticket_priority="LOW")
    old_modified = START_MS
    clock.tick(10_000)
    update(portal, ticket_id, hs_ticket_priority="HIGH")
    (result,) = portal.search({"properties": ["hs_ticket_priority"]})["results"]
    assert result["properties"]["hs_ticket_priority"] == "LOW"
    assert result["properties"]["hs_lastmodifieddate"] == "2027-01-15T08:00:00.000Z"
    assert found(portal, _f("hs_ticket_priority", "EQ", "HIGH")) == []
    assert found(portal, _f("hs_lastmodifieddate", "EQ", str(old_modified))) == [ticket_id]
    clock.tick(5_000)
    assert found(portal, _f("hs_ticket_priority", "EQ", "HIGH")) == [ticket_id]


def test_archive_reaches_search_after_the_lag():
    portal, clock = make_portal(lag_ms=2_000)
    ticket_id = create(portal)
    clock.tick(2_000)
    portal.archive_ticket(ticket_id)
    assert found(portal) == [ticket_id]
    clock.tick(2_000)
    assert found(portal) == []


def test_seeded_tickets_are_searchable_at_once():
    portal, _ = make_portal(lag_ms=60_000)
    portal.seed(50, seed=1)
    active = portal.list_tickets(
        limit=100,
        after=None,
        properties=None,
        properties_with_history=None,
        associations=None,
        archived=False,
    )
    assert portal.search({})["total"] == len(active["results"])


def test_a_ticket_hidden_from_search_is_counted_but_never_returned():
    portal = Portal()
    portal.seed(30, 3)
    everything = portal.search({"limit": 200})
    hidden = everything["results"][4]["id"]
    portal.hide_from_search(hidden)
    answer = portal.search({"limit": 200})
    assert answer["total"] == everything["total"]
    assert hidden not in {r["id"] for r in answer["results"]}
    assert len(answer["results"]) == everything["total"] - 1
