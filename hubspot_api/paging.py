"""Paging over HubSpot's list and search endpoints, and the limits that shape requests.

List endpoints page with an opaque `paging.next.after` cursor; search pages with an integer
offset and refuses to go past 10,000 results
(https://developers.hubspot.com/docs/api-reference/latest/crm/search/guide).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hubspot_api.errors import HubSpotError
from hubspot_api.paths import Call

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient

LIST_PAGE_LIMIT = 100
# With `propertiesWithHistory` HubSpot serves at most 50 per page (observed, not documented).
LIST_WITH_HISTORY_LIMIT = 50
SEARCH_PAGE_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
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


def iter_list_pages(
    client: HubSpotClient,
    call: Call,
    params: Mapping[str, Any] | None = None,
    **path_params: str | int,
) -> Iterator[dict[str, Any]]:
    """Yield each page of a GET list call, following `paging.next.after`.

    Each request is rebuilt from `params` plus the cursor (never from `paging.next.link`);
    an `after` in `params` resumes from that cursor. Raises `PagingLoopError` if a cursor
    repeats.
    """
    seen: set[str] = set()
    base = dict(params or {})
    start = base.pop("after", None)
    cursor = str(start) if start is not None else None
    while True:
        query = {**base, "after": cursor} if cursor is not None else base
        page = client.get_json(call, params=query, **path_params)
        if not isinstance(page, dict):
            raise HubSpotError(f"{call.name} answered with {type(page).__name__}, not an object")
        yield page
        cursor = next_after(page)
        if cursor is None:
            return
        if cursor in seen:
            raise PagingLoopError(f"{call.name} repeated the paging cursor {cursor!r}")
        seen.add(cursor)


def iter_list(
    client: HubSpotClient,
    call: Call,
    params: Mapping[str, Any] | None = None,
    **path_params: str | int,
) -> Iterator[dict[str, Any]]:
    """Yield every result of a GET list call across all its pages."""
    for page in iter_list_pages(client, call, params, **path_params):
        yield from page.get("results") or ()


class SearchPager:
    """Iterate the pages of one search, stopping before HubSpot's 10,000-result cap.

    After iteration, `capped` tells whether more results matched than one query can reach
    (the caller narrows its filters and searches again), and `total` is HubSpot's count.
    """

    def __init__(
        self,
        client: HubSpotClient,
        body: Mapping[str, Any],
        page_size: int = SEARCH_PAGE_LIMIT,
    ) -> None:
        """Prepare the search; `body` holds filterGroups, sorts, properties, query."""
        if not 1 <= page_size <= SEARCH_PAGE_LIMIT:
            raise ValueError(f"page_size must be between 1 and {SEARCH_PAGE_LIMIT}")
        self._client = client
        self._body = dict(body)
        self._page_size = page_size
        self.capped = False
        self.total: int | None = None
        self.pages = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield each answer page (`{total, results, paging?}`)."""
        offset = int(self._body.get("after") or 0)
        while True:
            limit = min(self._page_size, SEARCH_RESULT_CAP - offset)
            body = {**self._body, "limit": limit}
            if offset:
                body["after"] = str(offset)
            else:
                body.pop("after", None)
            page = self._client.post_json(Call.SEARCH, body)
            if not isinstance(page, dict):
                raise HubSpotError(f"search answered with {type(page).__name__}, not an object")
            total = page.get("total")
            self.total = total if isinstance(total, int) else self.total
            self.pages += 1
            yield page
            cursor = next_after(page)
            if cursor is None:
                return
            try:
                next_offset = int(cursor)
            except ValueError:
                raise HubSpotError(f"search returned a non-numeric offset {cursor!r}") from None
            if next_offset <= offset:
                raise PagingLoopError(f"search offset went from {offset} back to {next_offset}")
            if next_offset >= SEARCH_RESULT_CAP:
                self.capped = True
                return
            offset = next_offset


def iter_search(
    client: HubSpotClient,
    body: Mapping[str, Any],
    page_size: int = SEARCH_PAGE_LIMIT,
) -> SearchPager:
    """Return an iterable of search pages; check `.capped` after iterating (see SearchPager)."""
    return SearchPager(client, body, page_size)


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
