"""Under injected faults every record lands exactly once: nothing lost, nothing duplicated."""

from __future__ import annotations

from collections import Counter

import pytest


def _creates(n: int, prefix: str) -> list[dict]:
    return [
        {"subject": f"{prefix} {i:04d}", "hs_pipeline_stage": "New", "content": f"body {i}"}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("extra", "emulator_extra"),
    [
        pytest.param({"source_id_property": "external_ticket_id"}, {}, id="source-id-upsert"),
        pytest.param({}, {"search_lag_ms": 300}, id="search-reconcile"),
        pytest.param(
            {"unknown_outcome_wait_s": 1.5},
            {"search_lag_ms": 300, "drop_rate": 0.2},
            id="search-reconcile-with-unapplied-drops",
        ),
        pytest.param(
            {"unknown_outcome_wait_s": 3},
            {
                "search_lag_ms": 1500,
                "fault_rate": 0.1,
                "drop_rate": 0.05,
                "latency_ms": 20,
                "jitter_ms": 15,
                "seed": 1,
            },
            id="every-fault-at-once-short-wait",
        ),
    ],
)
def test_creates_applied_then_dropped_are_not_duplicated(  # noqa: PLR0917 - fixtures + params
    emulator, singer, target_config, run_target, extra, emulator_extra
):
    server = emulator(**{"apply_then_drop_rate": 0.3, "seed": 11, **emulator_extra})
    records = _creates(250, "drop-after-apply")

    run = run_target(
        target_config(server, batch_size_rows=100, **extra), singer(server).lines(records)
    )

    assert run.error is None
    assert run.summary["created"] == 250, run.rejects
    assert run.summary["rejected"] == 0
    subjects = Counter(t["properties"]["subject"] for t in server.portal.snapshot())
    assert len(subjects) == 250
    assert set(subjects.values()) == {1}
    stats = server.stats()
    assert stats["applied_then_dropped"] + stats["dropped"] > 0
    if "source_id_property" not in extra:
        assert "Outcome of a create batch" in run.log


def test_faults_and_drops_on_every_kind_of_write(emulator, singer, target_config, run_target):
    server = emulator(tickets=120, seed=12, fault_rate=0.15, drop_rate=0.1, search_lag_ms=100)
    existing = [t for t in server.portal.snapshot() if not t["archived"]]
    to_update, to_archive = existing[:60], existing[60:100]
    untouched = existing[100:]
    assert untouched
    records = [
        *_creates(80, "faulty"),
        *({"id": t["id"], "hs_ticket_priority": "HIGH"} for t in to_update),
        *({"id": t["id"], "archived": True} for t in to_archive),
        *(
            {"external_ticket_id": f"UP-{i}", "subject": f"up {i}", "hs_pipeline_stage": "New"}
            for i in range(30)
        ),
        {"subject": "invalid", "hs_pipeline_stage": "Nowhere"},
    ]
    config = target_config(server, id_property="external_ticket_id", batch_size_rows=100)

    run = run_target(config, singer(server).lines(records))

    assert run.error is None
    assert run.summary["created"] == 80
    # Tickets whose priority is HIGH already are not written again (`current`).
    already = sum(t["properties"].get("hs_ticket_priority") == "HIGH" for t in to_update)
    assert run.summary["updated"] == 60 - already
    assert run.summary["unchanged"] == already
    assert run.summary["archived"] == 40
    assert run.summary["upserted"] == 30
    assert run.summary["rejected"] == 1
    assert run.summary["received"] == len(records)
    tickets = {t["id"]: t for t in server.portal.snapshot()}
    assert len(tickets) == len(server.portal.snapshot()) == 120 + 80 + 30
    assert all(tickets[t["id"]]["properties"]["hs_ticket_priority"] == "HIGH" for t in to_update)
    assert all(tickets[t["id"]]["archived"] for t in to_archive)
    assert not any(tickets[t["id"]]["archived"] for t in untouched)
    subjects = Counter(t["properties"]["subject"] for t in tickets.values())
    assert all(subjects[f"faulty {i:04d}"] == 1 for i in range(80))
    stats = server.stats()
    assert stats["injected_faults"] > 0
    assert stats["dropped"] > 0


def test_unknown_creates_are_found_past_a_first_page_of_look_alikes(
    emulator, singer, target_config, run_target
):
    # Every create shares its subject, so the search for the batches whose answers were lost
    # matches hundreds of tickets: the ones it must find lie past the first page of 200.
    server = emulator(apply_then_drop_rate=0.5, seed=4, search_lag_ms=50)
    records = [
        {"subject": "Same subject", "hs_pipeline_stage": "New", "content": f"body {i}"}
        for i in range(600)
    ]

    run = run_target(target_config(server, batch_size_rows=100), singer(server).lines(records))

    assert run.error is None
    assert run.summary["created"] == 600, run.rejects
    contents = Counter(t["properties"]["content"] for t in server.portal.snapshot())
    assert len(contents) == 600
    assert set(contents.values()) == {1}
    assert server.stats()["applied_then_dropped"] > 0
