"""Paging over HubSpot's list and search endpoints, and the limits that shape requests.

List endpoints page with an opaque `paging.next.after` cursor (`iter_list_pages`). Search pages
with an integer offset and refuses to go past 10,000 results
(https://developers.hubspot.com/docs/api-reference/latest/crm/search/guide), so it is never
paged by offset here: `iter_keyset_search` asks every page again from offset 0 for the ids past
the last one taken, ascending or descending. `hubspot_api.frontier` makes the two meet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hubspot_api.errors import HubSpotError
from hubspot_api.paths import Call
from hubspot_api.properties import OBJECT_ID

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient

LIST_PAGE_LIMIT = 100
# With `propertiesWithHistory` HubSpot serves at most 50 per page (observed, not documented).
LIST_WITH_HISTORY_LIMIT = 50
SEARCH_PAGE_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
SEARCH_MAX_FILTER_GROUPS = 5
SEARCH_MAX_FILTERS_PER_GROUP = 6
SEARCH_MAX_FILTERS = 18
BATCH_LIMIT = 100
# HubSpot answers 414 near 16,000 characters of URL. Keep the `properties` value well under,
# leaving room for the host, the path and the other parameters.
URI_LIMIT = 16_000
MAX_PROPERTIES_QUERY_CHARS = 12_000


class PagingLoopError(HubSpotError):
    """HubSpot handed back a cursor it had already given: following it would never end."""


def next_after(page: Mapping[str, Any]) -> str | None:
    """Return the `paging.next.after` cursor of a page, or None on the last page."""
    paging = page.get("paging")
    if not isinstance(paging, Mapping):
        return None
    nxt = paging.get("next")
    if not isinstance(nxt, Mapping):
        return None
    after = nxt.get("after")
    if after is None or after == "":
        return None
    return str(after)


class CursorGuard:
    """Remember the cursors a walk has followed, and refuse one handed back twice."""

    def __init__(self, what: str) -> None:
        """Name the walk, for the error."""
        self._what = what
        self._seen: set[str] = set()

    def check(self, cursor: str) -> None:
        """Raise `PagingLoopError` if `cursor` was followed before; remember it otherwise."""
        if cursor in self._seen:
            raise PagingLoopError(f"{self._what} repeated the paging cursor {cursor!r}")
        self._seen.add(cursor)


# -- the list walk --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListPage:
    """One page of a list call and the cursor of the page after it (None: the last page)."""

    results: list[dict[str, Any]]
    next_after: str | None


def iter_list_pages(
    client: HubSpotClient,
    call: Call,
    params: Mapping[str, Any] | None = None,
    **path_params: str | int,
) -> Iterator[ListPage]:
    """Yield each page of a GET list call, following `paging.next.after`.

    Each request is rebuilt from `params` plus the cursor (never from `paging.next.link`);
    an `after` in `params` resumes from that cursor. Raises `PagingLoopError` if a cursor
    repeats.
    """
    guard = CursorGuard(call.name)
    base = dict(params or {})
    start = base.pop("after", None)
    cursor = str(start) if start is not None else None
    while True:
        query = {**base, "after": cursor} if cursor is not None else base
        # The client checked the answer is a page (`answers`): `results` is a list of objects.
        answer = client.get_json(call, params=query, **path_params)
        page = ListPage(list(answer["results"]), next_after(answer))
        yield page
        if page.next_after is None:
            return
        guard.check(page.next_after)
        cursor = page.next_after


def iter_list(
    client: HubSpotClient,
    call: Call,
    params: Mapping[str, Any] | None = None,
    **path_params: str | int,
) -> Iterator[dict[str, Any]]:
    """Yield every result of a GET list call across all its pages."""
    for page in iter_list_pages(client, call, params, **path_params):
        yield from page.results


# -- the keyset search ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchPage:
    """One page of a keyset search.

    `results` are the matches past the key, in HubSpot's order; `key` is the id to resume
    after (the highest taken ascending, the lowest descending; the starting key while none
    was taken); `final` says fewer than a page matched, so nothing is left. `total` is
    HubSpot's count of the matches past the key the page was asked from (None when the answer
    had none): approximate, as search trails writes, but free with every page.
    """

    results: list[dict[str, Any]]
    key: int | None
    final: bool
    total: int | None = None


def check_filter_groups(groups: Sequence[Mapping[str, Any]]) -> None:
    """Raise `ValueError` for filter groups past search's limits (docs/hubspot-api.md)."""
    sizes = [len(group.get("filters") or ()) for group in groups]
    if len(groups) > SEARCH_MAX_FILTER_GROUPS:
        raise ValueError(f"search takes at most {SEARCH_MAX_FILTER_GROUPS} filter groups")
    if any(size > SEARCH_MAX_FILTERS_PER_GROUP for size in sizes):
        raise ValueError(f"search takes at most {SEARCH_MAX_FILTERS_PER_GROUP} filters a group")
    if sum(sizes) > SEARCH_MAX_FILTERS:
        raise ValueError(f"search takes at most {SEARCH_MAX_FILTERS} filters in all")


