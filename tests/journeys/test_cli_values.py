"""Values HubSpot refuses, and control columns of another JSON type (issue #9: E, F, G).

One command-line run carries every case, each on a ticket of its own, beside records that are
fine; each test then checks its own ticket in the emulator and its own line in the rejects
file. Refused values must be caught before anything is sent (HubSpot would answer 400 or a
207 per input), named by field, and stored as strict JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

MAX_STRING = 65_536  # HubSpot's longest property value, in characters
RUN_TIMEOUT_S = 60  # a huge exponent must neither crash the run nor pin the CPU

# Every control value a column of JSON type other than boolean may take in a write-back file
# (tap-jsonl types `archived` with all of them, see meltano.yml).
ARCHIVED_ANY_TYPE = {"archived": {"type": ["boolean", "integer", "number", "string", "null"]}}

pytestmark = pytest.mark.journeys


@dataclass(frozen=True)
class Case:
    """One record on a ticket of its own, and what must become of it."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # JSON text spliced in as is
    # "reject" (naming `field`), "archive", or "update" (the values were written).
    outcome: str = "update"
    field: str | None = None


REFUSED = [
    Case(
        "string-over-65536", {"subject": "s" * (MAX_STRING + 1)}, outcome="reject", field="subject"
    ),
    Case("lone-high-surrogate", {"content": "a \ud800 b"}, outcome="reject", field="content"),
    Case(
        "lone-low-surrogate", {"internal_notes": "\udfff"}, outcome="reject", field="internal_notes"
    ),
    Case(
        "nan",
        raw={"estimated_effort_hours": "NaN"},
        outcome="reject",
        field="estimated_effort_hours",
    ),
    Case(
        "infinity",
        raw={"estimated_effort_hours": "Infinity"},
        outcome="reject",
        field="estimated_effort_hours",
    ),
    Case(
        "minus-infinity",
        raw={"estimated_effort_hours": "-Infinity"},
        outcome="reject",
        field="estimated_effort_hours",
    ),
    Case(
        "exponent-5000",
        raw={"estimated_effort_hours": "1e5000"},
        outcome="reject",
        field="estimated_effort_hours",
    ),
    Case(
        "exponent-30000000",
        raw={"estimated_effort_hours": "1e30000000"},
        outcome="reject",
        field="estimated_effort_hours",
    ),
]
# The edges on the accepted side: these are written as given.
ACCEPTED = [
    Case("string-of-65536", {"subject": "t" * MAX_STRING}),
    Case("surrogate-pair", {"content": "smile \U0001f600 done"}),  # sent as \\ud83d\\ude00
    Case("plain-number", raw={"estimated_effort_hours": "12.5"}),
]
ARCHIVED_TRUE = [
    Case(f"archived-{name}", {"archived": value}, outcome="archive")
    for name, value in [
        ("true", True),
        ("1", 1),
        ("string-true", "true"),
        ("string-TRUE", "TRUE"),
        ("string-True", "True"),
        ("string-1", "1"),
        ("yes", "yes"),
        ("string-YES", " YES "),
    ]
]
ARCHIVED_FALSE = [
    Case(f"archived-{name}", {"archived": value, "subject": f"kept live ({name})"})
    for name, value in [
        ("false", False),
        ("0", 0),
        ("string-false", "false"),
        ("string-FALSE", "FALSE"),
        ("string-0", "0"),
        ("no", "no"),
        ("empty-string", ""),
    ]
]
ARCHIVED_UNCLEAR = [
    Case(
        f"archived-{name}",
        {"archived": value, "subject": f"unclear ({name})"},
        outcome="reject",
        field="archived",
    )
    for name, value in [
        ("y", "y"),
        ("archive-it", "archive it"),
        ("2", 2),
        ("an-object", {"value": True}),
        ("1.5", 1.5),
    ]
]
CASES = REFUSED + ACCEPTED + ARCHIVED_TRUE + ARCHIVED_FALSE + ARCHIVED_UNCLEAR


