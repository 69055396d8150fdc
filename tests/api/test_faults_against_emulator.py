"""Injected 429s, 5xx and dropped connections: reads complete, unsafe writes are not resent."""

from __future__ import annotations

import pytest

from hubspot_api import (
    BATCH_LIMIT,
    Call,
    DailyLimitError,
    DailyReserveError,
    HubSpotConnectionError,
    OutcomeUnknownError,
    iter_list,
)
from hubspot_api.retries import MAX_ATTEMPTS


def _live_ids(server) -> set[str]:
    return {t["id"] for t in server.portal.snapshot() if not t.get("archived")}


@pytest.mark.parametrize("version", ["v3", "2026-03"], ids=["legacy", "dated"])
def test_a_faulty_run_still_reads_everything(emulator, make_client, version):
    server = emulator(tickets=300, seed=21, fault_rate=0.25, drop_rate=0.1)
    client = make_client(server, fast=True, api_version=version, max_concurrency=4)
    listed = [t["id"] for t in iter_list(client, Call.LIST_TICKETS, {"limit": 25})]
    assert len(listed) == len(set(listed))
    assert set(listed) == _live_ids(server)
    stats = server.stats()
    assert stats["injected_faults"] > 0
    assert stats["dropped"] > 0
    assert client.stats.snapshot()["retries"] >= stats["injected_faults"] + stats["dropped"]


def test_batch_updates_are_resent_until_applied(emulator, make_client):
    server = emulator(tickets=200, seed=4, fault_rate=0.3, drop_rate=0.1, apply_then_drop_rate=0.2)
    client = make_client(server, fast=True, max_concurrency=4)
    ids = sorted(_live_ids(server))
    batches = [ids[i : i + BATCH_LIMIT] for i in range(0, len(ids), BATCH_LIMIT)]

    def update(batch: list[str]) -> int:
        body = {"inputs": [{"id": i, "properties": {"subject": f"fixed {i}"}} for i in batch]}
        return len(client.post_json(Call.BATCH_UPDATE, body)["results"])

    assert sum(client.map_concurrent(update, batches)) == len(ids)
    subjects = {t["id"]: t["properties"]["subject"] for t in server.portal.snapshot()}
    assert all(subjects[i] == f"fixed {i}" for i in ids)


def _new_ticket(client, subject: str) -> dict:
    pipeline = client.get_json(Call.LIST_PIPELINES)["results"][0]
    return {
        "properties": {
            "subject": subject,
            "hs_pipeline": pipeline["id"],
            "hs_pipeline_stage": pipeline["stages"][0]["id"],
        }
    }


def _subjects(server) -> list[str | None]:
    return [t["properties"].get("subject") for t in server.portal.snapshot()]


def test_a_create_that_may_have_landed_is_not_resent(emulator, make_client):
    server = emulator(tickets=2, apply_then_drop_rate=1.0)  # every write lands, then drops
    client = make_client(server, fast=True)
    with pytest.raises(OutcomeUnknownError) as info:
        client.post_json(Call.CREATE_TICKET, _new_ticket(client, "exactly once"))
    assert "may have been applied" in str(info.value)
    assert _subjects(server).count("exactly once") == 1  # applied once, not sent again


def test_a_create_refused_by_a_gateway_error_is_not_resent(emulator, make_client):
    server = emulator(tickets=2, fault_rate=1.0, seed=1)
    client = make_client(server, fast=True)
    with pytest.raises(OutcomeUnknownError):
        client.post_json(Call.CREATE_TICKET, {"properties": {"subject": "never"}})
    creates = sum(server.stats()["by_route"].get("POST tickets.create", {}).values())
    # Only 429/423 answers (nothing applied) may be resent; the first 5xx ends it.
    assert 1 <= creates <= 8
    assert "never" not in _subjects(server)


def _create_attempts(server) -> int:
    return sum(server.stats()["by_route"].get("POST tickets.create", {}).values())


def test_a_dropped_create_is_not_resent_by_default(emulator, make_client):
    server = emulator(tickets=2, drop_rate=1.0)
    client = make_client(server, fast=True)
    with pytest.raises(OutcomeUnknownError):
        client.post_json(Call.CREATE_TICKET, {"properties": {"subject": "dropped"}})
    assert _create_attempts(server) == 1


def test_a_caller_may_declare_a_create_safe_to_resend(emulator, make_client):
    server = emulator(tickets=2, drop_rate=1.0)
    client = make_client(server, fast=True)
    with pytest.raises(HubSpotConnectionError) as info:
        client.post_json(Call.CREATE_TICKET, {"properties": {"subject": "x"}}, idempotent=True)
    assert f"gave up after {MAX_ATTEMPTS} attempts" in str(info.value)
    assert _create_attempts(server) == MAX_ATTEMPTS


def test_daily_limit_fails_fast(emulator, make_client):
    server = emulator(tickets=2, daily_limit=3)
    client, other = make_client(server), make_client(server)
    for _ in range(2):
        client.get_json(Call.LIST_TICKETS, params={"limit": 1})
    other.get_json(Call.LIST_TICKETS, params={"limit": 1})  # another integration spends the last
    with pytest.raises(DailyLimitError) as info:
        client.get_json(Call.LIST_TICKETS, params={"limit": 1})
    assert not isinstance(info.value, DailyReserveError)
    assert client.stats.retries == 0  # a DAILY 429 is not retried within the run
    assert info.value.policy_name == "DAILY"
    assert "\n" not in str(info.value)
    assert server.stats()["requests"] == 4  # no retry of a daily refusal


@pytest.mark.parametrize(
    ("reserve", "sent"),
    [(None, 19), (5, 15), (0, 20)],
    ids=["default-5-percent", "set", "none"],
)
def test_the_daily_reserve_is_left_unspent(emulator, make_client, reserve, sent):
    server = emulator(tickets=2, daily_limit=20)
    client = make_client(server, daily_request_reserve=reserve)

    def spend_all() -> None:
        for _ in range(25):
            client.get_json(Call.LIST_TICKETS, params={"limit": 1})

    with pytest.raises(DailyReserveError) as info:
        spend_all()
    assert server.stats()["requests"] == sent  # stopped before the call, not refused by it
    assert server.stats()["rate_limited"] == 0
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("stopped before HubSpot's daily limit")
    if sent < 20:
        assert (
            f"{20 - sent} calls are left today and daily_request_reserve keeps {20 - sent}"
            in message
        )