def keyset_search_body(
    filter_groups: Sequence[Mapping[str, Any]],
    properties: Sequence[str],
    *,
    descending: bool = False,
    key: int | None = None,
    limit: int = SEARCH_PAGE_LIMIT,
) -> dict[str, Any]:
    """Return the search for the next page past `key` in `hs_object_id` order, from offset 0.

    The id condition is added to every filter group (groups are ORed), so each page is a new
    query for the ids beyond the last one taken: no offset grows towards the 10,000-result cap
    and a match leaving the result set cannot shift the pages after it.
    """
    groups = [list(group.get("filters") or ()) for group in filter_groups]
    if key is not None:
        operator = "LT" if descending else "GT"
        condition = {"propertyName": OBJECT_ID, "operator": operator, "value": str(key)}
        groups = [[*filters, condition] for filters in groups or [[]]]
    body_groups = [{"filters": filters} for filters in groups]
    check_filter_groups(body_groups)
    return {
        "filterGroups": body_groups,
        # Search takes one sort only; the id is the one that makes progress certain.
        "sorts": [
            {"propertyName": OBJECT_ID, "direction": "DESCENDING" if descending else "ASCENDING"}
        ],
        "properties": list(properties),
        "limit": limit,
        "after": 0,
    }


def iter_keyset_search(
    client: HubSpotClient,
    filter_groups: Sequence[Mapping[str, Any]] = (),
    properties: Sequence[str] = (),
    *,
    descending: bool = False,
    key: int | None = None,
    page_size: int = SEARCH_PAGE_LIMIT,
) -> Iterator[SearchPage]:
    """Yield every match of a search in `hs_object_id` order, resumable from `key`.

    The order HubSpot returns is not trusted: a result at or beyond the key is dropped, and a
    full page that moves the key nowhere raises `PagingLoopError`.
    """
    if not 1 <= page_size <= SEARCH_PAGE_LIMIT:
        raise ValueError(f"page_size must be between 1 and {SEARCH_PAGE_LIMIT}")
    while True:
        body = keyset_search_body(
            filter_groups, properties, descending=descending, key=key, limit=page_size
        )
        # The client checked the answer is a search page (`answers`): `total`, `results`, ids.
        answer = client.post_json(Call.SEARCH, body)
        results = list(answer["results"])
        total: int = answer["total"]
        fresh = [r for r in results if _beyond(int(r["id"]), key, descending)]
        final = len(results) < page_size
        if fresh:
            ids = [int(r["id"]) for r in fresh]
            key = min(ids) if descending else max(ids)
        elif not final:
            raise PagingLoopError(f"search returned no id past {key} in a full page")
        yield SearchPage(fresh, key, final, total)
        if final:
            return


def search_total(client: HubSpotClient, filter_groups: Sequence[Mapping[str, Any]] = ()) -> int:
    """Return how many records a search matches: its `total`, asked with `limit` 1.

    The count is the index's; like the results, it trails recent writes by the search lag.
    """
    groups = [{"filters": list(group.get("filters") or ())} for group in filter_groups]
    check_filter_groups(groups)
    body = {"filterGroups": groups, "properties": [OBJECT_ID], "limit": 1, "after": 0}
    total: int = client.post_json(Call.SEARCH, body)["total"]  # checked by the client
    return total


def _beyond(object_id: int, key: int | None, descending: bool) -> bool:
    if key is None:
        return True
    return object_id < key if descending else object_id > key


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Yield lists of at most `size` items (for batch inputs)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def encoded_length(names: Iterable[str]) -> int:
    """Return the length of `names` comma-joined and percent-encoded, as sent in a query."""
    return len(quote(",".join(names), safe=""))


def chunk_properties(
    names: Iterable[str], max_query_chars: int = MAX_PROPERTIES_QUERY_CHARS
) -> list[list[str]]:
    """Split property names into groups whose encoded `properties=` value fits the budget.

    Avoids HubSpot's 414 on GETs with hundreds of properties. Order is kept; a single name
    longer than the budget raises `ValueError`.
    """
    separator = len(quote(",", safe=""))
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for name in names:
        size = len(quote(name, safe=""))
        if size > max_query_chars:
            raise ValueError(f"property name {name[:40]!r}... alone exceeds {max_query_chars}")
        extra = size if not current else size + separator
        if current and used + extra > max_query_chars:
            chunks.append(current)
            current, used = [], 0
            extra = size
        current.append(name)
        used += extra
    if current:
        chunks.append(current)
    return chunks
