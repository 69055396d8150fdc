"""HubSpot's CRM search over tickets: request checks, filter evaluation, sorting and index lag.

HubSpot answers searches from a separate index that trails writes by seconds. `SearchIndex`
keeps, per ticket, the version search can see plus the versions still on their way, and
promotes them once they are old enough. A search scans columns of the visible documents kept
in id order; it never copies tickets.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from hubspot_emulator.errors import validation_error
from hubspot_emulator.properties import (
    DEFAULT_TICKET_PROPERTIES,
    PropertyDef,
    iso_from_ms,
    ms_from_any,
)

JSON = dict[str, Any]

# Limits of HubSpot's search endpoints (developers.hubspot.com, CRM search guide: limitations).
DEFAULT_SEARCH_LIMIT = 10
MAX_SEARCH_LIMIT = 200
MAX_SEARCH_RESULTS = 10_000  # no page may reach past the first 10,000 results of a query
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_SORTS = 1
# HubSpot's subCategory for each limit -> (the limit, its message).
_SEARCH_LIMITS = {
    "TOO_MANY_FILTER_GROUPS": (
        MAX_FILTER_GROUPS,
        "Too many filter groups: {count}. A search may have at most {maximum} filterGroups.",
    ),
    "TOO_MANY_FILTERS_IN_GROUP": (
        MAX_FILTERS_PER_GROUP,
        "Too many filters in a filter group: {count}. A filter group may have at most "
        "{maximum} filters.",
    ),
    "TOO_MANY_FILTERS": (
        MAX_FILTERS,
        "Too many filters: {count}. A search may have at most {maximum} filters across all "
        "filter groups.",
    ),
}

# Search always returns these, whatever the request asks for.
ALWAYS_RETURNED = ("createdate", "hs_lastmodifieddate", "hs_object_id")
# Properties the free-text `query` looks in (HubSpot's default searchable ticket properties).
QUERY_PROPERTIES = ("subject", "content")

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_RANGE = frozenset({"LT", "LTE", "GT", "GTE"})
_TOKEN_SPLIT = re.compile(r"[^\w*]+")


class SearchDoc:
    """One ticket as the search index sees it: a frozen view of its values at index time."""

    __slots__ = ("created_at", "id", "id_int", "updated_at", "values")

    def __init__(
        self, id_int: int, values: dict[str, str], created_at: str, updated_at: str
    ) -> None:
        self.id_int = id_int
        self.id = str(id_int)
        self.values = values
        self.created_at = created_at
        self.updated_at = updated_at


@dataclass(frozen=True, slots=True)
class Filter:
    """One compiled search filter: what to compare, how, and against which constants."""

    name: str
    kind: str
    op: str
    value: Any = None
    high: Any = None
    values: frozenset[Any] = frozenset()
    multi: bool = False


def _to_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _fold(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _raw(value: str | None) -> str | None:
    return value


# How each kind of comparison reads a stored value into a column.
_READERS: dict[str, Callable[[str | None], Any]] = {
    "number": _to_number,
    "ordered_text": _raw,
    "text": _fold,
}


class SearchIndex:
    """The visible search documents in id order plus the versions still lagging behind.

    Filters run over per-property columns aligned with the id-ordered documents, built on
    first use and kept in step with every change, so a filter is one pass over a list.
    """

    def __init__(self, lag_ms: float, hidden: Iterable[int] = ()) -> None:
        self.lag_ms = lag_ms
        # Tickets counted in `total` but left out of every result page: an index that lost a
        # document, for testing that a client notices the count it was not given.
        self.hidden: set[int] = set(hidden)
        self._ids: list[int] = []
        self._docs: list[SearchDoc] = []
        self._columns: dict[tuple[str, str], list[Any]] = {}
        self._pending: list[tuple[float, int, int, SearchDoc | None]] = []
        self._seq = 0

    def publish(
        self, ticket_id: int, doc: SearchDoc | None, now_ms: int, *, immediate: bool
    ) -> None:
        """Queue a ticket's new version (None removes it), visible after the lag or at once."""
        if immediate or self.lag_ms <= 0:
            self._apply(ticket_id, doc)
            return
        self._seq += 1
        heapq.heappush(self._pending, (now_ms + self.lag_ms, self._seq, ticket_id, doc))

    def promote(self, now_ms: int) -> None:
        """Make every version whose lag has passed visible."""
        pending = self._pending
        while pending and pending[0][0] <= now_ms:
            _, _, ticket_id, doc = heapq.heappop(pending)
            self._apply(ticket_id, doc)

    def clear(self) -> None:
        """Forget every document (the portal was reset)."""
        self._ids.clear()
        self._docs.clear()
        self._columns.clear()
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._docs)

    def _apply(self, ticket_id: int, doc: SearchDoc | None) -> None:
        at = bisect_left(self._ids, ticket_id)
        present = at < len(self._ids) and self._ids[at] == ticket_id
        if doc is None:
            if present:
                del self._ids[at]
                del self._docs[at]
                for column in self._columns.values():
                    del column[at]
        elif present:
            self._docs[at] = doc
            for (name, kind), column in self._columns.items():
                column[at] = _READERS[kind](doc.values.get(name))
        else:
            self._ids.insert(at, ticket_id)
            self._docs.insert(at, doc)
            for (name, kind), column in self._columns.items():
                column.insert(at, _READERS[kind](doc.values.get(name)))

    def _column(self, name: str, kind: str) -> list[Any]:
        if kind == "id":
            return self._ids
        key = (name, kind)
        column = self._columns.get(key)
        if column is None:
            read = _READERS[kind]
            column = self._columns[key] = [read(doc.values.get(name)) for doc in self._docs]
        return column

    def search(self, body: JSON, props: dict[str, PropertyDef], now_ms: int) -> JSON:
        """Answer a search request body as HubSpot does, over the visible documents."""
        request = _parse_request(body, props)
        self.promote(now_ms)
        matched = self._match(request.groups)
        if request.query:
            matched = self._match_query(matched, request.query)
        matched = self._sort(matched, request.sort, props)
        total = len(matched)
        if self.hidden:
            matched = [at for at in matched if self._ids[at] not in self.hidden]
        end = request.offset + request.limit
        docs = self._docs
        names = request.properties
        out: JSON = {
            "total": total,
            "results": [
                {
                    "id": doc.id,
                    "properties": {name: doc.values.get(name) for name in names},
                    "createdAt": doc.created_at,
                    "updatedAt": doc.updated_at,
                    "archived": False,
                }
                for doc in (docs[at] for at in matched[request.offset : end])
            ],
        }
        if end < len(matched):
            out["paging"] = {"next": {"after": str(end)}}
        return out

    # -- evaluation (positions are indexes into the id-ordered documents) ---------------------
    def _match(self, groups: list[list[Filter]]) -> list[int]:
        if not groups:
            return list(range(len(self._docs)))
        if len(groups) == 1:
            return self._match_group(groups[0])
        # Filter groups are ORed.
        hits: set[int] = set()
        for group in groups:
            hits.update(self._match_group(group))
        return sorted(hits)

    def _match_group(self, group: list[Filter]) -> list[int]:
        # Filters of a group are ANDed. Range filters on one property merge into one pass;
        # a range on hs_object_id is a bisection of the id-ordered index.
        bounds: dict[tuple[str, str], _Bounds] = {}
        others: list[Filter] = []
        for item in group:
            if item.op in _RANGE or item.op == "BETWEEN":
                bounds.setdefault((item.name, item.kind), _Bounds(item.kind)).add(item)
            else:
                others.append(item)
        positions: Positions | None = None
        id_bounds = bounds.pop(("hs_object_id", "id"), None)
        if id_bounds is not None:
            positions = id_bounds.slice(self._ids)
        for (name, kind), bound in bounds.items():
            positions = bound.scan(self._column(name, kind), positions)
            if not positions:
                return []
        for item in others:
            positions = self._run(item, positions)
            if not positions:
                return []
        return list(range(len(self._docs)) if positions is None else positions)

    def _run(self, item: Filter, positions: Positions | None) -> list[int]:
        op, kind = item.op, item.kind
        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            present = op == "HAS_PROPERTY"
            raw = self._column(item.name, "ordered_text")
            return _scan(raw, positions, lambda v: (v is not None) is present)
        column = self._column(item.name, kind)
        if op in ("EQ", "NEQ", "IN", "NOT_IN") and not item.multi:
            # Membership in a set is what EQ, NEQ, IN and NOT_IN test on single values; as in
            # HubSpot, a ticket without the property is "not equal" / "not in" too.
            wanted = item.values if op in ("IN", "NOT_IN") else frozenset((item.value,))
            rows = _rows(column, positions)
            if op in ("EQ", "IN"):
                return [at for at, v in rows if v in wanted]
            return [at for at, v in rows if v not in wanted]
        if op in ("EQ", "NEQ"):
            # A multi-select value equals the filter value when it is exactly that set.
            value = ";".join(sorted(str(item.value).split(";")))
            found = _scan(
                column,
                positions,
                lambda v: v is not None and ";".join(sorted(v.split(";"))) == value,
            )
            if op == "EQ":
                return found
            return [at for at in positions or range(len(column)) if at not in set(found)]
        if op in ("IN", "NOT_IN"):
            chosen = item.values
            # A multi-select value is IN when any of its options is among the wanted ones.
            found = _scan(
                column, positions, lambda v: v is not None and not chosen.isdisjoint(v.split(";"))
            )
            if op == "IN":
                return found
            hits = set(found)
            return [at for at in (positions or range(len(column))) if at not in hits]
        pattern = str(item.value)
        matches = _token_matcher(pattern)
        if op == "NOT_CONTAINS_TOKEN":
            return _scan(column, positions, lambda v: v is None or not matches(v))
        return _scan(column, positions, lambda v: v is not None and matches(v))

    def _match_query(self, positions: list[int], query: str) -> list[int]:
        hits: set[int] = set()
        for name in QUERY_PROPERTIES:
            column = self._column(name, "text")
            hits.update(at for at, v in _rows(column, positions) if v is not None and query in v)
        if query.isdigit():
            at = bisect_left(self._ids, int(query))
            if at < len(self._ids) and self._ids[at] == int(query) and at in set(positions):
                hits.add(at)
        return sorted(hits)

    def _sort(
        self, positions: list[int], sort: tuple[str, bool] | None, props: dict[str, PropertyDef]
    ) -> list[int]:
        if sort is None:
            return positions  # id order: HubSpot's order when no sort is given
        name, descending = sort
        kind = _kind(props[name])
        if kind == "id":
            return positions[::-1] if descending else positions
        column = self._column(name, kind)
        keyed = [(v, at) for at in positions if (v := column[at]) is not None]
        missing = [at for at in positions if column[at] is None]
        # A stable sort keeps ties in id order; tickets without a value come last either way.
        keyed.sort(key=lambda pair: pair[0], reverse=descending)
        return [at for _, at in keyed] + missing


