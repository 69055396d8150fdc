"""Ticket data for the portal: a realistic generated portal.

Generation produces `TicketSeed` records, plain data the store turns into tickets (tickets
loaded from JSONL become the same records, in jsonl.py). It is deterministic for a given seed
and clock, and quick: 20,000 tickets take a few seconds.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from hubspot_emulator.pipelines import Pipeline, Stage
from hubspot_emulator.properties import (
    CALCULATED,
    CATEGORIES,
    CUSTOMER_TIERS,
    OWNER_USER_IDS,
    OWNERS,
    PRIORITIES,
    PRODUCTS,
    RESOLUTIONS,
    SOURCES,
    TEAMS,
    HistoryEntry,
    Source,
    iso_from_ms,
)

JSON = dict[str, Any]

FIRST_TICKET_ID = 1_850_000_001
DAY_MS = 86_400_000
HISTORY_SPAN_MS = 730 * DAY_MS  # seeded tickets were created over the last two years
ARCHIVED_SHARE = 0.02  # archived some time after their last change
ARCHIVED_OPEN_SHARE = 0.02  # duplicates and spam, archived while still open

# Id ranges of the records tickets associate with, shaped like a real portal's ids.
OBJECT_ID_BASES: dict[str, int] = {
    "contacts": 58_100_000_001,
    "companies": 21_300_000_001,
    "deals": 17_800_000_001,
    "calls": 64_000_000_001,
    "emails": 65_000_000_001,
    "meetings": 66_000_000_001,
    "notes": 67_000_000_001,
    "tasks": 68_000_000_001,
}
ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "notes", "tasks")
# How many of each a fresh portal holds before any seeding, so associations work at once.
BASE_OBJECT_COUNTS: dict[str, int] = {
    "contacts": 50,
    "companies": 20,
    "deals": 20,
    "calls": 20,
    "emails": 20,
    "meetings": 20,
    "notes": 20,
    "tasks": 20,
}

# Association kinds a seed asks for; the store maps them to its association type ids.
DEFAULT = "default"
PRIMARY = "primary"
LABELED = "labeled"


@dataclass
class TicketSeed:
    """One ticket's data before it enters the store: values come from its history."""

    id: int
    created_ms: int
    updated_ms: int
    history: dict[str, list[HistoryEntry]]  # oldest first
    values: dict[str, str] | None = None  # None: each property's newest history value
    archived_ms: int | None = None
    # (object type, object id, association kind or HubSpot's inline type name)
    associations: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass
class SeedPortal:
    """A generated portal: its tickets and the ids of records they associate with."""

    tickets: list[TicketSeed]
    objects: dict[str, list[int]]


def base_objects() -> dict[str, list[int]]:
    """Return the associated records a fresh portal starts with."""
    return {
        kind: list(range(OBJECT_ID_BASES[kind], OBJECT_ID_BASES[kind] + count))
        for kind, count in BASE_OBJECT_COUNTS.items()
    }


