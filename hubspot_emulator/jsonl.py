"""Tickets loaded from JSONL in the API's own shape: ids, timestamps and history kept.

Each line is one ticket as the API answers it (`id`, `properties`, `propertiesWithHistory`,
`createdAt`, `updatedAt`, `archived`, `archivedAt`, inline `associations`), as a snapshot or
another portal's export gives it. The result is a `TicketSeed`, the same plain data the
generated portal is made of.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from hubspot_emulator.properties import (
    ASSOCIATION_COUNTS,
    HistoryEntry,
    PropertyDef,
    PropertyValueError,
    iso_from_ms,
    ms_from_any,
    normalise_value,
)
from hubspot_emulator.seed import DEFAULT, TicketSeed

JSON = dict[str, Any]
History = dict[str, list[HistoryEntry]]
# Set once, when the ticket was created; every other value was last set at its last change.
_SET_AT_CREATION = ("createdate", "hs_object_id")


def iter_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, JSON]]:
    """Yield (line number, object) for each non-blank line; raise ValueError on bad JSON."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"line {number}: not JSON: {error}") from None
        if not isinstance(item, dict):
            raise ValueError(f"line {number}: expected a ticket object")
        yield number, item


def ticket_from_api(item: JSON, props: dict[str, PropertyDef], now_ms: int) -> TicketSeed:
    """Read one ticket in the API's own shape, keeping its id, timestamps and history."""
    raw_properties = item.get("properties") or {}
    if not isinstance(raw_properties, dict):
        raise ValueError("properties must be an object")
    ticket_id = _ticket_id(item.get("id", raw_properties.get("hs_object_id")))
    created_ms = _instant(item.get("createdAt"), raw_properties.get("createdate")) or now_ms
    updated_ms = (
        _instant(item.get("updatedAt"), raw_properties.get("hs_lastmodifieddate")) or created_ms
    )
    values = _values(raw_properties, props)
    values["hs_object_id"] = str(ticket_id)
    values.setdefault("createdate", iso_from_ms(created_ms))
    values.setdefault("hs_lastmodifieddate", iso_from_ms(updated_ms))
    history = _history(item.get("propertiesWithHistory") or {}, props, updated_ms)
    _complete_history(history, values, created_ms, updated_ms)
    archived_ms = None
    if item.get("archived"):
        archived_ms = _instant(item.get("archivedAt")) or updated_ms
    return TicketSeed(
        id=ticket_id,
        created_ms=created_ms,
        updated_ms=updated_ms,
        history=history,
        values=values,
        archived_ms=archived_ms,
        associations=list(_inline_associations(item.get("associations"))),
    )


def _ticket_id(raw: Any) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise ValueError(f"ticket id {raw!r} is not numeric") from None


def _instant(*candidates: Any) -> int | None:
    """Return the first given timestamp in ms, or None when none is given."""
    for candidate in candidates:
        if candidate not in (None, ""):
            return ms_from_any(str(candidate))
    return None


def _stored(defn: PropertyDef, raw: Any) -> str | None:
    """Keep an imported value as given, in HubSpot's stored format where it can be read."""
    if raw is None:
        return None
    try:
        return normalise_value(defn, raw)
    except PropertyValueError:
        return str(raw)


def _values(raw_properties: JSON, props: dict[str, PropertyDef]) -> dict[str, str]:
    """Return the current values of the properties the portal knows."""
    values: dict[str, str] = {}
    for name, raw in raw_properties.items():
        # Association counts follow the associations loaded, not the given numbers.
        defn = None if name in ASSOCIATION_COUNTS else props.get(name)
        value = None if defn is None else _stored(defn, raw)
        if value is not None:
            values[name] = value
    return values


def _history(raw_history: JSON, props: dict[str, PropertyDef], updated_ms: int) -> History:
    """Read `propertiesWithHistory` (newest first, as the API lists it) into oldest-first."""
    history: History = {}
    for name, entries in raw_history.items():
        defn = props.get(name)
        if defn is None or not isinstance(entries, list):
            continue
        parsed = [
            HistoryEntry(
                _stored(defn, entry.get("value")) or "",
                ms_from_any(str(entry.get("timestamp") or iso_from_ms(updated_ms))),
                str(entry.get("sourceType") or "IMPORT"),
                entry.get("sourceId"),
                entry.get("sourceLabel"),
                entry.get("updatedByUserId"),
            )
            for entry in entries
            if isinstance(entry, dict)
        ]
        parsed.sort(key=lambda entry: entry.timestamp_ms)
        if parsed:
            history[name] = parsed
    return history


def _complete_history(
    history: History, values: dict[str, str], created_ms: int, updated_ms: int
) -> None:
    """Give each value without (matching) history the entry of when it was last written."""
    for name, value in values.items():
        entries = history.get(name)
        if entries is None or entries[-1].value != value:
            at = created_ms if name in _SET_AT_CREATION else updated_ms
            history.setdefault(name, []).append(HistoryEntry(value, at, "IMPORT"))


def _inline_associations(raw: Any) -> Iterator[tuple[str, int, str]]:
    if not isinstance(raw, dict):
        return
    for object_type, block in raw.items():
        results = block.get("results") if isinstance(block, dict) else None
        for result in results or []:
            try:
                yield object_type, int(str(result["id"])), str(result.get("type") or DEFAULT)
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"bad association under {object_type!r}: {result!r}") from None