Positions = range | list[int]

# Bounds that let any stored value through, per kind of column.
_LOWEST: dict[str, Any] = {"id": -math.inf, "number": -math.inf, "ordered_text": "", "text": ""}
_HIGHEST: dict[str, Any] = {
    "id": math.inf,
    "number": math.inf,
    "ordered_text": "\U0010ffff",
    "text": "\U0010ffff",
}


class _Bounds:
    """The merged range filters of one property: tightest low and high, and inclusiveness."""

    def __init__(self, kind: str) -> None:
        self.low: Any = _LOWEST[kind]
        self.high: Any = _HIGHEST[kind]
        self.low_inclusive = True
        self.high_inclusive = True

    def add(self, item: Filter) -> None:
        """Tighten the bounds by one LT/LTE/GT/GTE/BETWEEN filter."""
        if item.op in ("GT", "GTE", "BETWEEN"):
            self._raise_low(item.value, inclusive=item.op != "GT")
        if item.op in ("LT", "LTE"):
            self._lower_high(item.value, inclusive=item.op == "LTE")
        if item.op == "BETWEEN":
            self._lower_high(item.high, inclusive=True)

    def _raise_low(self, value: Any, *, inclusive: bool) -> None:
        if value > self.low:
            self.low, self.low_inclusive = value, inclusive
        elif value == self.low:
            self.low_inclusive = self.low_inclusive and inclusive

    def _lower_high(self, value: Any, *, inclusive: bool) -> None:
        if value < self.high:
            self.high, self.high_inclusive = value, inclusive
        elif value == self.high:
            self.high_inclusive = self.high_inclusive and inclusive

    def slice(self, ids: list[int]) -> range:
        """Return the positions of a sorted id list within the bounds."""
        start = (bisect_left if self.low_inclusive else bisect_right)(ids, self.low)
        stop = (bisect_right if self.high_inclusive else bisect_left)(ids, self.high)
        return range(start, max(start, stop))

    def scan(self, column: list[Any], positions: Positions | None) -> list[int]:
        """Return the positions whose value lies within the bounds, in one pass."""
        low, high = self.low, self.high
        # The hot path of incremental syncs (an hs_lastmodifieddate window): one chained
        # comparison per row, no call.
        if positions is None:
            found = [at for at, v in enumerate(column) if v is not None and low <= v <= high]
        elif isinstance(positions, range) and positions.step == 1:
            rows = column[positions.start : positions.stop]
            found = [
                at
                for at, v in enumerate(rows, positions.start)
                if v is not None and low <= v <= high
            ]
        else:
            found = [at for at in positions if (v := column[at]) is not None and low <= v <= high]
        if not self.low_inclusive:
            found = [at for at in found if column[at] != low]
        if not self.high_inclusive:
            found = [at for at in found if column[at] != high]
        return found


