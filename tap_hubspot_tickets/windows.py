"""Plan incremental search windows and keep the tickets stream's checkpoint.

Pure code: no HTTP, no SDK. The tickets stream reads changes through HubSpot's search API,
which has three traps (docs/hubspot-api.md, "Requests and answers"):

- a query stops at 10,000 results, and restarting from the last `hs_lastmodifieddate` loops
  forever when more than 10,000 tickets share one timestamp (airbytehq/airbyte#43317);
- results lag writes, so a bookmark taken from "now" can skip changes not yet indexed;
- `after` is an integer offset, so a ticket leaving the result set while we page shifts every
  later offset and silently skips a ticket.

A window is therefore a closed interval `[lower, upper]` of `hs_lastmodifieddate` with
`upper = now`, walked in `hs_object_id` order where every page asks again from offset 0 for
`hs_object_id > last id seen`. No offset ever grows, so the 10k cap and offset drift cannot
bite, and the walk ends however many tickets share a timestamp.

Fresh and exact together: a run emits every change search shows up to `now`, but the bookmark it
leaves (`settled`) is `now - margin`, so a change search had not indexed yet is read by the next
run. The price is that each run reads again the changes of the margin before the last one;
downstream loads dedupe them by key.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hubspot_api.instants import epoch_ms, parse_instant, to_iso, truncate_ms
from hubspot_api.properties import LAST_MODIFIED
from hubspot_api.records import UPDATED_AT

# The parts of a tickets read, as the run report names them and keeps their running counts.
FULL_WALK = "full walk"
WINDOW = "window"
ARCHIVED_PASS = "archived"  # noqa: S105 - a name, not a password

# The SDK-visible replication key of the tickets stream (a record column).
REPLICATION_KEY = UPDATED_AT
# The end of every error about a state the tap cannot use.
STATE_WAY_OUT = "; fix the state, or start afresh (`meltano run --full-refresh ...`)"


@dataclass(frozen=True)
class SearchWindow:
    """A closed `hs_lastmodifieddate` interval, walked in ascending `hs_object_id`.

    `settled` is where the bookmark goes once the window is read: changes before it are taken to
    be indexed by search (`upper` itself when not given).
    """

    lower: datetime
    upper: datetime
    after_id: int = 0
    settled: datetime | None = None

    @property
    def bookmark_after(self) -> datetime:
        """Return the bookmark to keep once this window has been read."""
        return self.upper if self.settled is None else self.settled

    def filter_groups(self) -> list[dict[str, Any]]:
        """Return the one filter group: lower <= modified <= upper (the walk adds the id)."""
        return [
            {
                "filters": [
                    {
                        "propertyName": LAST_MODIFIED,
                        "operator": "GTE",
                        "value": str(epoch_ms(self.lower)),
                    },
                    {
                        "propertyName": LAST_MODIFIED,
                        "operator": "LTE",
                        "value": str(epoch_ms(self.upper)),
                    },
                ]
            }
        ]

    def advanced(self, last_id: int) -> SearchWindow:
        """Return the same window resumed after `last_id`."""
        if last_id <= self.after_id:
            # The loop guard: a page that does not move the id forward would repeat forever.
            raise ValueError(f"search did not advance past id {self.after_id} (got {last_id})")
        return SearchWindow(self.lower, self.upper, last_id, self.settled)

    def to_state(self) -> dict[str, Any]:
        """Return the JSON form kept in state while the window is in progress."""
        state: dict[str, Any] = {
            "lower": to_iso(self.lower),
            "upper": to_iso(self.upper),
            "after_id": self.after_id,
        }
        if self.settled is not None:
            state["settled"] = to_iso(self.settled)
        return state

    @classmethod
    def from_state(cls, value: MutableMapping[str, Any]) -> SearchWindow:
        """Rebuild a window saved by `to_state` (or by a version without `settled`)."""
        settled = value.get("settled")
        return cls(
            parse_instant(value["lower"]),
            parse_instant(value["upper"]),
            int(value.get("after_id") or 0),
            parse_instant(settled) if settled else None,
        )


def modified_at_or_after(since: datetime) -> list[dict[str, Any]]:
    """Return the search filter for tickets modified at or after `since`."""
    condition = {"propertyName": LAST_MODIFIED, "operator": "GTE", "value": str(epoch_ms(since))}
    return [{"filters": [condition]}]


def modified_since(tickets: list[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """Keep the tickets (API shape) modified at or after `since`, as the search filter would.

    A ticket's `updatedAt` is its `hs_lastmodifieddate` (docs/hubspot-api.md); one without it
    is kept, since it cannot be shown to be older.
    """
    bound = epoch_ms(since)
    return [
        ticket
        for ticket in tickets
        if not ticket.get("updatedAt") or epoch_ms(parse_instant(ticket["updatedAt"])) >= bound
    ]


def plan_window(
    lower: datetime, now: datetime, margin: timedelta, settle_by: datetime | None = None
) -> SearchWindow | None:
    """Return the window `[lower, now]` settling at `now - margin`, or None when it is empty.

    `settle_by` caps where it settles: the earliest HubSpot's clock can be, when `now` is the
    latest it can be. The bookmark never moves back: when the margin reaches past `lower`, it
    stays at `lower`.
    """
    lower = truncate_ms(lower)
    upper = truncate_ms(now)
    if upper <= lower:
        return None
    settled = now - margin if settle_by is None else min(now - margin, settle_by)
    return SearchWindow(lower, upper, 0, max(lower, truncate_ms(settled)))


class TicketsCheckpoint:
    """Typed access to the tickets stream's state dict, edited in place.

    Layout (all instants ISO 8601 UTC):

    - `replication_key` / `replication_key_value`: every change at or after this instant is
      still to be read; it only ever takes the settled bound of a finished window (its `now`
      minus the margin) or the start of a finished full walk minus the margin, never "now".
    - `full_sync`: while the first walk is under way: `after`, the list cursor of the next page;
      `list_high`, the highest id the list walk emitted; `search_below`, the lowest id the
      search walk from the top emitted; `list_done` / `search_done`; `heal_after`, the list
      cursor from which the list goes on when search returned fewer tickets than it counts;
      `healed`, once it went on to the end. The walk closes (the bookmark is set) only when
      it read what HubSpot counts (`report.check_full_walk`).
    - `window`: a window in progress, with the last ticket id already emitted.
    - `archived_since`: archived tickets with `archivedAt` at or after this were not yet read.
    - `archived_pass`: `{after, started_at}` while a walk of the archived list is under way.
    """

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self.state = state

    @property
    def bookmark(self) -> datetime | None:
        """Return the lower bound of the next window, if a sync ever finished."""
        value = self.state.get("replication_key_value")
        return parse_instant(value) if value else None

    def set_bookmark(self, moment: datetime) -> None:
        """Record that every change before `moment` has been read."""
        self.state["replication_key"] = REPLICATION_KEY
        self.state["replication_key_value"] = to_iso(moment)

    @property
    def full_sync(self) -> dict[str, Any] | None:
        """Return the list walk in progress, if any."""
        value = self.state.get("full_sync")
        return dict(value) if value else None

    def set_full_sync(
        self, after: str | None, started_at: datetime, since: datetime | None = None
    ) -> None:
        """Start (or restart) the first full walk, bounded to changes `since` if given."""
        self.state["full_sync"] = {"after": after, "started_at": to_iso(started_at)}
        if since is not None:
            self.state["full_sync"]["since"] = to_iso(since)

    def update_full_sync(self, bookmark: datetime, **progress: Any) -> None:
        """Record progress of the full walk; close it once both of its walks are done."""
        full = self.state.setdefault("full_sync", {})
        full.update(progress)
        # With `heal_after`, the stream decides once both walks are done (`walks_done`).
        if self.walks_done and "heal_after" not in full:
            self.finish_full_sync(bookmark)

    @property
    def walks_done(self) -> bool:
        """Tell whether both walks of a full walk under way are done (it may heal, then)."""
        full = self.state.get("full_sync") or {}
        return bool(full.get("list_done")) and bool(full.get("search_done", True))

    def finish_full_sync(self, bookmark: datetime) -> None:
        """Close the full walk and hand over to windows starting at `bookmark`."""
        self.state.pop("full_sync", None)
        self._drop_counts(FULL_WALK)
        self.set_bookmark(bookmark)

    def counts(self, part: str) -> tuple[int, int]:
        """Return (emitted, listed) of a part in progress, as earlier runs left them."""
        value = (self.state.get("report_counts") or {}).get(part) or {}
        return int(value.get("emitted") or 0), int(value.get("listed") or 0)

    def set_counts(self, part: str, emitted: int, listed: int) -> None:
        """Keep a part's running counts with its progress (`report.py`)."""
        counts = self.state.setdefault("report_counts", {})
        counts[part] = {"emitted": emitted, "listed": listed}

    def _drop_counts(self, part: str) -> None:
        counts = self.state.get("report_counts")
        if counts:
            counts.pop(part, None)
            if not counts:
                self.state.pop("report_counts")

    @property
    def window(self) -> SearchWindow | None:
        """Return the window in progress, if any."""
        value = self.state.get("window")
        return SearchWindow.from_state(value) if value else None

    def set_window(self, window: SearchWindow) -> None:
        """Save progress inside a window."""
        self.state["window"] = window.to_state()

    def finish_window(self, window: SearchWindow) -> None:
        """Close a window: its settled bound becomes the bookmark."""
        self.state.pop("window", None)
        self._drop_counts(WINDOW)
        self.set_bookmark(window.bookmark_after)

    @property
    def archived_since(self) -> datetime | None:
        """Return the `archivedAt` lower bound of the next archived pass."""
        value = self.state.get("archived_since")
        return parse_instant(value) if value else None

    @property
    def archived_pass(self) -> dict[str, Any] | None:
        """Return the archived walk in progress, if any."""
        value = self.state.get("archived_pass")
        return dict(value) if value else None

    def set_archived_pass(self, after: str | None, started_at: datetime) -> None:
        """Save the list cursor of the next page of the archived walk."""
        self.state["archived_pass"] = {"after": after, "started_at": to_iso(started_at)}

    def finish_archived_pass(self, since: datetime) -> None:
        """Close the archived walk; the next one reads tickets archived from `since`."""
        self.state.pop("archived_pass", None)
        self._drop_counts(ARCHIVED_PASS)
        self.state["archived_since"] = to_iso(since)

    def forget_future(self, latest: datetime) -> list[tuple[str, str]]:
        """Drop every entry stamped past `latest` (HubSpot's now); return each as (key, value).

        Such an entry was left by a machine whose clock ran ahead of HubSpot's (or edited): it
        cannot tell what was read, since HubSpot stamps changes by its own clock, before it.
        Kept, it would skip every change stamped before it; dropped, the run reads again what
        it claimed to cover: a bookmark leaves the tickets to a full walk (and the window in
        progress goes with it), `archived_since` the archived tickets to a whole pass, a walk
        in progress starts again.
        """
        bound = truncate_ms(latest)
        dropped: list[tuple[str, str]] = []

        def past(key: str, value: Any) -> bool:
            if value and parse_instant(value) > bound:
                dropped.append((key, str(value)))
                return True
            return False

        if past("replication_key_value", self.state.get("replication_key_value")):
            self.state.pop("replication_key_value", None)
            self.state.pop("replication_key", None)
            self.state.pop("window", None)
            self._drop_counts(WINDOW)
        if past("archived_since", self.state.get("archived_since")):
            self.state.pop("archived_since", None)
        for section, keys, part in (
            ("full_sync", ("started_at",), FULL_WALK),
            ("window", ("lower", "upper", "settled"), WINDOW),
            ("archived_pass", ("started_at",), ARCHIVED_PASS),
        ):
            value = self.state.get(section) or {}
            if any([past(f"{section}.{key}", value.get(key)) for key in keys]):
                self.state.pop(section, None)
                self._drop_counts(part)
        return dropped


