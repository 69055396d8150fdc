"""Answers HubSpot never gives: not the documented shape, never ending, huge, echoing secrets.

Each test starts the emulator with `--hostile-answer` (`hostile_answer` and friends) and drives
the real `tap-hubspot-tickets` or `target-hubspot-tickets` command line against it. What is
checked is what a user lives with: one error line, no state past what was read or written, the
emulator's own data, and no secret in any spelling on stderr or in the summary file.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from typing import Any

import pytest

from hubspot_emulator.config import DEFAULT_TOKEN
from hubspot_emulator.errors import ApiError

pytestmark = pytest.mark.journeys

TAP = "tap-hubspot-tickets"
LIST_PAGES = "GET /crm/objects/*/tickets"
SEARCH_PAGES = "POST /crm/objects/*/tickets/search"
BATCH_UPDATE = "POST /crm/objects/*/tickets/batch/update"
BATCH_CREATE = "POST /crm/objects/*/tickets/batch/create"
BATCH_UPSERT = "POST /crm/objects/*/tickets/batch/upsert"
OAUTH = {"client_id": "emulator-client", "client_secret": "emulator-secret"}
REFRESH_TOKEN = "emulator-refresh-token"
# Guards against a hang only: a run that never ends fails the test instead of stalling the suite.
HANG_GUARD_S = 60
TICKETS = 30


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _assert_tap_one_line(run: Any, *needles: str) -> str:
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    # One line for a handled error: not the SDK's "An unhandled error occurred" before it.
    assert "unhandled error" not in run.stderr, run.describe()
    line = _error_line(run.stderr)
    assert line.startswith(f"{TAP}: error: "), run.describe()
    for needle in needles:
        assert needle in line, line
    return line


def _ticket_ids(server: Any) -> set[str]:
    return {t["id"] for t in server.portal.snapshot() if not t["archived"]}


def _states(run: Any) -> list[dict[str, Any]]:
    return [m["value"] for m in run.messages if m["type"] == "STATE"]


# -- 200s that are not the documented answer ---------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "pattern", "call"),
    [
        ("no-results", LIST_PAGES, "list_tickets"),
        ("no-ids", LIST_PAGES, "list_tickets"),
        ("no-results", SEARCH_PAGES, "search"),
        ("no-ids", SEARCH_PAGES, "search"),
    ],
    ids=["list-no-results", "list-no-ids", "search-no-results", "search-no-ids"],
)
def test_a_page_not_as_documented_stops_the_tap_and_its_state_loses_nothing(
    emulator, tap_cli, kind, pattern, call
):
    server = emulator(
        tickets=TICKETS,
        seed=3,
        hostile_answer=kind,
        hostile_answer_on=(pattern,),
        hostile_answer_times=1,
    )

    first = tap_cli(server, timeout=HANG_GUARD_S)

    _assert_tap_one_line(first, f"the answer to {call} is ", "not the answer HubSpot documents")
    read = {r["id"] for r in first.records("tickets")}
    states = _states(first)
    # The hostile answer was given once: the next run, from the last state, reads the rest.
    second = tap_cli(server, state=states[-1] if states else None, timeout=HANG_GUARD_S)
    assert second.returncode == 0, second.describe()
    read |= {r["id"] for r in second.records("tickets")}
    assert read >= _ticket_ids(server)


# What follows `the answer to CALL is ...` in the error line, for a read and for a write.
NOT_DOCUMENTED = (
    ", not the answer HubSpot documents: nothing of it is used and the call is not resent"
)


@pytest.mark.parametrize(
    ("kind", "said"), [("null", "null"), ("empty", "an empty body")], ids=["null", "empty"]
)
def test_a_read_answered_with_null_or_nothing_is_named_as_such_and_nothing_written(
    emulator, tap_cli, kind, said
):
    server = emulator(
        tickets=TICKETS, seed=3, hostile_answer=kind, hostile_answer_on=(SEARCH_PAGES,)
    )

    run = tap_cli(server, timeout=HANG_GUARD_S)

    line = _assert_tap_one_line(run)
    assert line.endswith(
        f": the answer to search is {said}{NOT_DOCUMENTED} (a read: nothing was written)"
    ), line


def _update_lines(singer_input: Any, server: Any, ids: list[str], word: str) -> list[str]:
    typed = singer_input(server)
    lines = [typed.schema(key_properties=["id"])]
    lines += [typed.record({"id": i, "subject": f"{word} {i}"}) for i in ids]
    lines.append(typed.state({"records": len(ids)}))
    return lines


@pytest.mark.parametrize("kind", ["empty", "null", "list", "string", "no-results", "no-ids"])
def test_a_batch_update_answer_not_as_documented_is_never_counted_or_checkpointed(
    emulator, target_cli, singer_input, kind
):
    server = emulator(
        tickets=TICKETS, seed=4, hostile_answer=kind, hostile_answer_on=(BATCH_UPDATE,)
    )
    ids = sorted(_ticket_ids(server))[:20]

    run = target_cli(server, _update_lines(singer_input, server, ids, "hostile"))

    line = run.assert_one_line_error("the answer to batch_update is ")
    said = {"empty": "an empty body", "null": "null", "list": "a list", "string": "a string"}
    if kind in said:
        assert line.endswith(
            f"the answer to batch_update is {said[kind]}{NOT_DOCUMENTED} "
            "(the write's outcome is unknown)"
        ), line
    assert run.states == [], "a state was handed back for writes whose outcome is unknown"
    summary = run.summary
    assert summary is not None
    assert summary["status"] == "failed"
    assert summary["updated"] == 0, summary
    if kind != "no-ids":  # the others answer instead of HubSpot: nothing was applied
        subjects = {t["properties"].get("subject") for t in server.portal.snapshot()}
        assert not any(str(s).startswith("hostile ") for s in subjects)


def test_a_batch_upsert_answered_with_a_list_is_never_counted_or_checkpointed(
    emulator, target_cli, singer_input
):
    server = emulator(tickets=5, seed=5, hostile_answer="list", hostile_answer_on=(BATCH_UPSERT,))
    typed = singer_input(server)
    lines = [typed.schema()]
    lines += [
        typed.record({"subject": f"upsert {n}", "hs_pipeline_stage": "New"}) for n in range(10)
    ]
    lines.append(typed.state({"records": 10}))

    run = target_cli(server, lines, source_id_property="external_ticket_id")

    run.assert_one_line_error("the answer to batch_upsert is a list")
    assert run.states == []
    summary = run.summary
    assert summary is not None
    assert (summary["created"], summary["upserted"]) == (0, 0), summary


def test_a_batch_create_answered_with_nothing_is_reconciled_and_each_ticket_made_once(
    emulator, target_cli, singer_input
):
    server = emulator(
        tickets=5,
        seed=6,
        hostile_answer="empty",
        hostile_answer_on=(BATCH_CREATE,),
        hostile_answer_times=1,
    )
    typed = singer_input(server)
    subjects = [f"created once {n}" for n in range(12)]
    lines = [typed.schema()]
    lines += [typed.record({"subject": s, "hs_pipeline_stage": "New"}) for s in subjects]
    lines.append(typed.state({"records": len(subjects)}))

    run = target_cli(server, lines, unknown_outcome_wait_s=0.5)

    summary = run.assert_clean_success()
    assert summary["created"] == len(subjects), summary
    made = Counter(t["properties"].get("subject") for t in server.portal.snapshot())
    assert all(made[s] == 1 for s in subjects), made
    assert run.states[-1] == {"records": len(subjects)}


# -- answers that never end, or end huge --------------------------------------------------------
@pytest.mark.parametrize("kind", ["trickle", "trickle-body"])
def test_a_trickled_page_is_cut_at_request_timeout_and_read_again(emulator, tap_cli, kind):
    server = emulator(
        tickets=TICKETS,
        seed=7,
        hostile_answer=kind,
        hostile_answer_on=(LIST_PAGES,),
        hostile_answer_times=1,
        hostile_trickle_s=0.05,
    )

    run = tap_cli(server, request_timeout=1, timeout=HANG_GUARD_S)

    assert run.returncode == 0, run.describe()
    assert {r["id"] for r in run.records("tickets")} >= _ticket_ids(server)
    assert "the answer did not end within request_timeout" in run.stderr


def test_a_trickled_batch_update_is_cut_at_request_timeout_and_sent_again(
    emulator, target_cli, singer_input
):
    server = emulator(
        tickets=TICKETS,
        seed=8,
        hostile_answer="trickle",
        hostile_answer_on=(BATCH_UPDATE,),
        hostile_answer_times=1,
        hostile_trickle_s=0.05,
    )
    ids = sorted(_ticket_ids(server))[:20]

    run = target_cli(
        server,
        _update_lines(singer_input, server, ids, "slow"),
        request_timeout=1,
        timeout=HANG_GUARD_S,
    )

    summary = run.assert_clean_success()
    assert summary["updated"] == len(ids), summary
    assert "the answer did not end within request_timeout" in run.stderr


@pytest.mark.parametrize("kind", ["huge", "gzip-bomb"])
def test_an_answer_past_max_answer_mb_fails_the_tap_in_one_line(emulator, tap_cli, kind):
    server = emulator(
        tickets=TICKETS,
        seed=9,
        hostile_answer=kind,
        hostile_answer_on=(LIST_PAGES,),
        hostile_answer_mb=4,
    )

    run = tap_cli(server, max_answer_mb=1, timeout=HANG_GUARD_S)

    _assert_tap_one_line(run, "larger than 1 MB once decoded (max_answer_mb)")


def test_a_gzip_bomb_answering_a_batch_update_is_never_counted(emulator, target_cli, singer_input):
    server = emulator(
        tickets=TICKETS,
        seed=10,
        hostile_answer="gzip-bomb",
        hostile_answer_on=(BATCH_UPDATE,),
        hostile_answer_mb=4,
    )
    ids = sorted(_ticket_ids(server))[:20]

    run = target_cli(server, _update_lines(singer_input, server, ids, "bomb"), max_answer_mb=1)

    run.assert_one_line_error("larger than 1 MB once decoded (max_answer_mb)")
    assert run.states == []
    summary = run.summary
    assert summary is not None
    assert summary["updated"] == 0, summary


# -- secrets echoed back encoded -----------------------------------------------------------------
_BASE64_WORD = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _decoded_words(text: str) -> list[str]:
    """Return every run of base64 in `text`, decoded (standard or URL-safe alphabet)."""
    found: list[str] = []
    for word in _BASE64_WORD.findall(text):
        padded = word.rstrip("=") + "=" * (-len(word.rstrip("=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                found.append(decode(padded).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                continue
    return found


def _leaks(text: str, server: Any, secrets: list[str]) -> list[str]:
    """Return the decoded base64 in `text` that holds a secret or a live access token."""
    leaked = [d for d in _decoded_words(text) if any(s in d for s in secrets)]
    for decoded in _decoded_words(text):
        try:
            server.auth.authenticate(f"Bearer {decoded}")
        except ApiError:
            continue
        leaked.append(decoded)
    return leaked


@pytest.mark.parametrize(
    ("settings", "pattern"),
    [
        ({"access_token": DEFAULT_TOKEN}, LIST_PAGES),
        ({**OAUTH, "refresh_token": REFRESH_TOKEN, "access_token": None}, "POST /oauth/*"),
        ({**OAUTH, "refresh_token": REFRESH_TOKEN, "access_token": None}, LIST_PAGES),
    ],
    ids=["private-app-token", "oauth-client-secret", "oauth-issued-token"],
)
def test_a_secret_echoed_back_in_base64_never_reaches_the_tap_error(
    emulator, tap_cli, settings, pattern
):
    server = emulator(
        tickets=5, seed=11, hostile_answer="echo-secret-base64", hostile_answer_on=(pattern,)
    )

    run = tap_cli(server, timeout=HANG_GUARD_S, **settings)

    line = _assert_tap_one_line(run, "[REDACTED]")
    secrets = [DEFAULT_TOKEN, OAUTH["client_secret"], REFRESH_TOKEN]
    assert _leaks(run.stderr, server, secrets) == [], line


def test_a_secret_echoed_back_in_base64_never_reaches_the_target_log_or_rejects(
    emulator, target_cli, singer_input
):
    server = emulator(
        tickets=TICKETS,
        seed=12,
        hostile_answer="echo-secret-base64",
        hostile_answer_on=(BATCH_UPDATE,),
    )
    ids = sorted(_ticket_ids(server))[:5]

    run = target_cli(server, _update_lines(singer_input, server, ids, "echo"))

    # HubSpot's 400 refuses each record: a reject whose reason is HubSpot's message.
    summary = run.assert_clean_success()
    assert summary["rejected"] == len(ids), summary
    reasons = " ".join(r["reason"] for r in run.rejects)
    assert "[REDACTED]" in reasons
    assert _leaks(run.stderr + reasons, server, [DEFAULT_TOKEN]) == [], reasons


@pytest.mark.parametrize("kind", ["no-results", "no-ids"])
def test_pipelines_not_as_documented_stop_the_tap_in_one_line(emulator, tap_cli, kind):
    # Pipelines and their stages are read before any ticket (values are labelled by them).
    server = emulator(tickets=TICKETS, seed=4, hostile_answer=kind,
                      hostile_answer_on=("GET */pipelines/*",))  # fmt: skip
    done = tap_cli(server, timeout=HANG_GUARD_S)
    _assert_tap_one_line(
        done, "the answer to list_pipelines is ", "not the answer HubSpot documents"
    )