def _rows(column: list[Any], positions: Positions | None) -> Iterable[tuple[int, Any]]:
    """Yield (position, value) pairs of a column, for every row or the given positions."""
    if positions is None:
        return enumerate(column)
    if isinstance(positions, range) and positions.step == 1:
        return enumerate(column[positions.start : positions.stop], positions.start)
    return ((at, column[at]) for at in positions)


def _scan(column: list[Any], positions: Positions | None, test: Callable[[Any], bool]) -> list[int]:
    if positions is None:
        return [at for at, v in enumerate(column) if test(v)]
    return [at for at in positions if test(column[at])]


def _tokens(text: str) -> list[str]:
    return [token for token in _TOKEN_SPLIT.split(text.lower()) if token]


def _token_matcher(pattern: str) -> Callable[[str], bool]:
    wanted = pattern.strip().lower()
    parts = _tokens(wanted)

    def matches(value: str) -> bool:
        lowered = value.lower()
        if "*" in wanted:
            # HubSpot allows wildcards in tokens ("*@example.com").
            return fnmatchcase(lowered, wanted) or any(
                fnmatchcase(token, wanted) for token in _tokens(lowered)
            )
        tokens = _tokens(lowered)
        return wanted in tokens or (bool(parts) and all(part in tokens for part in parts))

    return matches