def check_tickets_state(state: Any) -> None:
    """Raise `ValueError` naming the first entry of a tickets state `TicketsCheckpoint` cannot read.

    A state file edited by hand, or written by another tap under the same stream name, would
    otherwise fail deep inside a sync.
    """
    if not isinstance(state, MutableMapping):
        raise ValueError("is not an object")

    def instant(where: str, value: Any) -> None:
        try:
            parse_instant(value)
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise ValueError(f"{where} {value!r} is not an instant") from None

    def section(name: str, instants: tuple[str, ...], integers: tuple[str, ...]) -> None:
        value = state.get(name)
        if value is None:
            return
        if not isinstance(value, MutableMapping):
            raise ValueError(f"{name} is not an object")
        for key in instants:
            if key not in value:
                raise ValueError(f"{name}.{key} is missing")
            instant(f"{name}.{key}", value[key])
        for key in integers:
            item = value.get(key)
            if item is not None and (isinstance(item, bool) or not isinstance(item, int)):
                raise ValueError(f"{name}.{key} {item!r} is not a ticket id")

    for key in ("replication_key_value", "archived_since"):
        if state.get(key):
            instant(key, state[key])
    section("full_sync", ("started_at",), ("list_high", "search_below"))
    if isinstance(state.get("full_sync"), MutableMapping):
        if state["full_sync"].get("since"):
            instant("full_sync.since", state["full_sync"]["since"])
        check_full_sync(state["full_sync"])
    section("window", ("lower", "upper"), ("after_id",))
    section("archived_pass", ("started_at",), ())


def check_full_sync(full: MutableMapping[str, Any]) -> None:
    """Raise `ValueError` naming a `full_sync` position that cannot hold, alone or with another.

    Its instants and id types are checked already (`check_tickets_state`). The walk trusts
    these positions to say which ids it read: the list walk every id up to `list_high`, the
    search walk every id from `search_below` up, so the list's bound lies below the search's;
    the cursors are list cursors (strings), the flags booleans.
    """
    for key in ("after", "heal_after"):
        value = full.get(key)
        if value is not None and not (isinstance(value, str) and value):
            raise ValueError(f"full_sync.{key} {value!r} is not a list cursor")
    for key in ("list_done", "search_done", "search_exhausted", "healed"):
        value = full.get(key)
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"full_sync.{key} {value!r} is not true or false")
    for key in ("list_high", "search_below"):
        value = full.get(key)
        if value is not None and value < 0:
            raise ValueError(f"full_sync.{key} {value!r} is not a ticket id")
    high, below = full.get("list_high"), full.get("search_below")
    if high and below is not None and high >= below:
        raise ValueError(
            f"full_sync.list_high {high} is not below full_sync.search_below {below}: the list "
            "walk claims ids the search walk read, so the walk cannot tell which it skipped"
        )
