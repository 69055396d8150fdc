"""Property chunking, batching, and the search pager's cap and loop guard."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlencode

import pytest

from hubspot_api.paging import (
    SEARCH_RESULT_CAP,
    PagingLoopError,
    SearchPager,
    chunk_properties,
    chunked,
    encoded_length,
    next_after,
)


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


class ScriptedSearch:
    """Answers searches over `total` fake results, as HubSpot pages them."""

    def __init__(self, total: int, repeat_offset: bool = False) -> None:
        self.total = total
        self.bodies: list[dict[str, Any]] = []
        self.repeat_offset = repeat_offset

    def post_json(self, call, body):
        self.bodies.append(body)
        offset = int(body.get("after", 0))
        if offset >= SEARCH_RESULT_CAP or offset + body["limit"] > SEARCH_RESULT_CAP:
            raise AssertionError("asked past the cap")
        end = min(self.total, offset + body["limit"])
        page: dict[str, Any] = {
            "total": self.total,
            "results": [{"id": i} for i in range(offset, end)],
        }
        if end < self.total:
            page["paging"] = {"next": {"after": str(offset if self.repeat_offset else end)}}
        return page


def test_search_pages_until_the_end():
    client = ScriptedSearch(450)
    pager = SearchPager(client, {"filterGroups": []})  # type: ignore[arg-type]
    ids = [r["id"] for page in pager for r in page["results"]]
    assert ids == list(range(450))
    assert not pager.capped
    assert pager.total == 450
    assert [b.get("after") for b in client.bodies] == [None, "200", "400"]


def test_search_stops_before_the_cap():
    client = ScriptedSearch(25_000)
    pager = SearchPager(client, {"filterGroups": []})  # type: ignore[arg-type]
    ids = [r["id"] for page in pager for r in page["results"]]
    assert len(ids) == SEARCH_RESULT_CAP
    assert pager.capped
    assert pager.pages == 50


def test_search_cap_with_an_odd_page_size():
    client = ScriptedSearch(25_000)
    pager = SearchPager(client, {}, page_size=150)  # type: ignore[arg-type]
    ids = [r["id"] for page in pager for r in page["results"]]
    assert len(ids) == SEARCH_RESULT_CAP
    assert client.bodies[-1]["limit"] == 100  # clamped so the request never crosses the cap


def test_search_loop_guard():
    pager = SearchPager(ScriptedSearch(500, repeat_offset=True), {})  # type: ignore[arg-type]
    with pytest.raises(PagingLoopError):
        list(pager)


def test_search_page_size_is_bounded():
    with pytest.raises(ValueError, match="page_size"):
        SearchPager(ScriptedSearch(1), {}, page_size=201)  # type: ignore[arg-type]