@dataclass(frozen=True, slots=True)
class _Request:
    groups: list[list[Filter]]
    sort: tuple[str, bool] | None
    properties: list[str]
    limit: int
    offset: int
    query: str


def _parse_request(body: JSON, props: dict[str, PropertyDef]) -> _Request:
    limit = _int_field(body, "limit", DEFAULT_SEARCH_LIMIT)
    if limit < 0 or limit > MAX_SEARCH_LIMIT:
        raise validation_error(f"limit must be between 0 and {MAX_SEARCH_LIMIT}, got {limit}")
    offset = _int_field(body, "after", 0)
    if offset < 0:
        raise validation_error(f"after must be a non-negative integer, got {offset}")
    if offset + limit > MAX_SEARCH_RESULTS:
        raise validation_error(
            f"Paging is restricted to the first {MAX_SEARCH_RESULTS:,} results of a search: "
            f"after ({offset}) plus limit ({limit}) is past it. Narrow the filters instead.",
        )
    groups = _parse_groups(body.get("filterGroups"), props)
    sort = _parse_sort(body.get("sorts"), props)
    requested = body.get("properties")
    if requested is None or requested == []:
        names: list[str] = list(DEFAULT_TICKET_PROPERTIES)
    elif isinstance(requested, list) and all(isinstance(name, str) for name in requested):
        names = [name for name in requested if name in props]
        names += [name for name in ALWAYS_RETURNED if name not in names]
    else:
        raise validation_error("properties must be a list of property names")
    query = body.get("query") or ""
    if not isinstance(query, str):
        raise validation_error("query must be a string")
    return _Request(
        groups=groups,
        sort=sort,
        properties=names,
        limit=limit,
        offset=offset,
        query=query.strip().lower(),
    )


def _int_field(body: JSON, name: str, default: int) -> int:
    raw = body.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise validation_error(f"{name} must be an integer")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise validation_error(f"{name} must be an integer, got {raw!r}") from None