# -- generation -------------------------------------------------------------------------------
_PRODUCT_NAMES = ("Web app", "iOS app", "Android app", "Public API", "Billing portal", "Exports")
_PROBLEMS = (
    "login fails with SSO",
    "page loads forever",
    "invoice shows the wrong amount",
    "cannot export to CSV",
    "webhook deliveries are delayed",
    "password reset email never arrives",
    "charts show no data since yesterday",
    "two-factor code rejected",
    "duplicate charge on card",
    "sync stopped after update",
    "request for bulk edit",
    "API returns 500 on large payloads",
    "timezone wrong in reports",
    "cannot invite new users",
    "refund request",
    "feature request: dark mode",
    "data missing after import",
    "rate limit reached unexpectedly",
    "question about plan limits",
    "app crashes on startup",
)
_OPENERS = (
    "Customer reports that",
    "Since this morning",
    "After the latest release,",
    "Several users on the account say",
    "Reported over chat:",
    "Escalated from tier 1:",
)
_DETAILS = (
    "the issue happens in every browser they tried.",
    "it only happens for users in the EU region.",
    "they attached screenshots of the error.",
    "a workaround is to log out and back in, which they find frustrating.",
    "their contract renews next month and they are asking for an update.",
    "it started after they changed their SSO provider.",
    "they need this fixed before the end of the quarter.",
    "the problem does not reproduce on our staging account.",
)
_CREATE_SOURCES = (
    ("CRM_UI", 35),
    ("CONVERSATIONS", 25),
    ("API", 15),
    ("IMPORT", 15),
    ("FORMS", 10),
)
_CHANGE_SOURCES = (("CRM_UI", 50), ("AUTOMATION_PLATFORM", 25), ("API", 15), ("CONVERSATIONS", 10))
_WORKFLOWS = (("1290871", "Route urgent tickets"), ("1290874", "Auto-close stale tickets"))
_PHONE_PREFIXES = ("+1 415 555", "+44 20 7946", "+49 30 901820", "+33 1 7091")


class _Weighted:
    """A weighted choice that costs one random number and one bisection."""

    def __init__(self, items: list[Any], weights: Iterable[int]) -> None:
        self.items = items
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


def _weighted(pairs: tuple[tuple[str, int], ...]) -> _Weighted:
    return _Weighted([name for name, _ in pairs], [weight for _, weight in pairs])


_PRIORITY = _Weighted([option.value for option in PRIORITIES], (30, 40, 22, 8))
_TIER = _Weighted([option.value for option in CUSTOMER_TIERS], (40, 30, 20, 10))
_CATEGORY_COUNT = _Weighted([1, 2], (3, 1))
_ENGAGEMENT_COUNTS = tuple(
    (kind, _Weighted(list(range(len(weights))), weights))
    for kind, weights in (
        ("notes", (40, 30, 20, 10)),
        ("emails", (50, 30, 20)),
        ("calls", (80, 20)),
        ("tasks", (75, 25)),
        ("meetings", (95, 5)),
    )
)
_new_entry = tuple.__new__  # builds a HistoryEntry without NamedTuple's Python-level __new__

MINUTE_MS = 60_000

# Shares of tickets whose journey takes a hard turn (see `_Journey`).
PIPELINE_MOVE_SHARE = 0.08  # per change: an open ticket moves to another pipeline
REOPENED_SHARE = 0.15  # of closed tickets: reopened later
CLOSED_AGAIN_SHARE = 0.7  # of reopened tickets: closed a second time


class _History:
    """One ticket's property history as it is generated: per property, oldest first."""

    def __init__(self, source: Source) -> None:
        self.entries: dict[str, list[HistoryEntry]] = {}
        self.source = source  # who created the ticket: the default author of an entry

    def put(self, name: str, value: str, at: int, by: Source | None = None) -> None:
        """Record that `name` took `value` at `at` (ms), set by `by` (default: the creator)."""
        entry = _new_entry(HistoryEntry, (value, at, *(by or self.source)))
        self.entries.setdefault(name, []).append(entry)

    def last(self, name: str) -> str | None:
        """Return the newest value of `name`, or None when it has never been set."""
        entries = self.entries.get(name)
        return entries[-1].value if entries else None

    def newest_ms(self) -> int:
        """Return the time of the newest entry of any property."""
        return max(entries[-1].timestamp_ms for entries in self.entries.values())


