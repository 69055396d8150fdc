"""The run's reconciliation: what HubSpot says it has beside what the run emitted.

At the end of the tickets stream, each part of its read (the full walk, each window, the
archived pass) is set beside HubSpot's own count of the same tickets: a search with `limit` 1
answers `total` for the part's filter, taken after the part was read; the archived list is
counted as it is walked. History rows and associations have no count in HubSpot's API, so
they are reported as emitted. A difference is a warning naming the part and its bounds, never
silent. The report goes to the log as a small table and, with `run_report_path`, to a JSON file
(rewritten as each stream adds its part).

Counts compare like with like. The full walk is counted over tickets created before it began
(both sides: HubSpot's count and the records emitted), so tickets created during the run do not
show as missing; a window is counted over its own `hs_lastmodifieddate` bounds. A part resumed
after a kill counts what earlier runs emitted too: the running count is kept in the state with
each page's checkpoint. What can still differ, and why, is in the warning: tickets deleted or
changed again while the run read them, or tickets search counts but did not return.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hubspot_api.errors import ConfigError
from hubspot_api.instants import epoch_ms, parse_instant, to_iso
from hubspot_api.outputs import OutputFileError, replace_checked_file, replace_file
from hubspot_api.properties import CREATE_DATE, LAST_MODIFIED
from hubspot_api.records import CREATED_AT
from tap_hubspot_tickets.windows import (
    ARCHIVED_PASS,
    FULL_WALK,
    STATE_WAY_OUT,
    WINDOW,
    SearchWindow,
)

# The part of the associations stream: the live tickets whose associations it read.
ASSOCIATION_IDS = "association ids"

JSON = dict[str, Any]


@dataclass
class Part:
    """One part of the tickets read, its count in HubSpot and in the run."""

    name: str  # "full walk", "window", "archived"
    scope: str  # the tickets it covers, in words
    # The search filter HubSpot counts the part by; None: counted as it was listed.
    count_filter: list[JSON] | None
    # Which emitted tickets the count covers (all, when None).
    covers: Callable[[Mapping[str, Any]], bool] | None = None
    emitted: int = 0
    listed: int = 0  # for a part counted as it is listed
    hubspot: int | None = None

    def emit(self, ticket: Mapping[str, Any]) -> None:
        """Count one ticket the run emitted for this part."""
        if self.covers is None or self.covers(ticket):
            self.emitted += 1

    @property
    def difference(self) -> int | None:
        """Return emitted minus HubSpot's count (None while HubSpot has not counted)."""
        return None if self.hubspot is None else self.emitted - self.hubspot


def _created_before(started: datetime, key: str) -> Callable[[Mapping[str, Any]], bool]:
    before = epoch_ms(started)

    def covers(ticket: Mapping[str, Any]) -> bool:
        created = ticket.get(key)
        return created is None or epoch_ms(parse_instant(created)) < before

    return covers


def full_walk_part(full_sync: Mapping[str, Any]) -> Part:
    """Return the part of the full walk a checkpoint's `full_sync` describes.

    It covers the tickets created before the walk began (and modified since its bound).
    """
    started = parse_instant(full_sync["started_at"])
    before = epoch_ms(started)
    filters = [{"propertyName": CREATE_DATE, "operator": "LT", "value": str(before)}]
    scope = f"created before {to_iso(started)}"
    if full_sync.get("since"):
        since = parse_instant(full_sync["since"])
        filters.append(
            {"propertyName": LAST_MODIFIED, "operator": "GTE", "value": str(epoch_ms(since))}
        )
        scope += f", modified since {to_iso(since)}"
    return Part(FULL_WALK, scope, [{"filters": filters}], _created_before(started, CREATED_AT))


def modified_from(count_filter: list[JSON], moment: datetime) -> list[JSON]:
    """Return a part's count filter narrowed to the tickets modified at or after `moment`."""
    since = {"propertyName": LAST_MODIFIED, "operator": "GTE", "value": str(epoch_ms(moment))}
    return [{"filters": [*group["filters"], since]} for group in count_filter]


# The keys of a full walk's state that say which tickets it read, as an error names them.
FULL_WALK_POSITIONS = ("after", "list_high", "search_below", "list_done", "search_done")


def check_full_walk(
    part: Part, changed: Callable[[], int], resumed: Mapping[str, Any] | None
) -> None:
    """Refuse, in one line (`ConfigError`), to close a full walk that read less than it should.

    Once healed, the walk has listed every id itself, so it read every ticket HubSpot counts
    for it (`part.hubspot`), but for those changed since it began: a ticket created before the
    walk and deleted during it is not counted any more; one modified during it (into the
    `start_date` bound, say) may have been passed over, and the window that follows the walk
    reads it, as it starts a margin before the walk began. So the walk closes when it read
    at least HubSpot's count less the tickets modified since that margin (`changed`, asked
    only when short). What is missing beyond that no later run would read: the positions the
    walk resumed from skipped it (`resumed`, the state's `full_sync`, is named), or HubSpot
    counts tickets its list does not return. The walk stays open in the state, with no
    bookmark past it: the next run asks again, and closes it once the counts agree.
    """
    if part.hubspot is None or part.emitted >= part.hubspot:
        return
    unexplained = part.hubspot - part.emitted - changed()
    if unexplained <= 0:
        return
    lost = (
        f"the full walk read {part.emitted:,} tickets {part.scope}, HubSpot counts "
        f"{part.hubspot:,}, and {unexplained:,} of them, not modified since the walk began, "
        "no later run would read; the walk stays open (no bookmark is kept past it)"
    )
    if resumed is None:
        raise ConfigError(
            f"tickets, full walk: {lost}: the walk listed every id itself, so HubSpot's "
            "search counts tickets its list does not return; run again to count again"
        )
    positions = ", ".join(
        f"{key} {json.dumps(resumed.get(key))}" for key in FULL_WALK_POSITIONS if key in resumed
    )
    raise ConfigError(
        f"state: bookmarks.tickets.full_sync looks corrupt ({positions}): resumed from it, "
        f"{lost}{STATE_WAY_OUT}"
    )


