"""Write tickets through target-hubspot-tickets, against a one-request-per-record baseline.

No published Singer target writes HubSpot tickets through the batch endpoints, so the
comparison is a baseline implemented here with plain `requests`: one create (POST) or update
(PATCH) per record, one at a time, waiting a second on 429. It is labelled as a baseline
everywhere it is printed. Both meet a fresh emulator with the same scenario; half the records
create tickets, half update seeded ones.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from benchmarks.connectors import OUR_BIN, base_env, last_error
from benchmarks.emulator import EmulatorProcess, Scenario
from benchmarks.measure import run_measured
from hubspot_api.config import LEGACY_API_VERSION
from hubspot_api.paths import Call, path_for

_LIST_PAGE = 100  # HubSpot's largest list page
_BASELINE_429_WAIT_S = 1.0
_WINDOW_S = 10.0


@dataclass
class WriteRow:
    """One writer's outcome."""

    label: str
    records: int = 0
    status: str = "ok"
    wall_s: float = 0.0
    cpu_s: float | None = None
    max_rss_mib: float | None = None
    requests: int = 0
    throttled: int = 0
    created: int = 0
    expected_created: int = 0
    not_ok: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the writer finished."""
        return self.status == "ok"


def _existing(emulator: EmulatorProcess, count: int) -> tuple[list[str], dict[str, str]]:
    """Ids of `count` seeded tickets and one ticket's pipeline properties (for creates)."""
    ids: list[str] = []
    sample: dict[str, str] = {}
    after: str | None = None
    path = path_for(Call.LIST_TICKETS, LEGACY_API_VERSION)
    while len(ids) < count:
        query = f"?limit={_LIST_PAGE}&properties=hs_pipeline,hs_pipeline_stage"
        if after:
            query += f"&after={after}"
        request = urllib.request.Request(
            emulator.url + path + query, headers={"Authorization": f"Bearer {emulator.token}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
        for ticket in page["results"]:
            ids.append(ticket["id"])
            if not sample:
                sample = {
                    k: v for k, v in ticket["properties"].items() if k.startswith("hs_pipeline")
                }
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
    return ids[:count], sample


def _records(count: int, ids: list[str], pipeline: dict[str, str]) -> list[dict[str, Any]]:
    creates = count - count // 2
    records: list[dict[str, Any]] = [
        {"subject": f"bench write {i}", "content": f"body {i}", **pipeline} for i in range(creates)
    ]
    records += [{"id": ticket_id, "hs_ticket_priority": "HIGH"} for ticket_id in ids]
    return records


def _counts(stats: dict[str, Any]) -> tuple[int, int, dict[str, int]]:
    not_ok: dict[str, int] = {}
    for route, statuses in stats.get("by_route", {}).items():
        for status, n in statuses.items():
            if not status.startswith("2"):
                not_ok[f"{route} {status}"] = n
    return int(stats.get("requests", 0)), int(stats.get("rate_limited", 0)), not_ok


def run_target(scenario: Scenario, count: int, timeout_s: float) -> WriteRow:
    """Pipe `count` records into target-hubspot-tickets as its console script."""
    row = WriteRow("target-hubspot-tickets (ours)", records=count)
    with EmulatorProcess(scenario.arguments()) as emulator, tempfile.TemporaryDirectory() as tmp:
        ids, pipeline = _existing(emulator, count // 2)
        records = _records(count, ids, pipeline)
        row.expected_created = count - len(ids)
        work = Path(tmp)
        schema = {"type": "object", "properties": {}, "additionalProperties": True}
        lines = [json.dumps({"type": "SCHEMA", "stream": "tickets", "schema": schema,
                             "key_properties": []})]  # fmt: skip
        lines += [json.dumps({"type": "RECORD", "stream": "tickets", "record": r}) for r in records]
        (work / "input.jsonl").write_text("\n".join(lines) + "\n")
        config = {
            "api_url": emulator.url,
            "access_token": emulator.token,
            "rejects_path": str(work / "rejects.jsonl"),
            "max_rejects": count,
            # Plain batch creates, as the connectors compared make them.
            "allow_unkeyed_creates": True,
        }
        (work / "config.json").write_text(json.dumps(config))
        before = emulator.active_tickets()
        if len(ids) > _LIST_PAGE * 10:
            time.sleep(_WINDOW_S)  # the listing's calls leave the rolling window first
        emulator.reset_stats()
        run = run_measured(
            [str(OUR_BIN / "target-hubspot-tickets"), "--config", str(work / "config.json")],
            env=base_env(emulator.url, redirect=False),
            cwd=work,
            stdin_path=work / "input.jsonl",
            timeout_s=timeout_s,
        )
        stats = emulator.stats()
        row.created = emulator.active_tickets() - before
    row.wall_s, row.cpu_s, row.max_rss_mib = run.wall_s, run.cpu_s, run.max_rss_mib
    row.requests, row.throttled, row.not_ok = _counts(stats)
    if run.returncode != 0:
        row.status = f"failed (exit {run.returncode}): {last_error(run.stderr_tail)}"
    return row


def run_baseline(scenario: Scenario, count: int) -> WriteRow:
    """One request per record with plain `requests`, sequential (a baseline, not a peer)."""
    row = WriteRow("one request per record (baseline)", records=count)
    with EmulatorProcess(scenario.arguments()) as emulator, requests.Session() as session:
        ids, pipeline = _existing(emulator, count // 2)
        records = _records(count, ids, pipeline)
        row.expected_created = count - len(ids)
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        create = emulator.url + path_for(Call.CREATE_TICKET, LEGACY_API_VERSION)
        before = emulator.active_tickets()
        emulator.reset_stats()
        started, cpu = time.perf_counter(), time.process_time()
        for record in records:
            ticket_id = record.get("id")
            properties = {k: v for k, v in record.items() if k != "id"}
            while True:
                if ticket_id is None:
                    answer = session.post(create, json={"properties": properties}, timeout=60)
                else:
                    url = emulator.url + path_for(
                        Call.UPDATE_TICKET, LEGACY_API_VERSION, ticket_id=ticket_id
                    )
                    answer = session.patch(url, json={"properties": properties}, timeout=60)
                if answer.status_code != 429:
                    break
                time.sleep(_BASELINE_429_WAIT_S)
        row.wall_s = time.perf_counter() - started
        row.cpu_s = time.process_time() - cpu
        stats = emulator.stats()
        row.created = emulator.active_tickets() - before
    row.requests, row.throttled, row.not_ok = _counts(stats)
    return row


def write_table(rows: list[WriteRow]) -> str:
    """The write comparison as a table, with the baseline's numbers as multiples of ours."""
    from benchmarks.report import table  # noqa: PLC0415 - report imports this module's peers

    ours = next((r for r in rows if r.label.endswith("(ours)") and r.ok), None)
    headers = ["writer", "records", "wall s", "records / s", "requests", "429s", "created",
               "vs ours (records / s)"]  # fmt: skip
    body = []
    for row in rows:
        if not row.ok:
            body.append([row.label, f"{row.records:,}", "-", "-", "-", "-", "-", "-"])
            continue
        ratio = (
            f"{ours.records / ours.wall_s / (row.records / row.wall_s):.2f}x"
            if ours and row is not ours
            else "-"
        )
        body.append(
            [
                row.label,
                f"{row.records:,}",
                f"{row.wall_s:.1f}",
                f"{row.records / row.wall_s:.0f}",
                f"{row.requests:,}",
                f"{row.throttled:,}",
                f"{row.created:,}/{row.expected_created:,}",
                ratio,
            ]
        )
    return table(headers, body)