def _parse_groups(raw: Any, props: dict[str, PropertyDef]) -> list[list[Filter]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("filterGroups must be a list")
    _at_most("TOO_MANY_FILTER_GROUPS", len(raw))
    groups: list[list[Filter]] = []
    total = 0
    for group in raw:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise validation_error("Each filter group needs a list of filters")
        _at_most("TOO_MANY_FILTERS_IN_GROUP", len(filters))
        total += len(filters)
        compiled = [_compile_filter(item, props) for item in filters]
        # Id filters narrow by bisection on the id-ordered index: run them first.
        compiled.sort(key=lambda item: item.kind != "id")
        groups.append(compiled)
    _at_most("TOO_MANY_FILTERS", total)
    return groups


def _at_most(sub_category: str, count: int) -> None:
    """Refuse a search with more of something than HubSpot allows: 400, crm.search.*."""
    maximum, message = _SEARCH_LIMITS[sub_category]
    if count > maximum:
        raise validation_error(
            message.format(count=count, maximum=maximum), sub_category=f"crm.search.{sub_category}"
        )


def _parse_sort(raw: Any, props: dict[str, PropertyDef]) -> tuple[str, bool] | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise validation_error("sorts must be a list")
    if len(raw) > MAX_SORTS:
        raise validation_error(
            f"Too many sorts: {len(raw)}. A search may sort by at most {MAX_SORTS} property."
        )
    item = raw[0]
    name: Any
    if isinstance(item, str):
        # The short form: "createdate" or "-createdate" for descending.
        name, descending = item.removeprefix("-"), item.startswith("-")
    elif isinstance(item, dict):
        name = item.get("propertyName")
        direction = item.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise validation_error(f"direction must be ASCENDING or DESCENDING, got {direction!r}")
        descending = direction == "DESCENDING"
    else:
        raise validation_error("Each sort must be a property name or {propertyName, direction}")
    if not isinstance(name, str) or name not in props:
        raise validation_error(f"Cannot sort by unknown property {name!r}")
    return name, descending


# -- filters ----------------------------------------------------------------------------------
def _kind(defn: PropertyDef) -> str:
    """Classify how values of a property compare: by id, number, ISO text, or folded text."""
    if defn.name == "hs_object_id":
        return "id"
    if defn.type == "number":
        return "number"
    if defn.type in ("datetime", "date"):
        return "ordered_text"
    return "text"


def _constant(defn: PropertyDef, kind: str, raw: Any) -> Any:
    """Convert a filter value to what stored values of this property compare against."""
    if raw is None:
        raise validation_error(f"Filter on {defn.name} needs a value")
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    try:
        if kind == "id":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "ordered_text":
            ms = ms_from_any(text)
            # Stored datetimes are fixed-width ISO strings and dates `YYYY-MM-DD`, so comparing
            # the text compares the instants.
            return iso_from_ms(ms) if defn.type == "datetime" else iso_from_ms(ms)[:10]
    except (ValueError, OverflowError):
        raise validation_error(
            f"{raw!r} is not a valid value to compare with property {defn.name} ({defn.type})"
        ) from None
    return text.lower()


def _compile_filter(raw: Any, props: dict[str, PropertyDef]) -> Filter:
    if not isinstance(raw, dict):
        raise validation_error("Each filter must be an object")
    name = raw.get("propertyName")
    op = raw.get("operator", "EQ")
    if op not in OPERATORS:
        raise validation_error(f"Unknown filter operator {op!r}")
    if not isinstance(name, str) or name not in props:
        raise validation_error(
            f"Cannot filter on unknown property {name!r}", context={"propertyName": [str(name)]}
        )
    defn = props[name]
    kind = _kind(defn)
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return Filter(name, kind, op)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        value = str(raw.get("value") or "").strip()
        if not value:
            raise validation_error(f"Operator {op} needs a value")
        # Tokens match case-insensitively on the text, whatever the property's type.
        return Filter(name, "text", op, value=value)
    if op in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {op} needs a non-empty list of values")
        wanted = frozenset(_constant(defn, kind, value) for value in values)
        return Filter(name, kind, op, values=wanted, multi=defn.is_multi)
    value = _constant(defn, kind, raw.get("value"))
    high = _constant(defn, kind, raw.get("highValue")) if op == "BETWEEN" else None
    return Filter(name, kind, op, value=value, high=high)
