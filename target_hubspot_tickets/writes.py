"""What a validated record asks of HubSpot: its operation, its target and its properties.

`validation.RecordValidator` turns each input record into a `TicketWrite` or raises
`RecordInvalid`; the write steps of the sink read and complete the writes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hubspot_api.associations import association_types_json


class Operation(enum.Enum):
    """What a record asks HubSpot to do."""

    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    ARCHIVE = "archive"


# The reject category of a record refused by a check before anything is sent.
VALIDATION = "VALIDATION"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a record: the input field it is about (if any) and why."""

    field: str | None
    reason: str


class RecordInvalid(Exception):
    """A record failed a check; `field` names the offending input field when there is one.

    A record with several problems carries them all in `problems` (the first gives `field`),
    and its `reason` joins them with "; ".
    """

    def __init__(
        self,
        reason: str,
        field: str | None = None,
        *,
        problems: tuple[Problem, ...] = (),
        category: str = VALIDATION,
    ) -> None:
        """Keep the reason, the field, every problem and the reject category."""
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.problems = problems or (Problem(field, reason),)
        self.category = category

    @classmethod
    def of(cls, problems: list[Problem], category: str = VALIDATION) -> RecordInvalid:
        """Return the refusal of a record with `problems` (at least one), all named."""
        return cls(
            "; ".join(p.reason for p in problems),
            problems[0].field,
            problems=tuple(problems),
            category=category,
        )


@dataclass(frozen=True)
class Association:
    """One link from a ticket to another CRM object."""

    to_object_type: str
    to_object_id: str
    association_type_id: int
    association_category: str

    def types_json(self) -> list[dict[str, Any]]:
        """Render HubSpot's `types` list for this link."""
        return association_types_json(self.association_category, self.association_type_id)


@dataclass
class TicketWrite:
    """One validated record: the operation, the key it targets and the wire-ready properties."""

    position: int
    trace_id: str
    record: Mapping[str, Any]
    operation: Operation
    properties: dict[str, str]
    # The input line the record came from (0 when not read from a line).
    line: int = 0
    ticket_id: str | None = None
    upsert_key: str | None = None
    associations: list[Association] | None = None
    pinned_engagement_id: str | None = None
    # The value a create carries in `source_id_property`, when that setting is used (set by
    # `source_ids.SourceIds` when the record brings none).
    source_key: str | None = None
    # Set once HubSpot tells us which ticket the write landed on.
    result_id: str | None = field(default=None, compare=False)
    # Columns of the record that are not written, and why ("read-only", ...).
    dropped: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def dedupe_key(self) -> tuple[str, str] | None:
        """Return the key two records in a batch share when they target the same ticket."""
        if self.ticket_id is not None:
            return ("id", self.ticket_id)  # a key beside it must name the same ticket
        if self.upsert_key is not None and self.operation in (Operation.UPSERT, Operation.ARCHIVE):
            return ("upsert", self.upsert_key)
        if self.source_key is not None:
            # Two creates with one source id are one ticket (and one batch may not hold both).
            return ("source", self.source_key)
        return None

    def describe(self, stream: str) -> str:
        """Name the record in messages: stream, position and line in the input, its id if any."""
        return describe_record(
            stream,
            self.position,
            self.line,
            id=self.ticket_id,
            key=self.upsert_key,
            trace=self.trace_id,
        )


def describe_record(
    stream: str,
    position: int,
    line: int,
    *,
    id: str | None = None,
    key: str | None = None,
    trace: str | None = None,
) -> str:
    """Name a record the same way in every message: `tickets record #3 (line 4, id 12)`."""
    where = [f"line {line}"] if line else []
    if id is not None:
        where.append(f"id {id}")
    elif key is not None:
        where.append(f"key {key}")
    elif trace is not None:
        where.append(f"trace {trace}")
    return f"{stream} record #{position}" + (f" ({', '.join(where)})" if where else "")
