"""Injected latency, transient errors and dropped connections, reproducible from the seed."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from hubspot_emulator.cli import build_parser, config_from_args
from hubspot_emulator.faults import READ_FAULTS, WRITE_FAULTS, FaultInjector

PROPERTIES = "/crm/v3/properties/tickets"
TICKETS = "/crm/v3/objects/tickets"


def _statuses(session: requests.Session, url: str, count: int) -> list[int]:
    return [session.get(f"{url}{PROPERTIES}").status_code for _ in range(count)]


def _new_ticket(session: requests.Session, url: str, subject: str) -> dict[str, object]:
    pipeline = session.get(f"{url}/crm/v3/pipelines/tickets").json()["results"][0]
    properties = {
        "subject": subject,
        "hs_pipeline": pipeline["id"],
        "hs_pipeline_stage": pipeline["stages"][0]["id"],
    }
    return {"properties": properties}


def _subjects(server) -> list[str]:
    return [ticket["properties"].get("subject") for ticket in server.portal.snapshot()]


def test_fault_rate_is_honoured_and_reproducible(emulator, api_session):
    runs = []
    for seed in (11, 11, 12):
        server = emulator(seed=seed, fault_rate=0.25)
        runs.append(_statuses(api_session, server.url, 200))
    first, same_seed, other_seed = runs
    assert first == same_seed
    assert first != other_seed
    faults = [status for status in first if status != 200]
    assert 0.15 <= len(faults) / len(first) <= 0.35
    assert set(faults) <= set(READ_FAULTS)
    assert len(set(faults)) >= 3  # a mix, not one kind


def test_injected_answers_have_hubspot_bodies(emulator, api_session):
    server = emulator(seed=3, fault_rate=1.0)
    seen: dict[int, dict[str, object]] = {}
    for _ in range(60):
        response = api_session.get(f"{server.url}{PROPERTIES}")
        seen.setdefault(response.status_code, response.json())
        assert "Retry-After" not in response.headers
    assert set(seen) == set(READ_FAULTS)
    assert seen[429]["policyName"] == "TEN_SECONDLY_ROLLING"
    assert seen[429]["errorType"] == "RATE_LIMIT"
    for status in (502, 503, 504):
        assert seen[status]["status"] == "error"
        assert seen[status]["correlationId"]
    assert server.stats()["injected_faults"] == 60


def test_writes_can_meet_423_and_are_not_applied(emulator, api_session):
    server = emulator(tickets=1, seed=5)
    body = _new_ticket(api_session, server.url, "never stored")
    faulty = emulator(portal=server.portal, seed=5, fault_rate=1.0)
    statuses = Counter(
        api_session.post(f"{faulty.url}{TICKETS}", json=body).status_code for _ in range(40)
    )
    assert set(statuses) <= set(WRITE_FAULTS)
    assert statuses[423] > 0
    assert "never stored" not in _subjects(server)


def test_dropped_requests_get_no_answer_and_apply_nothing(emulator, api_session):
    server = emulator(tickets=1, seed=2)
    body = _new_ticket(api_session, server.url, "dropped on the floor")
    dropping = emulator(portal=server.portal, drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api_session.get(f"{dropping.url}{PROPERTIES}")
    with pytest.raises(requests.ConnectionError):
        api_session.post(f"{dropping.url}{TICKETS}", json=body)
    assert "dropped on the floor" not in _subjects(server)
    stats = dropping.stats()
    assert stats["dropped"] == 2
    assert stats["by_route"]["POST tickets.create"] == {"dropped": 1}


def test_apply_then_drop_applies_the_write(emulator, api_session):
    server = emulator(tickets=1, seed=2)
    body = _new_ticket(api_session, server.url, "applied but unanswered")
    flaky = emulator(portal=server.portal, apply_then_drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api_session.post(f"{flaky.url}{TICKETS}", json=body)
    assert _subjects(server).count("applied but unanswered") == 1
    # Reads, searches and batch reads are never applied-then-dropped.
    assert api_session.get(f"{flaky.url}{TICKETS}").status_code == 200
    assert api_session.post(f"{flaky.url}{TICKETS}/search", json={}).status_code == 200
    assert flaky.stats()["applied_then_dropped"] == 1


def test_drop_rate_share(emulator):
    server = emulator(seed=4, drop_rate=0.3)
    dropped = 0
    with requests.Session() as session:
        session.headers["Authorization"] = "Bearer emulator-token"
        for _ in range(100):
            try:
                session.get(f"{server.url}{PROPERTIES}")
            except requests.ConnectionError:
                dropped += 1
    assert 15 <= dropped <= 45
    assert server.stats()["dropped"] == dropped


def test_latency_overlaps_across_connections(emulator):
    # Four requests in flight at once are held by their latency together, not one by one.
    server = emulator(latency_ms=300)
    barrier = threading.Barrier(4)

    def call() -> None:
        barrier.wait()
        requests.get(
            f"{server.url}{PROPERTIES}",
            headers={"Authorization": "Bearer emulator-token"},
            timeout=5,
        )

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = server.stats()
    assert stats["delayed"] == 4
    assert stats["delayed_at_once"] == 4


def test_emulator_endpoints_are_never_faulted(emulator):
    server = emulator(drop_rate=1.0, latency_ms=1000)
    response = requests.get(f"{server.url}/_emulator/health", timeout=5)
    assert response.status_code == 200
    stats = server.stats()
    assert (stats["delayed"], stats["dropped"], stats["injected_faults"]) == (0, 0, 0)


def test_plans_repeat_for_the_same_seed():
    def plans(seed: int) -> list[object]:
        injector = FaultInjector(
            seed=seed,
            latency_ms=10,
            jitter_ms=5,
            fault_rate=0.2,
            drop_rate=0.1,
            apply_then_drop_rate=0.3,
        )
        return [injector.plan(write=index % 2 == 0) for index in range(200)]

    assert plans(1) == plans(1)
    assert plans(1) != plans(2)
    delays = [plan.delay_s for plan in plans(1)]  # type: ignore[attr-defined]
    assert all(0.005 <= delay <= 0.015 for delay in delays)
    assert min(delays) < 0.008, "jitter shortens some answers"
    assert max(delays) > 0.012, "and lengthens others"


def test_faults_can_be_limited_to_some_paths(emulator, api_session):
    deals = "/crm/v4/associations/tickets/deals/batch/read"
    contacts = "/crm/v4/associations/tickets/contacts/batch/read"
    server = emulator(tickets=5, seed=6, fault_rate=1.0, fault_paths=("*/tickets/deals/*",))
    body = {"inputs": [{"id": ticket["id"]} for ticket in server.portal.snapshot()]}

    faulted = [api_session.post(f"{server.url}{deals}", json=body).status_code for _ in range(20)]
    answered = [
        api_session.post(f"{server.url}{contacts}", json=body).status_code for _ in range(20)
    ]
    answered.append(api_session.get(f"{server.url}{PROPERTIES}").status_code)

    assert set(faulted) <= set(READ_FAULTS)
    assert set(answered) <= {200, 207}
    assert server.stats()["injected_faults"] == len(faulted)


def test_faults_can_answer_with_a_chosen_status(emulator, api_session):
    server = emulator(seed=7, fault_rate=1.0, fault_statuses=(403,))
    answers = [api_session.get(f"{server.url}{PROPERTIES}") for _ in range(5)]
    assert {answer.status_code for answer in answers} == {403}
    assert answers[0].json()["category"] == "MISSING_SCOPES"


def test_the_fault_flags_repeat():
    args = build_parser().parse_args(
        ["--fault-path", "/a/*", "--fault-path", "*/deals/*", "--fault-status", "403"]
    )
    config = config_from_args(args)
    assert (config.fault_paths, config.fault_statuses) == (("/a/*", "*/deals/*"), (403,))


@pytest.mark.parametrize("value", ["200", "abc"], ids=["success", "word"])
def test_a_fault_status_is_an_error_status(capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--fault-status", value])
    assert exit_info.value.code == 2
    assert "--fault-status" in capsys.readouterr().err