def ticket_ids_part(started: datetime) -> Part:
    """Return the part of the ticket ids the associations stream walks (API ticket shape)."""
    filters = [{"propertyName": CREATE_DATE, "operator": "LT", "value": str(epoch_ms(started))}]
    scope = f"ids of tickets created before {to_iso(started)}"
    return Part(
        ASSOCIATION_IDS, scope, [{"filters": filters}], _created_before(started, "createdAt")
    )


def window_part(window: SearchWindow) -> Part:
    """Return the part of one search window: the tickets modified within its bounds."""
    scope = f"modified {to_iso(window.lower)} to {to_iso(window.upper)}"
    return Part(WINDOW, scope, window.filter_groups())


def archived_part(since: datetime | None) -> Part:
    """Return the part of the archived pass, counted as the archived list is walked."""
    scope = "every archived ticket" if since is None else f"archived since {to_iso(since)}"
    return Part(ARCHIVED_PASS, scope, None)


@dataclass
class RunReport:
    """The reconciliation of one tap run."""

    logger: logging.Logger
    path: Path | None = None
    parts: list[Part] = field(default_factory=list)
    # Streams HubSpot cannot count: name -> records emitted.
    uncounted: dict[str, int] = field(default_factory=dict)
    # What the log has shown already: each stream logs the parts it added.
    _logged_parts: int = 0
    _logged_streams: set[str] = field(default_factory=set)

    def add(self, part: Part) -> Part:
        """Start reporting a part of the tickets read, and say which tickets it reads."""
        self.parts.append(part)
        self.logger.info("Reading tickets: %s (%s)", part.name, part.scope)
        return part

    def count(self, total: Callable[[list[JSON]], int]) -> None:
        """Ask HubSpot for the count of each part not yet counted (`total`: a search's)."""
        for part in self.parts:
            if part.hubspot is None:
                part.hubspot = (
                    part.listed if part.count_filter is None else total(part.count_filter)
                )

    def warnings(self, parts: list[Part] | None = None) -> list[str]:
        """Return one line for each part whose counts differ (of `parts`, or of every part)."""
        lines = []
        for part in self.parts if parts is None else parts:
            diff = part.difference
            if not diff:
                continue
            what = f"{-diff:,} fewer" if diff < 0 else f"{diff:,} more"
            why = (
                "tickets search counts but did not return, or tickets deleted or changed again "
                "while the run read them"
            )
            lines.append(
                f"tickets, {part.name} ({part.scope}): HubSpot counts {part.hubspot:,}, the run "
                f"emitted {part.emitted:,} ({what}); look for {why}"
            )
        return lines

    def table(self, parts: list[Part], uncounted: dict[str, int]) -> list[str]:
        """Return these parts and streams as lines of a small table."""
        rows = [("part", "tickets", "HubSpot", "emitted", "difference")]
        for part in parts:
            shown = "?" if part.hubspot is None else f"{part.hubspot:,}"
            diff = part.difference
            rows.append((part.name, part.scope, shown, f"{part.emitted:,}", _signed(diff)))
        for stream, emitted in uncounted.items():
            rows.append((stream, "every record", "no count", f"{emitted:,}", ""))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]

    def start(self) -> None:
        """Write the (empty) report file as its check, before HubSpot is asked anything.

        A file that cannot be written stops the run in one line (`OutputFileError`), as the
        target's summary does, rather than after every ticket was read.
        """
        if self.path is not None:
            replace_checked_file(self.path, self._text(), "run_report_path")

    def publish(self) -> None:
        """Log what was added since the last time, with its warnings; rewrite the JSON file.

        A report file that cannot be written now (it was at `start`) is a warning: the records
        are out already.
        """
        parts = self.parts[self._logged_parts :]
        streams = {k: v for k, v in self.uncounted.items() if k not in self._logged_streams}
        self._logged_parts = len(self.parts)
        self._logged_streams.update(streams)
        if parts or streams:
            self.logger.info("Run report:\n%s", "\n".join(self.table(parts, streams)))
        for line in self.warnings(parts):
            self.logger.warning("%s", line)
        if self.path is not None:
            try:
                replace_file(self.path, self._text(), "run_report_path")
            except OutputFileError as exc:
                self.logger.warning("%s", exc)

    def _text(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def to_json(self) -> JSON:
        """Return the report as JSON."""
        return {
            "tickets": [
                {
                    "part": part.name,
                    "tickets": part.scope,
                    "hubspot_count": part.hubspot,
                    "emitted": part.emitted,
                    "difference": part.difference,
                }
                for part in self.parts
            ],
            "uncounted": [
                {"stream": stream, "emitted": emitted, "hubspot_count": None}
                for stream, emitted in self.uncounted.items()
            ],
            "warnings": self.warnings(),
        }


def _signed(value: int | None) -> str:
    if value is None:
        return ""
    return f"{value:+,}" if value else "0"
