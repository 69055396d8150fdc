"""What every write step shares: the run's context, each record's outcome so far, and rejects.

The sink drives the steps; the steps (`sinks`, `archives`, `associations`) record on each
`Pending` what happened to its record, and turn HubSpot's refusals into `Reject`s with the
helpers here, so every reason names the record the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from hubspot_api.client import HubSpotClient
from hubspot_api.errors import HubSpotAPIError
from target_hubspot_tickets.rejects import Reject, RejectsFile, Tally
from target_hubspot_tickets.validation import RecordValidator, TicketWrite


@dataclass
class WriteOptions:
    """The target settings the sink's write steps use."""

    id_property: str | None = None
    source_id_property: str | None = None
    replace_associations: bool = False
    association_types: tuple[str, ...] = ()
    unknown_outcome_wait_s: float = 30.0


@dataclass
class RunContext:
    """What all batches of one run share: client, validator, rejects file and tally."""

    client: HubSpotClient
    validator: RecordValidator
    rejects: RejectsFile
    tally: Tally
    options: WriteOptions
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass
class Pending:
    """A write on its way: its outcome so far."""

    write: TicketWrite
    failure: Reject | None = None
    associated_only: bool = False

    @property
    def ticket_id(self) -> str | None:
        """Return the ticket the write landed on (or targets), once known."""
        return self.write.result_id or self.write.ticket_id


def json_or_empty(response: requests.Response) -> Mapping[str, Any]:
    """Return a response's JSON object, or an empty mapping for a 204 or a non-object body."""
    if response.status_code == 204 or not response.content:
        return {}
    body = response.json()
    return body if isinstance(body, Mapping) else {}


def context_values(error: Mapping[str, Any], key: str) -> list[str]:
    """Return the values an error entry's `context` lists under `key` (HubSpot uses lists)."""
    context = error.get("context")
    if not isinstance(context, Mapping):
        return []
    values = context.get(key)
    if isinstance(values, str):
        return [values]
    if isinstance(values, Iterable):
        return [str(v) for v in values]
    return []


def field_of(message: str, properties: Iterable[str]) -> str | None:
    """Return the longest of `properties` that `message` mentions, if any."""
    for name in sorted(properties, key=len, reverse=True):
        if name in message:
            return name
    return None


def reject_from_entry(write: TicketWrite, stream: str, error: Mapping[str, Any]) -> Reject:
    """Build the reject for one per-input error of a batch answer."""
    message = str(error.get("message") or "rejected by HubSpot")
    names = set(context_values(error, "propertyName"))
    field = next(iter(sorted(names)), None) or field_of(message, write.properties)
    category = error.get("category")
    return Reject(
        f"{write.describe(stream)}: {message}",
        field=field,
        category=category if isinstance(category, str) else None,
    )


def reject_from(
    write: TicketWrite,
    stream: str,
    exc: HubSpotAPIError,
    *,
    prefix: str = "",
    field: str | None = None,
) -> Reject:
    """Build the reject for a record HubSpot refused on its own."""
    return Reject(
        f"{write.describe(stream)}: {prefix}{exc.message}",
        field=field or field_of(exc.message, write.properties),
        category=exc.category,
        correlation_id=exc.correlation_id,
    )
