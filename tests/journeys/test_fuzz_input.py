"""Property-based fuzz of the target's input, in process (issue #9: I, with G and E).

Hypothesis writes Singer input a careless or hostile upstream could send: wrong types, nulls,
huge and odd unicode strings, control characters, unknown and read-only properties, invalid
options, duplicate and unknown ids, unknown streams, broken lines, huge exponents, dates at the
calendar's edges. Whatever it writes, the target must end either normally or with its one-line
error class (`HubSpotError`), its summary must add up, and every reject must be in the rejects
file as strict JSON with a reason.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubspot_api.errors import HubSpotError

pytestmark = pytest.mark.journeys

EXAMPLE_TIMEOUT_S = 60
STAGES = ["1034562871", "1034562872", "1034562912", "New", "Closed", "no-such-stage"]
WRITABLE = [
    "subject",
    "content",
    "hs_pipeline",
    "hs_pipeline_stage",
    "hs_ticket_priority",
    "hs_ticket_category",
    "hubspot_owner_id",
    "customer_tier",
    "affected_products",
    "is_escalated",
    "estimated_effort_hours",
    "sla_due_date",
    "last_customer_reply_at",
    "callback_phone",
    "site_location",
    "internal_notes",
    "external_ticket_id",
]
READ_ONLY = ["hs_object_id", "createdate", "hs_lastmodifieddate", "time_to_close", "hs_is_closed"]
UNKNOWN = ["no_such_property", "Subject", "", "hs_pipeline_stage ", "ünïcödé"]
CONTROL = ["id", "archived", "_sdc_deleted_at", "associations", "created_at", "archived_at"]
EDGE_DATES = [
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59.999Z",
    "9999-12-31T23:59:60Z",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2024-02-30",
    "2024-02-29",
    "2024-13-01T00:00:00Z",
    "2024-05-01T10:00:00+14:00",
    "2024-05-01T10:00:00-12:00",
]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e5000", "-1e5000", "1e30000000", "1e-30000000"]
ODD_TEXT = [
    "\ud800",
    "\udfff tail",
    "nul \x00 inside",
    "\x1b[31mred\x1b[0m",
    "\u202eright-to-left",
    "\ufeffbom inside",
    "e\u0301\u0301\u0301",
    "\U0001f600" * 3,
    "line\nbreak\r\n",
    "s" * 65_537,
    "t" * 65_536,
    "\u00e9" * 65_537,
]


@dataclass(frozen=True)
class Raw:
    """A value written into the line as this exact JSON text."""

    text: str


def _values(ids: list[str]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(ODD_TEXT),
        st.sampled_from(EDGE_DATES),
        st.sampled_from(STAGES),
        st.sampled_from(["true", "FALSE", "yes", "1", "0", "", " "]),
        st.sampled_from(ids),
        st.builds(Raw, st.sampled_from(RAW_NUMBERS)),
    )
    return st.one_of(
        scalars,
        st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )


def _associations(ids: list[str]) -> st.SearchStrategy[Any]:
    link = st.fixed_dictionaries(
        {
            "to_object_type": st.sampled_from(["contacts", "companies", "deals", "planets", ""]),
            "to_object_id": st.one_of(st.sampled_from(ids), st.integers(), st.none()),
        },
        optional={
            "association_type_id": st.one_of(st.integers(), st.text(max_size=4)),
            "association_category": st.sampled_from(["HUBSPOT_DEFINED", "USER_DEFINED", "x"]),
        },
    )
    return st.one_of(st.lists(link, max_size=2), st.text(max_size=4), st.integers())


@st.composite
def _record(draw: st.DrawFn, ids: list[str], contacts: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["create", "update", "archive", "noise", "clean"]))
    record: dict[str, Any] = {}
    if kind == "clean":
        # Plausible writes, so that batches, duplicates and archives happen beside the noise.
        record["id"] = draw(st.one_of(st.none(), st.sampled_from(ids)))
        record["subject"] = draw(st.text(min_size=1, max_size=30))
        record["hs_pipeline_stage"] = draw(st.sampled_from(STAGES[:3]))
        if draw(st.booleans()):
            record["archived"] = draw(st.sampled_from([True, False, "true", 0]))
        return record
    if kind == "create":
        record["subject"] = draw(st.one_of(st.text(min_size=1, max_size=30), _values(ids)))
        record["hs_pipeline_stage"] = draw(st.one_of(st.sampled_from(STAGES), _values(ids)))
    elif kind in ("update", "archive"):
        record["id"] = draw(st.one_of(st.sampled_from(ids), _values(ids)))
    if kind == "archive":
        record["archived"] = draw(st.one_of(st.just(True), _values(ids)))
    names = draw(st.lists(st.sampled_from(WRITABLE + READ_ONLY + UNKNOWN + CONTROL), max_size=3))
    for name in names:
        record[name] = draw(_values(ids))
    if draw(st.booleans()):
        record["associations"] = draw(_associations(contacts))
    return record


def _line(record: dict[str, Any], stream: str = "tickets") -> str:
    raw = {k: v.text for k, v in record.items() if isinstance(v, Raw)}
    fields = {k: v for k, v in record.items() if not isinstance(v, Raw)}
    for name in raw:
        fields[name] = f"@raw:{name}@"
    line = json.dumps({"type": "RECORD", "stream": stream, "record": fields})
    for name, text in raw.items():
        line = line.replace(json.dumps(f"@raw:{name}@"), text)
    return line


@st.composite
def _input(draw: st.DrawFn, schema: str, ids: list[str], contacts: list[str]) -> str:
    lines = [schema]
    count = draw(st.integers(min_value=1, max_value=16))
    for n in range(count):
        what = draw(
            st.sampled_from(
                ["record"] * 12
                + ["state"] * 2
                + ["blank", "broken", "other-stream", "schema-again"]
            )
        )
        if what == "record":
            lines.append(_line(draw(_record(ids, contacts))))
        elif what == "state":
            lines.append(json.dumps({"type": "STATE", "value": {"n": n}}))
        elif what == "blank":
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        elif what == "broken":
            whole = _line(draw(_record(ids, contacts)))
            lines.append(whole[: draw(st.integers(min_value=0, max_value=len(whole) - 1))])
        elif what == "other-stream":
            lines.append(_line(draw(_record(ids, contacts)), stream="contacts"))
        else:
            lines.append(schema)
    return "".join(line + "\n" for line in lines)


class _ExampleTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise _ExampleTimeout(f"one example ran over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_no_input_escapes_the_documented_errors_and_counts_always_add_up(
    emulator: Any, singer_input: Any, target_in_process: Any
) -> None:
    # One emulator for every example: they write to the same real tickets, as runs would.
    server = emulator(tickets=30, seed=51)
    tickets = server.portal.snapshot()
    ids = [*[t["id"] for t in tickets][:12], "1", "999999999999"]
    contacts = [*server.portal.object_ids("contacts")[:3], "404"]
    schema = singer_input(server).schema(key_properties=["id"])

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(text=_input(schema, ids, contacts))
    def check(text: str) -> None:
        with _time_limit(EXAMPLE_TIMEOUT_S):
            run = target_in_process(server, text)
        error = run.error
        if error is not None and not isinstance(error, HubSpotError):
            raise AssertionError(
                f"{type(error).__name__} escaped the target: {str(error)[:500]}"
            ) from error
        if error is not None:
            assert "\n" not in str(error), f"a multi-line error: {str(error)[:500]!r}"
        if error is None:
            assert run.summary is not None, "the run ended without writing its summary"
        if run.summary is not None:
            run.assert_counts_add_up()

    check()
