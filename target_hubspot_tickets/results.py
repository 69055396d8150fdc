"""One line per input record: what was done with it (or, in a dry run, what would be done).

With `results_path`, every record read ends as one JSON line, written as it settles (flushed at
once, made durable before the state that covers it is handed back):

    {"position": 12, "line": 14, "action": "create", "hubspot_id": "1850000034",
     "id": null, "id_property_value": null, "source_id": "row-77", "run_id": "..."}

- `position` is the record's place among the input's records (1, 2, ...; the one stream the
  target writes) and `line` its line in the input; lines come in the order records settle, so
  sort by `position` for input order.
- `id`, `id_property_value` and `source_id` are the record's keys as given (`source_id` as sent,
  derived ones included); `hubspot_id` is the ticket written, created ones included.
- `action` is one of `ACTIONS`; a `rejected` line adds `reason`, `category` and `field`, the
  same as its line in the rejects file.

A dry run writes the same lines to `plan_path`, with what it would do, plus `certain` (false
where only HubSpot can tell: see `uncertain`) and `changes` (each property written, with its
value in HubSpot now and the new one) and `clears` (the properties it empties). Runs append,
like the rejects file; `run_id` tells them apart. Secrets are redacted from every line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubspot_api.records import ID
from target_hubspot_tickets.fields import id_text
from target_hubspot_tickets.rejects import JsonLinesFile, Reject
from target_hubspot_tickets.writes import Operation, RecordInvalid, TicketWrite
from target_hubspot_tickets.writing import Pending, WriteOptions

CREATE = "create"
UPDATE = "update"
UPSERT_CREATE = "upsert-create"
UPSERT_UPDATE = "upsert-update"
ARCHIVE = "archive"
ASSOCIATE = "associate"
DISSOCIATE = "dissociate"
PIN = "pin"
UNCHANGED = "unchanged"
SUPERSEDED = "superseded"
REJECTED = "rejected"
# Each action, and the summary count (`rejects.OUTCOMES`) it adds to.
ACTIONS: dict[str, str] = {
    CREATE: "created",
    UPDATE: "updated",
    UPSERT_CREATE: "upserted",
    UPSERT_UPDATE: "upserted",
    ARCHIVE: "archived",
    ASSOCIATE: "associated",
    DISSOCIATE: "associated",
    PIN: "pinned",
    UNCHANGED: "unchanged",
    SUPERSEDED: "superseded",
    REJECTED: "rejected",
}


def action_of(item: Pending, options: WriteOptions) -> str:
    """Return what was (or, in a dry run, would be) done with a settled write."""
    write = item.write
    if item.failure is not None:
        return REJECTED
    if item.associated_only:
        replacing = options.replace_associations and not write.associations
        return DISSOCIATE if replacing else ASSOCIATE
    if item.unchanged:
        return PIN if write.pinned_engagement_id else UNCHANGED
    if write.operation is Operation.CREATE:
        return UPSERT_UPDATE if item.matched_existing else CREATE
    if write.operation is Operation.UPSERT:
        return UPSERT_UPDATE if item.exists else UPSERT_CREATE
    if write.operation is Operation.UPDATE:
        return UPDATE if write.properties or not write.pinned_engagement_id else PIN
    return ARCHIVE


def uncertain(item: Pending, action: str) -> bool:
    """Tell whether a dry run's prediction rests on checks only HubSpot makes.

    Creates (HubSpot checks unique values and, on some API versions, fields its admins require)
    and links and pins (the objects and engagements they name are not read) may still be
    refused; updates, archives and rejects of tickets read are what the real run does.
    """
    write = item.write
    if action in (CREATE, UPSERT_CREATE):
        return True
    return action != REJECTED and bool(write.associations or write.pinned_engagement_id)


class ResultsFile(JsonLinesFile):
    """Append one line per record: its keys, action, ticket and reject reason (or its plan)."""

    def __init__(
        self, *args: Any, options: WriteOptions, planned: bool = False, **kwargs: Any
    ) -> None:
        """Open the file like a rejects file; `planned` adds a dry run's `certain` and `changes`."""
        super().__init__(*args, **kwargs)
        self.options = options
        self.planned = planned

    def settled(self, item: Pending, action: str) -> None:
        """Write the line of a write that went through the steps."""
        line = self._keys(item.write, action, item.ticket_id, item.failure)
        if self.planned:
            line["certain"] = not uncertain(item, action)
            line["changes"] = changes = _changes(item, action)
            # Clearing is opt-in (`null_values`, `empty_string_values`): each clear is named.
            line["clears"] = sorted(name for name, c in changes.items() if c["new"] == "")
        self.append(line)

    def superseded(self, write: TicketWrite) -> None:
        """Write the line of a record a later one with the same key replaced."""
        line = self._keys(write, SUPERSEDED, write.ticket_id, None)
        if self.planned:
            line["certain"] = True
        self.append(line)

    def invalid(
        self, record: Mapping[str, Any], position: int, line_number: int, reject: Reject
    ) -> None:
        """Write the line of a record refused before it became a write."""
        line: dict[str, Any] = {
            "position": position,
            "line": line_number,
            "action": REJECTED,
            "hubspot_id": None,
            "id": _key_text(record.get(ID)),
            "id_property_value": self._raw_key(record, self.options.id_property),
            "source_id": self._raw_key(record, self.options.source_id_property),
            **_reason(reject),
        }
        if self.planned:
            line["certain"] = True
        self.append(line)

    @staticmethod
    def _raw_key(record: Mapping[str, Any], name: str | None) -> str | None:
        return _key_text(record.get(name)) if name is not None else None

    @staticmethod
    def _keys(
        write: TicketWrite, action: str, hubspot_id: str | None, reject: Reject | None
    ) -> dict[str, Any]:
        return {
            "position": write.position,
            "line": write.line,
            "action": action,
            "hubspot_id": hubspot_id,
            "id": write.ticket_id,
            "id_property_value": write.upsert_key,
            "source_id": write.source_key,
            **(_reason(reject) if reject is not None else {}),
        }


def _reason(reject: Reject) -> dict[str, Any]:
    line: dict[str, Any] = {
        "reason": reject.reason,
        "category": reject.category,
        "field": reject.field,
    }
    if reject.problems:
        line["problems"] = list(reject.problems)
    return line


def _changes(item: Pending, action: str) -> dict[str, dict[str, Any]]:
    """Return each property a planned write sets: its value now (when read) and the new one."""
    if action in (REJECTED, UNCHANGED, ARCHIVE, ASSOCIATE, DISSOCIATE):
        return {}
    read = item.changes
    if read is None:
        return {name: {"current": None, "new": v} for name, v in item.write.properties.items()}
    return {name: {"current": now, "new": new} for name, (now, new) in read.items()}


def _key_text(value: Any) -> str | None:
    try:
        return id_text(value, ID)
    except RecordInvalid:
        return None
