"""The dry run: read, validate and plan every record, and send not one write.

With `dry_run: true` the target takes every step of a real run (`sinks`) but its writers send
nothing. What decides each record's action is read from HubSpot with the same batch reads a
real run makes:

- validation against the portal's definitions and pipelines, as always;
- updates and upserts: the tickets' current values (`current`), so the plan says which
  properties change, from what to what, and which records are `unchanged`; an update of a
  ticket that does not exist is rejected with the reason the real run gets (`OBJECT_NOT_FOUND`,
  or `ARCHIVED` for a deleted ticket);
- creates keyed by `source_id_property`: whether that source id has its ticket already (then
  the create is an `upsert-update` of it);
- archives: which tickets exist, live or archived (`archives`), and `max_archives`.

Each record's line goes to `plan_path` (`results.ResultsFile` with `planned`), and the
summary counts what the real run would count. Where only HubSpot can tell (a create refused for
a unique value another ticket holds, a link to an object that does not exist) the line says
`"certain": false` (`results.uncertain`).
"""

from __future__ import annotations

from target_hubspot_tickets.writing import Pending


class NoWrite:
    """A write step of a dry run: it sends nothing (the reads before it decided the plan)."""

    def write(self, items: list[Pending], /) -> None:
        """Send nothing."""


NO_WRITE = NoWrite()