class _Journey:
    """A ticket's way through the pipelines, in time order, never past the horizon.

    It starts in the first open stage of its pipeline. Changes move it between open stages
    (back to one it left, too), now and then to another pipeline (HubSpot writes `hs_pipeline`
    and the new pipeline's `hs_pipeline_stage` in the same millisecond), then to a closed
    stage; some closed tickets are reopened and some of those closed again, so a ticket can
    visit one stage twice. `hs_is_closed`, `closed_date` and `time_to_close` follow the stage;
    HubSpot clears the last two (an empty value in the history) when a ticket reopens.
    """

    def __init__(self, life: _Life, pipelines: list[Pipeline], pipeline: Pipeline) -> None:
        self.life = life
        self.pipelines = pipelines
        self.pipeline = pipeline
        self.stage = self.open_stages()[0]
        at = life.created_ms
        life.history.put("hs_pipeline", pipeline.id, at)
        life.history.put("hs_pipeline_stage", self.stage.id, at)
        life.history.put("hs_is_closed", "false", at, CALCULATED)

    def open_stages(self) -> list[Stage]:
        """Return the open stages of the ticket's pipeline, in display order."""
        return [stage for stage in self.pipeline.stages if not stage.is_closed]

    def move(self, at: int, by: Source) -> None:
        """Move an open ticket to another open stage, or sometimes to another pipeline."""
        rng = self.life.rng
        others = [p for p in self.pipelines if p.id != self.pipeline.id]
        if others and rng.random() < PIPELINE_MOVE_SHARE:
            self.pipeline = rng.choice(others)
            self.life.history.put("hs_pipeline", self.pipeline.id, at, by)
            self._enter(self.open_stages()[0], at, by)
            return
        choices = [stage for stage in self.open_stages() if stage != self.stage]
        if choices:
            self._enter(rng.choice(choices), at, by)

    def close(self, at: int, by: Source) -> None:
        """Move the ticket to a closed stage of its pipeline, maybe with a resolution."""
        rng = self.life.rng
        history = self.life.history
        self._enter(rng.choice([s for s in self.pipeline.stages if s.is_closed]), at, by)
        history.put("closed_date", iso_from_ms(at), at, CALCULATED)
        history.put("time_to_close", str(at - self.life.created_ms), at, CALCULATED)
        history.put("hs_is_closed", "true", at, CALCULATED)
        if rng.random() < 0.6:
            resolution = rng.choice(RESOLUTIONS).value
            if history.last("hs_resolution") != resolution:
                history.put("hs_resolution", resolution, at, by)

    def reopen(self, at: int, by: Source) -> None:
        """Move a closed ticket back to an open stage of its pipeline."""
        history = self.life.history
        self._enter(self.life.rng.choice(self.open_stages()), at, by)
        history.put("hs_is_closed", "false", at, CALCULATED)
        history.put("closed_date", "", at, CALCULATED)
        history.put("time_to_close", "", at, CALCULATED)

    def _enter(self, stage: Stage, at: int, by: Source) -> None:
        self.stage = stage
        self.life.history.put("hs_pipeline_stage", stage.id, at, by)


class _Life:
    """One ticket being generated: its history and a clock that only moves forward."""

    def __init__(self, rng: random.Random, created_ms: int, horizon: int, source: Source) -> None:
        self.rng = rng
        self.created_ms = created_ms
        self.at = created_ms  # the time of the latest change
        self.horizon = horizon
        self.history = _History(source)

    def later(self, low_minutes: int, high_minutes: int) -> int | None:
        """Move the clock on by a random delay and return it; None if that passes the horizon.

        A change that would fall after the horizon has not happened yet, so every property's
        history stays strictly increasing and nothing is dated in the future.
        """
        at = self.at + self.rng.randint(low_minutes, high_minutes) * MINUTE_MS
        if at > self.horizon:
            return None
        self.at = at
        return at


