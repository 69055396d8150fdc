"""Source ids for creates that carry none: the same for a replay, new for new input.

With `source_id_property`, every create is sent as an upsert keyed by a unique source id, so a
create whose answer was lost can be resent without making a second ticket. A record that brings
its own value there (a source row's key: the best choice) keeps it. Otherwise the target makes
one, which must be

- the same when the same input record is sent again: a resend within the run, and a re-run that
  replays the input from the last state the target handed back after a crash; and
- different for a new record with the same content: a recurring "weekly check" ticket created by
  a later incremental run.

Upstream STATE messages are what tell these apart. The input is cut into segments, each ending
at a STATE; a record's id is a digest of the STATE that ends its segment, how many records with
the same content came before it in the segment, and its content. A replay starts at a STATE the
target handed back, so it reproduces every segment after it and its ids; a later incremental
run ends its segments with other states. So creates wait, unsent, until their segment ends
(`state`); at the end of input the last segment ends too (`close_input`).

Two limits, both documented for users: a segment longer than `SEGMENT_LIMIT` creates is ended
early (at a fixed count after its STATE, so a replay ends it at the same record) to bound memory;
and input without any STATE cannot be told from its own replay, so the same content in a later
stateless run updates the earlier ticket (counted and logged as such, never as created).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from target_hubspot_tickets.rejects import to_json_value
from target_hubspot_tickets.writes import TicketWrite

# Creates of one segment held back at most; past this the segment ends where it stands.
SEGMENT_LIMIT = 5_000
END_OF_INPUT = "end-of-input"


def digest(value: Any, length: int = 32) -> str:
    """Return a hex digest of a JSON value (keys sorted, so equal values digest alike)."""
    payload = json.dumps(to_json_value(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


def source_id_for(content: dict[str, str], occurrence: int, anchor: str) -> str:
    """Return the source id of the `occurrence`-th create with `content` in a segment."""
    return digest([anchor, occurrence, content])


class SourceIds:
    """Hold creates without a source value until their segment ends, then give them ids."""

    def __init__(self, source_property: str) -> None:
        """Give ids in `source_property` (a unique ticket property)."""
        self.source_property = source_property
        self._lock = threading.Lock()
        self._open: list[TicketWrite] = []
        self._ready: list[TicketWrite] = []
        self._early_ends = 0

    def hold(self, write: TicketWrite) -> None:
        """Keep a create until its segment ends."""
        with self._lock:
            self._open.append(write)
            if len(self._open) >= SEGMENT_LIMIT:
                self._early_ends += 1
                self._end(f"early-end-{self._early_ends}")

    def state(self, value: Any) -> None:
        """An upstream STATE ends the segment: its creates get ids anchored to it."""
        with self._lock:
            self._early_ends = 0
            self._end("state-" + digest(value, 16))

    def close_input(self) -> None:
        """The input ended: so does its last segment."""
        with self._lock:
            self._end(END_OF_INPUT)

    def take_ready(self) -> list[TicketWrite]:
        """Return (and forget) the creates whose ids are known, in input order."""
        with self._lock:
            ready, self._ready = self._ready, []
            return ready

    @property
    def has_ready(self) -> bool:
        """Return whether creates are waiting to be sent."""
        with self._lock:
            return bool(self._ready)

    def _end(self, anchor: str) -> None:
        seen: dict[str, int] = {}
        for write in self._open:
            content = dict(sorted(write.properties.items()))
            key = digest(content)
            seen[key] = seen.get(key, 0) + 1
            value = source_id_for(content, seen[key], anchor)
            write.properties[self.source_property] = value
            write.source_key = value
        self._ready.extend(self._open)
        self._open = []