@dataclass
class ValuesRun:
    server: Any
    run: Any
    ticket_of: dict[str, str]
    before: dict[str, dict[str, Any]]
    control: str


def _tickets(server: Any) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in server.portal.snapshot()}


def _values_run(fixtures: tuple[Any, Any, Any, Any]) -> ValuesRun:
    """Run the target once per module on every case; later calls return the same run."""
    run_once, module_emulator, singer_input, target_cli = fixtures

    def make() -> ValuesRun:
        server = module_emulator(tickets=len(CASES) + 10, seed=31)
        before = _tickets(server)
        live = sorted(i for i, t in before.items() if not t.get("archived"))
        ticket_of = {case.name: live[n] for n, case in enumerate(CASES)}
        control = live[len(CASES)]
        singer = singer_input(server)
        lines = [singer.schema(overrides=ARCHIVED_ANY_TYPE)]
        for case in CASES:
            record = {"id": ticket_of[case.name], **case.values}
            lines.append(singer.record(record, raw=case.raw))
        lines.append(singer.record({"id": control, "subject": "the control record"}))
        lines.append(singer.state({"checkpoint": "end"}))
        run = target_cli(server, lines, timeout=RUN_TIMEOUT_S)
        return ValuesRun(server, run, ticket_of, before, control)

    result: ValuesRun = run_once("values", make)
    return result


def test_run_with_every_case_ends_cleanly_and_adds_up(
    run_once: Any, module_emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    values_run = _values_run((run_once, module_emulator, singer_input, target_cli))
    run = values_run.run
    summary = run.assert_clean_success()
    expected_rejects = sum(1 for c in CASES if c.outcome == "reject")
    assert summary["received"] == len(CASES) + 1, summary
    assert summary["rejected"] == expected_rejects, summary
    assert _tickets(values_run.server)[values_run.control]["properties"]["subject"] == (
        "the control record"
    )
    assert run.states[-1] == {"checkpoint": "end"}


def test_nothing_hubspot_would_refuse_was_sent(
    run_once: Any, module_emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    values_run = _values_run((run_once, module_emulator, singer_input, target_cli))
    refused = {
        route: statuses
        for route, statuses in values_run.server.stats()["by_route"].items()
        if route.startswith("POST") and any(s == "207" or s.startswith("4") for s in statuses)
    }
    assert not refused, f"HubSpot was sent values it refuses: {refused}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_value_ends_as_the_user_meant(
    run_once: Any, module_emulator: Any, singer_input: Any, target_cli: Any, case: Case
) -> None:
    values_run = _values_run((run_once, module_emulator, singer_input, target_cli))
    run = values_run.run
    ticket_id = values_run.ticket_of[case.name]
    ticket = _tickets(values_run.server)[ticket_id]
    before = values_run.before[ticket_id]
    mine = [r for r in run.rejects if str((r.get("record") or {}).get("id")) == ticket_id]
    if case.outcome == "reject":
        assert len(mine) == 1, f"expected one reject for {ticket_id}; {run.describe()}"
        assert case.field is not None
        assert case.field in mine[0]["reason"], mine[0]["reason"]
        assert mine[0]["reason"].strip()
        assert ticket.get("archived") == before.get("archived")
        assert ticket["properties"] == before["properties"], "a rejected record changed the ticket"
        return
    assert not mine, f"rejected: {mine[0]['reason'] if mine else ''}"
    if case.outcome == "archive":
        assert ticket.get("archived") is True, f"{case.values} did not archive {ticket_id}"
        return
    assert not ticket.get("archived"), f"{case.values} archived {ticket_id}"
    for name, value in case.values.items():
        if name != "archived":
            assert ticket["properties"].get(name) == value, name
    for name, text in case.raw.items():
        assert float(ticket["properties"].get(name)) == float(text), name