class _Generator:
    """Builds tickets one by one from a seeded random stream."""

    def __init__(self, seed: int, now_ms: int, pipelines: list[Pipeline]) -> None:
        self.rng = random.Random(seed)
        self.now_ms = now_ms
        self.pipelines = pipelines
        self.objects = {kind: list(ids) for kind, ids in base_objects().items()}
        self.next_object = {kind: ids[-1] + 1 for kind, ids in self.objects.items()}
        self.create_sources = _weighted(_CREATE_SOURCES)
        self.change_sources = _weighted(_CHANGE_SOURCES)

    def source(self, kind: str) -> Source:
        """Pick who made a change: the sourceType and what HubSpot records beside it."""
        weighted = self.create_sources if kind == "create" else self.change_sources
        source_type: str = weighted.pick(self.rng)
        if source_type == "CRM_UI":
            user = self.rng.choice(OWNER_USER_IDS)
            return source_type, f"userId:{user}", None, user
        if source_type == "AUTOMATION_PLATFORM":
            flow_id, flow_name = self.rng.choice(_WORKFLOWS)
            enrollment = f"workflowId:{flow_id};enrollmentId:{self.rng.randrange(10**9)}"
            return source_type, enrollment, flow_name, None
        if source_type == "API":
            return source_type, "app:2913847", "Support sync", None
        if source_type == "IMPORT":
            return source_type, f"importId:{self.rng.randrange(10**6)}", None, None
        return source_type, None, None, None

    def new_object(self, kind: str) -> int:
        """Create one more record of an engagement type and return its id."""
        object_id = self.next_object[kind]
        self.next_object[kind] += 1
        self.objects[kind].append(object_id)
        return object_id

    def grow_objects(self, tickets: int) -> None:
        """Give the portal contacts, companies and deals in proportion to its tickets."""
        for kind, share in (("contacts", 3), ("companies", 12), ("deals", 10)):
            while len(self.objects[kind]) < tickets // share:
                self.new_object(kind)

    def ticket(self, ticket_id: int, created_ms: int, serial: int) -> TicketSeed:
        """Generate one ticket created at `created_ms` with a plausible life since."""
        rng = self.rng
        life = _Life(rng, created_ms, self.now_ms - 1_000, self.source("create"))
        pipeline = self.pipelines[0] if rng.random() < 0.8 else rng.choice(self.pipelines[1:])
        self.describe(life, ticket_id)
        journey = _Journey(life, self.pipelines, pipeline)
        self.fill_in(life, serial)
        self.first_reply(life)
        self.changes(life, journey)
        archived_open = rng.random() < ARCHIVED_OPEN_SHARE
        if not archived_open:
            self.closing(life, journey)
        updated_ms = life.history.newest_ms()
        life.history.put("hs_lastmodifieddate", iso_from_ms(updated_ms), updated_ms)
        associations = self.associations(life.history.entries, updated_ms)
        return TicketSeed(
            id=ticket_id,
            created_ms=created_ms,
            updated_ms=updated_ms,
            history=life.history.entries,
            archived_ms=self.archived_at(life, updated_ms, archived_open),
            associations=associations,
        )

    def describe(self, life: _Life, ticket_id: int) -> None:
        """Write what every ticket has from its creation: id, subject, content, sources."""
        rng, put, at = self.rng, life.history.put, life.created_ms
        product = rng.randrange(len(_PRODUCT_NAMES))
        subject = f"{_PRODUCT_NAMES[product]}: {rng.choice(_PROBLEMS)}"
        if rng.random() < 0.3:
            subject += f" (case {rng.randrange(10_000, 99_999)})"
        content = " ".join(
            f"{rng.choice(_OPENERS)} {rng.choice(_DETAILS)}" for _ in range(rng.randint(1, 3))
        )
        source_type, _, _, user = life.history.source
        put("hs_object_id", str(ticket_id), at, CALCULATED)
        put("createdate", iso_from_ms(at), at)
        put("subject", subject, at)
        put("content", content, at)
        put("hs_object_source", source_type, at, CALCULATED)
        if user is not None:
            put("hs_created_by_user_id", str(user), at)
        put("hs_was_imported", "true" if source_type == "IMPORT" else "false", at)

    def fill_in(self, life: _Life, serial: int) -> None:
        """Write the fields a ticket may be created with: priority, owner, custom fields."""
        rng, put, at = self.rng, life.history.put, life.created_ms
        put("hs_ticket_priority", _PRIORITY.pick(rng), at)
        put("source_type", rng.choice(SOURCES).value, at)
        put("hs_in_helpdesk", "true" if rng.random() < 0.8 else "false", at)
        if rng.random() < 0.6:
            categories = rng.sample(CATEGORIES, _CATEGORY_COUNT.pick(rng))
            put("hs_ticket_category", ";".join(option.value for option in categories), at)
        if rng.random() < 0.85:
            owner = rng.choice(OWNERS)[0]
            put("hubspot_owner_id", owner, at)
            put("hs_all_owner_ids", owner, at, CALCULATED)
        if rng.random() < 0.5:
            put("hubspot_team_id", rng.choice(TEAMS)[0], at)
        if rng.random() < 0.6:
            put("external_ticket_id", f"EXT-{serial:06d}", at)
        if rng.random() < 0.7:
            put("customer_tier", _TIER.pick(rng), at)
        if rng.random() < 0.5:
            chosen = rng.sample(PRODUCTS, rng.randint(1, 3))
            put("affected_products", ";".join(option.value for option in chosen), at)
        put("is_escalated", "false", at)
        self.fill_in_rare(life)

    def fill_in_rare(self, life: _Life) -> None:
        """Write the custom fields few tickets are created with."""
        rng, put, at = self.rng, life.history.put, life.created_ms
        if rng.random() < 0.4:
            put("estimated_effort_hours", str(rng.choice((0.5, 1, 2, 4, 8, 16))), at)
        if rng.random() < 0.5:
            put("sla_due_date", iso_from_ms(at + rng.randint(1, 14) * DAY_MS)[:10], at)
        if rng.random() < 0.3:
            put("callback_phone", f"{rng.choice(_PHONE_PREFIXES)} {rng.randrange(1000, 9999)}", at)
        if rng.random() < 0.1:
            lat, lng = rng.uniform(-60, 70), rng.uniform(-170, 170)
            put("site_location", f"{lat:.5f},{lng:.5f}", at)
        if rng.random() < 0.15:
            put("internal_notes", "Customer prefers email follow-ups.", at)

    def first_reply(self, life: _Life) -> None:
        """Record an agent's first reply, unless it has not happened by now."""
        if self.rng.random() >= 0.7:
            return
        reply_at = life.created_ms + self.rng.randint(5, 48 * 60) * MINUTE_MS
        if reply_at > life.horizon:
            return
        put = life.history.put
        put("first_agent_reply_date", iso_from_ms(reply_at), reply_at, CALCULATED)
        put("time_to_first_agent_reply", str(reply_at - life.created_ms), reply_at, CALCULATED)
        put("last_reply_date", iso_from_ms(reply_at), reply_at, CALCULATED)

    def changes(self, life: _Life, journey: _Journey) -> None:
        """Make the edits of an open ticket's working life, in time order."""
        rng, history = self.rng, life.history
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
            at = life.later(10, 72 * 60)
            if at is None:
                return
            change = self.source("change")
            roll = rng.random()
            if roll < 0.35:
                journey.move(at, change)
            elif roll < 0.55:
                priority = rng.choice(PRIORITIES).value
                if history.last("hs_ticket_priority") != priority:
                    history.put("hs_ticket_priority", priority, at, change)
            elif roll < 0.75:
                self.reassign(life, at, change)
            elif roll < 0.85:
                if history.last("is_escalated") != "true":
                    history.put("is_escalated", "true", at, change)
            else:
                history.put("last_customer_reply_at", iso_from_ms(at), at, change)

    def reassign(self, life: _Life, at: int, by: Source) -> None:
        """Give the ticket another owner; `hs_all_owner_ids` keeps every owner it has had."""
        history = life.history
        owner = self.rng.choice(OWNERS)[0]
        if history.last("hubspot_owner_id") == owner:
            return
        history.put("hubspot_owner_id", owner, at, by)
        known = (history.last("hs_all_owner_ids") or "").split(";")
        if owner not in known:
            joined = ";".join([*filter(None, known), owner])
            history.put("hs_all_owner_ids", joined, at, CALCULATED)

    def closing(self, life: _Life, journey: _Journey) -> None:
        """Close most tickets older than a month; reopen some, and close some of those again."""
        rng = self.rng
        age_days = (self.now_ms - life.created_ms) / DAY_MS
        if rng.random() >= min(0.95, age_days / 30):
            return
        at = life.later(30, 10 * 24 * 60)
        if at is None:
            return
        journey.close(at, self.source("change"))
        if rng.random() >= REOPENED_SHARE:
            return
        at = life.later(60, 7 * 24 * 60)
        if at is None:
            return
        journey.reopen(at, self.source("change"))
        if rng.random() < CLOSED_AGAIN_SHARE:
            at = life.later(30, 5 * 24 * 60)
            if at is not None:
                journey.close(at, self.source("change"))

    def archived_at(self, life: _Life, updated_ms: int, archived_open: bool) -> int | None:
        """Return when the ticket was archived, or None for a live one.

        Duplicates and spam are archived soon after their last change, still in an open
        stage; a few others are archived some time after their life ended.
        """
        if archived_open:
            return self.rng.randint(
                updated_ms, max(updated_ms, min(life.horizon, updated_ms + DAY_MS))
            )
        if self.rng.random() < ARCHIVED_SHARE:
            return self.rng.randint(updated_ms, max(updated_ms, life.horizon))
        return None

    def associations(
        self, history: dict[str, list[HistoryEntry]], at: int
    ) -> list[tuple[str, int, str]]:
        """Associate a ticket with contacts, a company, maybe a deal, and its engagements."""
        rng = self.rng
        out: list[tuple[str, int, str]] = []
        if rng.random() < 0.9:
            for contact in rng.sample(self.objects["contacts"], rng.choice((1, 1, 1, 2))):
                out.append(("contacts", contact, DEFAULT))
            if rng.random() < 0.15:
                out.append(("contacts", out[-1][1], LABELED))
        if rng.random() < 0.7:
            company = rng.choice(self.objects["companies"])
            out.append(("companies", company, DEFAULT))
            out.append(("companies", company, PRIMARY))
        if rng.random() < 0.2:
            out.append(("deals", rng.choice(self.objects["deals"]), DEFAULT))
        engagements: list[int] = []
        for kind, count in _ENGAGEMENT_COUNTS:
            for _ in range(count.pick(rng)):
                engagement = self.new_object(kind)
                engagements.append(engagement)
                out.append((kind, engagement, DEFAULT))
        if engagements and rng.random() < 0.1:
            pinned = rng.choice(engagements)
            history["hs_pinned_engagement_id"] = [
                HistoryEntry(str(pinned), at, "CRM_UI", None, None, rng.choice(OWNER_USER_IDS))
            ]
        return out


def generate(count: int, seed: int, now_ms: int, pipelines: list[Pipeline]) -> SeedPortal:
    """Generate `count` tickets created over the two years before `now_ms`, reproducibly."""
    generator = _Generator(seed, now_ms, pipelines)
    generator.grow_objects(count)
    rng = generator.rng
    start = now_ms - HISTORY_SPAN_MS
    created = sorted(rng.randint(start, now_ms - 3_600_000) for _ in range(count))
    tickets: list[TicketSeed] = []
    ticket_id = FIRST_TICKET_ID
    for serial, created_ms in enumerate(created):
        # Real ticket ids grow over time but are not contiguous.
        ticket_id += rng.randint(1, 40)
        tickets.append(generator.ticket(ticket_id, created_ms, serial))
    return SeedPortal(tickets=tickets, objects=generator.objects)
