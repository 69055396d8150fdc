"""Property chunking, batching, and the keyset search: every id once, its limits, its guard."""

from __future__ import annotations

import itertools
import random
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubspot_api.paging import (
    PagingLoopError,
    chunk_properties,
    chunked,
    encoded_length,
    iter_keyset_search,
    keyset_search_body,
    next_after,
)
from hubspot_api.paths import Call


def test_chunks_stay_under_budget_and_keep_order():
    names = [f"custom_property_number_{i}" for i in range(1500)]
    chunks = chunk_properties(names, 2000)
    assert [n for chunk in chunks for n in chunk] == names
    for chunk in chunks:
        assert encoded_length(chunk) <= 2000
        # the budget matches what requests really puts in the URL
        assert len(urlencode({"properties": ",".join(chunk)})) - len("properties=") <= 2000
    assert len(chunks) > 1
    # greedy: each chunk but the last could not take the next name
    for chunk, following in itertools.pairwise(chunks):
        assert encoded_length([*chunk, following[0]]) > 2000


def test_one_chunk_when_it_fits():
    assert chunk_properties(["a", "b"], 100) == [["a", "b"]]
    assert chunk_properties([], 100) == []


def test_name_encoding_counts():
    assert chunk_properties(["ab", "cd"], 7) == [["ab", "cd"]]  # "ab%2Ccd" is 7
    assert chunk_properties(["ab", "cd"], 6) == [["ab"], ["cd"]]


def test_name_over_budget_is_refused():
    with pytest.raises(ValueError, match="alone exceeds"):
        chunk_properties(["x" * 50], 10)


@pytest.mark.parametrize(
    ("size", "expected"),
    [(2, [[1, 2], [3, 4], [5]]), (5, [[1, 2, 3, 4, 5]])],
    ids=["uneven", "exact"],
)
def test_chunked(size, expected):
    assert list(chunked([1, 2, 3, 4, 5], size)) == expected


@pytest.mark.parametrize(
    ("page", "cursor"),
    [
        ({"paging": {"next": {"after": "abc"}}}, "abc"),
        ({"paging": {"next": {"after": 200}}}, "200"),
        ({}, None),
        ({"paging": {}}, None),
        ({"paging": {"next": {"after": ""}}}, None),
    ],
    ids=["string", "int", "no-paging", "no-next", "empty"],
)
def test_next_after(page, cursor):
    assert next_after(page) == cursor


class KeysetPortal:
    """Answers keyset searches over the ids `ids` as HubSpot would, optionally shuffling pages."""

    def __init__(self, ids: list[int], *, shuffle: random.Random | None = None) -> None:
        self.ids = sorted(ids)
        self.bodies: list[dict[str, Any]] = []
        self.shuffle = shuffle

    def post_json(self, call, body):
        assert call is Call.SEARCH
        assert body["after"] == 0  # never an offset
        self.bodies.append(body)
        descending = body["sorts"] == [{"propertyName": "hs_object_id", "direction": "DESCENDING"}]
        matches = [i for i in self.ids if any(_holds(i, g) for g in body["filterGroups"] or [{}])]
        page = sorted(matches, reverse=descending)[: body["limit"]]
        if self.shuffle is not None:
            self.shuffle.shuffle(page)
        return {"total": len(matches), "results": [{"id": str(i)} for i in page]}


def _holds(object_id: int, group: dict[str, Any]) -> bool:
    for f in group.get("filters") or ():
        value = int(f["value"])
        if f["propertyName"] == "hs_object_id":
            if f["operator"] == "GT" and not object_id > value:
                return False
            if f["operator"] == "LT" and not object_id < value:
                return False
        elif f["propertyName"] == "mod" and object_id % value:  # stand-in: id % value == 0
            return False
    return True


def _walk(portal: KeysetPortal, **kwargs: Any) -> list[int]:
    return [int(r["id"]) for page in iter_keyset_search(portal, **kwargs) for r in page.results]  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    ids=st.sets(st.integers(1, 5000), max_size=700),
    descending=st.booleans(),
    page_size=st.integers(1, 200),
    seed=st.integers(0, 2**16),
)
def test_keyset_search_reads_every_id_once_in_any_page_order(ids, descending, page_size, seed):
    portal = KeysetPortal(list(ids), shuffle=random.Random(seed))
    got = _walk(portal, descending=descending, page_size=page_size)
    assert sorted(got) == sorted(ids)
    assert len(got) == len(ids)


def test_keyset_search_resumes_past_the_key_and_keeps_the_callers_filters():
    portal = KeysetPortal(list(range(1, 1001)))
    groups = [{"filters": [{"propertyName": "mod", "operator": "EQ", "value": "3"}]}]
    got = _walk(portal, filter_groups=groups, key=600, page_size=50)
    assert got == [i for i in range(601, 1001) if i % 3 == 0]
    keys = [b["filterGroups"][0]["filters"][-1]["value"] for b in portal.bodies]
    assert keys == ["600", "750", "900"]
    assert all(b["filterGroups"][0]["filters"][0]["propertyName"] == "mod" for b in portal.bodies)


def test_keyset_search_pages_carry_their_key_and_end_on_a_short_page():
    pages = list(iter_keyset_search(KeysetPortal(list(range(1, 451))), descending=True))  # type: ignore[arg-type]
    assert [(len(p.results), p.key, p.final) for p in pages] == [
        (200, 251, False),
        (200, 51, False),
        (50, 1, True),
    ]


def test_keyset_body_adds_the_id_condition_to_every_group():
    groups = [
        {"filters": [{"propertyName": "a", "operator": "EQ", "value": str(n)}]} for n in (1, 2)
    ]
    body = keyset_search_body(groups, ["subject"], descending=True, key=500, limit=50)
    assert [g["filters"][-1] for g in body["filterGroups"]] == [
        {"propertyName": "hs_object_id", "operator": "LT", "value": "500"}
    ] * 2
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "DESCENDING"}]
    assert (body["after"], body["limit"], body["properties"]) == (0, 50, ["subject"])
    assert keyset_search_body([], ["x"])["filterGroups"] == []


@pytest.mark.parametrize(
    ("groups", "limit"),
    [
        ([{"filters": []}] * 6, "filter groups"),
        ([{"filters": [{}] * 6}], "filters a group"),
        ([{"filters": [{}] * 5}] * 4, "filters in all"),
    ],
    ids=["groups", "per-group", "total"],
)
def test_keyset_body_refuses_what_search_would_refuse(groups, limit):
    with pytest.raises(ValueError, match=limit):
        keyset_search_body(groups, [], key=1)


class StuckSearch:
    def post_json(self, call, body):
        return {"total": body["limit"], "results": [{"id": "5"}] * body["limit"]}


def test_keyset_search_loop_guard():
    with pytest.raises(PagingLoopError):
        list(iter_keyset_search(StuckSearch(), key=5))  # type: ignore[arg-type]


def test_keyset_page_size_is_bounded():
    with pytest.raises(ValueError, match="page_size"):
        list(iter_keyset_search(StuckSearch(), page_size=201))  # type: ignore[arg-type]
