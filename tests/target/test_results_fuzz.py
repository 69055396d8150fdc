"""Property-based: every record read has exactly one line in the results file (or the plan)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_hubspot_tickets.results import ACTIONS

KEY = "external_ticket_id"
STAGES = ["New", "1034562872", "Nowhere"]


@st.composite
def _record(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["create", "update", "upsert", "archive", "links", "bad"]))
    record: dict[str, Any] = {}
    if kind in ("update", "archive", "links"):
        record["id"] = draw(st.sampled_from(ids))
    if kind == "upsert":
        record[KEY] = draw(st.sampled_from(["K-1", "K-2", "K-3"]))
    if kind == "archive":
        record["archived"] = True
    if kind == "links":
        record["associations"] = []
    if kind in ("create", "upsert", "update"):
        record["subject"] = draw(st.sampled_from(["one", "two", "three"]))
        record["hs_ticket_priority"] = draw(st.sampled_from(["LOW", "HIGH", None]))
    if kind in ("create", "upsert"):
        record["hs_pipeline_stage"] = draw(st.sampled_from(STAGES))
    if kind == "bad":
        record["no_such_property"] = 1
    return record


def test_every_record_has_exactly_one_result_line(
    emulator, singer, target_config, run_target, tmp_path
) -> None:
    server = emulator(tickets=20, seed=41)
    ids = [*(t["id"] for t in server.portal.snapshot()[:6]), "999999999"]
    build = singer(server)
    runs = iter(range(10_000))

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        records=st.lists(_record(ids), min_size=1, max_size=25),
        dry=st.booleans(),
        batch=st.sampled_from([2, 7, 100]),
        states=st.sets(st.integers(0, 25), max_size=3),
    )
    def check(records: list[dict[str, Any]], dry: bool, batch: int, states: set[int]) -> None:
        path = tmp_path / f"lines-{next(runs)}.jsonl"
        lines = [build.schema()]
        for n, record in enumerate(records):
            if n in states:
                lines.append(build.state({"n": n}))
            lines.append(build.record(record))
        config = target_config(
            server,
            id_property=KEY,
            replace_associations=True,
            batch_size_rows=batch,
            dry_run=dry,
            **{"plan_path" if dry else "results_path": str(path)},
        )
        run = run_target(config, lines)
        written = [json.loads(line) for line in Path(path).read_text().splitlines()]
        positions = Counter(line["position"] for line in written)
        assert positions == Counter(range(1, len(records) + 1))
        counted = Counter(ACTIONS[line["action"]] for line in written)
        assert {k: v for k, v in counted.items() if v} == {
            k: v
            for k, v in run.summary.items()
            if v and k not in ("received", "associations_added", "associations_removed")
        }
        rejected = {line["position"] for line in written if line["action"] == "rejected"}
        assert all(line["reason"] for line in written if line["position"] in rejected)

    check()
