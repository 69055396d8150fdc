"""docs/own-project.md, run as written: a Meltano project of one's own, outside the repository.

`meltano init`, both plugins added from their definitions and installed from the built wheel
(the doc's own command blocks, run by bash), the doc's `meltano.yml` additions merged in, then
a forward sync from the emulator into PostgreSQL, an incremental sync after changes in the
emulator, and write-backs from a file and from a table, each checked against the emulator.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import yaml

from hubspot_api.config import DEFAULT_API_URL
from hubspot_emulator.config import DEFAULT_TOKEN
from tap_hubspot_tickets.runtime import DEFAULT_HISTORY_PROPERTIES
from tests.install.conftest import uv_env

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "own-project.md"
BIN = Path(sys.executable).parent
MELTANO_TIMEOUT_S = 600
TICKETS = 60
SUPPORT_PIPELINE = "0"


def _blocks(language: str) -> list[str]:
    """Return the doc's fenced code blocks of one language ('' for plain command blocks)."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
                blocks.append((line[3:].strip(), current))
            else:
                current = None
        elif current is not None:
            current.append(line)
    return ["\n".join(lines) + "\n" for lang, lines in blocks if lang == language]


def _command_block(first_word: str) -> str:
    """Return the doc's command block whose first line starts with `first_word`."""
    (block,) = [b for b in _blocks("") if b.startswith(first_word)]
    return block


def _merge(project: dict[str, Any], extra: dict[str, Any]) -> None:
    """Merge the doc's `meltano.yml` additions into a project, as its reader would by hand."""
    for kind, plugins in extra.get("plugins", {}).items():
        declared = project.setdefault("plugins", {}).setdefault(kind, [])
        by_name = {plugin["name"]: plugin for plugin in declared}
        for plugin in plugins:
            if plugin["name"] not in by_name:
                declared.append(plugin)
                continue
            target = by_name[plugin["name"]]
            for key, value in plugin.items():
                if isinstance(value, dict) and isinstance(target.get(key), dict):
                    target[key].update(value)
                else:
                    target[key] = value
    for key in ("jobs", "schedules"):
        project.setdefault(key, []).extend(extra.get(key, []))


class OwnProject:
    """A Meltano project in a folder of its own, run with this environment's `meltano`."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base = base
        self.path = base / "my-project"
        self.env = env

    def bash(self, script: str, cwd: Path) -> str:
        """Run a doc's command block with bash, stopping at the first failing command."""
        return self._run(["bash", "-euo", "pipefail", "-c", script], cwd)

    def meltano(self, *args: str) -> str:
        return self._run(["meltano", *args], self.path)

    def _run(self, args: list[str], cwd: Path) -> str:
        try:
            done = subprocess.run(
                args,
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=MELTANO_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{' '.join(args)[:200]} ran over {MELTANO_TIMEOUT_S} s: {exc}")
        output = done.stdout + done.stderr
        if done.returncode != 0:
            tail = "\n".join(output.splitlines()[-40:])
            pytest.fail(f"{' '.join(args)[:300]} exited {done.returncode}:\n{tail}")
        return output


def _documented(command: str) -> str:
    """Fail unless `command` is one of the doc's command lines; return it."""
    lines = {line.split("  #")[0].strip() for block in _blocks("") for line in block.splitlines()}
    assert command in lines, f"{command!r} is not a command of {DOC.name}"
    return command


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def _truth(server: Any) -> dict[str, Any]:
    """Return what the warehouse must hold, from the emulator's own state."""
    snapshot = server.portal.snapshot()
    history = sum(
        len((t.get("propertiesWithHistory") or {}).get(name) or [])
        for t in snapshot
        for name in DEFAULT_HISTORY_PROPERTIES
    )
    pipelines = server.portal.list_pipelines()["results"]
    return {
        "tickets": {t["id"]: t for t in snapshot},
        "ticket_property_history": history,
        "ticket_pipelines": len(pipelines),
        "ticket_pipeline_stages": sum(len(p["stages"]) for p in pipelines),
    }


def _ticket(server: Any, ticket_id: str) -> dict[str, Any]:
    return {t["id"]: t for t in server.portal.snapshot()}[ticket_id]


@pytest.fixture
def own_project(
    distributions: Any, postgres: Any, tmp_path_factory: pytest.TempPathFactory
) -> OwnProject:
    """Create the project and install both plugins from the wheel, with the doc's commands."""
    base = tmp_path_factory.mktemp("own-meltano-project")
    assert ROOT not in base.parents, "the project must live outside the repository"
    env = {k: v for k, v in uv_env().items() if not k.startswith(("MELTANO_", "TAP_", "TARGET_"))}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "TARGET_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
            "TARGET_POSTGRES_SQLALCHEMY_URL": (
                f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/postgres"
            ),
            "TAP_POSTGRES_SQLALCHEMY_URL": (
                f"postgresql://postgres:trust@127.0.0.1:{postgres.port}/postgres"
            ),
            # The search-lag margin (300 s by default) only widens what the next run re-reads;
            # one second keeps the incremental run's reads to the changes made here.
            "TAP_HUBSPOT_TICKETS_SEARCH_LAG_MARGIN_SECONDS": "1",
        }
    )
    project = OwnProject(base, env)
    project.bash(_command_block("meltano init").replace("<checkout>", str(ROOT)), base)
    install = re.sub(r"/path/to/\S+?\.whl", str(distributions.wheel), _command_block("sed "))
    project.bash(install, project.path)
    # Installed from the wheel named in pip_url, not from a package index.
    installed = project.path / ".meltano" / "extractors" / "tap-hubspot-tickets" / "venv" / "bin"
    assert (installed / "tap-hubspot-tickets").exists()
    meltano_yml = project.path / "meltano.yml"
    config = yaml.safe_load(meltano_yml.read_text(encoding="utf-8"))
    for kind, name in (
        ("extractors", "tap-hubspot-tickets"),
        ("loaders", "target-hubspot-tickets"),
    ):
        (plugin,) = [p for p in config["plugins"][kind] if p["name"] == name]
        assert plugin["pip_url"] == str(distributions.wheel)
    assert "utilities" not in config["plugins"], "the documented `meltano add` adds a utility"
    for block in _blocks("yaml"):
        extra = yaml.safe_load(block)
        if "plugins" in extra:
            _merge(config, extra)
    meltano_yml.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    project.meltano("install")
    return project


def test_own_project_syncs_incrementally_and_writes_back(
    own_project: OwnProject, emulator: Any, postgres: Any
) -> None:
    server = emulator(tickets=TICKETS, seed=21)
    for plugin in ("tap-hubspot-tickets", "target-hubspot-tickets"):
        command = _documented(f"meltano config set {plugin} api_url {DEFAULT_API_URL}")
        own_project.meltano(*command.split()[1:-1], server.url)
    sync = _documented("meltano run tap-hubspot-tickets target-postgres").split()[1:]

    # Forward: everything the emulator holds lands in PostgreSQL.
    truth = _truth(server)
    own_project.meltano(*sync)
    ids = {row[0] for row in _rows(postgres.url, "SELECT id FROM hubspot.tickets")}
    assert ids == set(truth["tickets"])
    for table in ("ticket_property_history", "ticket_pipelines", "ticket_pipeline_stages"):
        count = _rows(postgres.url, f"SELECT count(*) FROM hubspot.{table}")[0][0]
        assert count == truth[table], table
    # Not selected in the doc: associations have a job of their own.
    tables = {r[0] for r in _rows(postgres.url, "SELECT tablename FROM pg_tables")}
    assert "ticket_associations" not in tables

    # Changes in HubSpot; the next run reads exactly those, from the state Meltano kept.
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    live = sorted(i for i, t in truth["tickets"].items() if not t.get("archived"))
    # A PATCH that changes nothing leaves a ticket unmodified, as HubSpot does.
    changed = [
        i for i in live if truth["tickets"][i]["properties"].get("hs_ticket_priority") != "URGENT"
    ][:3]
    for ticket_id in changed:
        requests.patch(
            f"{server.url}/crm/v3/objects/tickets/{ticket_id}",
            json={"properties": {"hs_ticket_priority": "URGENT"}},
            headers=headers,
            timeout=10,
        ).raise_for_status()
    pipeline = next(
        p for p in server.portal.list_pipelines()["results"] if p["id"] == SUPPORT_PIPELINE
    )
    stage = pipeline["stages"][0]["id"]
    created = requests.post(
        f"{server.url}/crm/v3/objects/tickets",
        json={
            "properties": {
                "subject": "Created in HubSpot",
                "hs_pipeline": SUPPORT_PIPELINE,
                "hs_pipeline_stage": stage,
            }
        },
        headers=headers,
        timeout=10,
    )
    created.raise_for_status()
    new_id = created.json()["id"]
    assert "dev:tap-hubspot-tickets-to-target-postgres" in own_project.meltano(
        *_documented("meltano state list").split()[1:]
    )
    time.sleep(1.5)  # past the tap's search-lag margin
    before = _rows(postgres.url, "SELECT max(_sdc_batched_at) FROM hubspot.tickets")[0][0]
    # As the job of the doc: the same extractor-loader pair, so the same state.
    own_project.meltano(*_documented("meltano run hubspot-to-postgres").split()[1:])
    reloaded = _rows(
        postgres.url,
        "SELECT id, hs_ticket_priority FROM hubspot.tickets "
        f"WHERE _sdc_batched_at > '{before.isoformat()}'",
    )
    assert sorted(r[0] for r in reloaded) == sorted([*changed, new_id])
    assert all(priority == "URGENT" for i, priority in reloaded if i in changed)
    assert _rows(postgres.url, "SELECT count(*) FROM hubspot.tickets")[0][0] == TICKETS + 1

    # Write-back from a file: an update and a create keyed by the row's own source id; the
    # same file sent again changes nothing more.
    export = own_project.path / "output" / "writeback" / "tickets.jsonl"
    export.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        # A blank cell, as a CSV export sends it: it must not clear the priority.
        {"id": changed[0], "subject": "Cleaned in the warehouse", "hs_ticket_priority": ""},
        {
            "subject": "Raised from the file",
            "hs_pipeline": SUPPORT_PIPELINE,
            "hs_pipeline_stage": stage,
            "source_row_id": "ROW-1",
        },
    ]
    export.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    writeback = _documented("meltano run writeback-file").split()[1:]
    for _ in range(2):
        own_project.meltano(*writeback)
        written = _ticket(server, changed[0])["properties"]
        assert written["subject"] == "Cleaned in the warehouse"
        assert written["hs_ticket_priority"] == "URGENT", "a blank cell cleared a value"
        from_file = [
            t for t in server.portal.snapshot() if t["properties"].get("source_row_id") == "ROW-1"
        ]
        assert len(from_file) == 1, "the file's create was made twice"
        assert from_file[0]["properties"]["subject"] == "Raised from the file"
    summary = json.loads((own_project.path / "output/writeback/summary.json").read_text())
    assert summary["rejected"] == 0, summary

    # Write-back from a table of the warehouse.
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS writeback CASCADE")
        conn.execute("CREATE SCHEMA writeback")
        conn.execute(
            "CREATE TABLE writeback.tickets AS SELECT id, subject || ' (from the table)' AS "
            "subject FROM hubspot.tickets WHERE NOT archived ORDER BY id DESC LIMIT 3"
        )
        conn.execute("ALTER TABLE writeback.tickets ADD PRIMARY KEY (id)")
        cleaned = dict(conn.execute("SELECT id, subject FROM writeback.tickets").fetchall())
    own_project.meltano(*_documented("meltano run writeback-table").split()[1:])
    for ticket_id, subject in cleaned.items():
        assert _ticket(server, ticket_id)["properties"]["subject"] == subject


def test_readme_section_uses_the_commands_of_the_doc() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it in your own Meltano project\n", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.split("  #")[0].strip()
        for line in section.splitlines()
        if line.startswith(("meltano ", "sed ", "export "))
    ]
    assert len(commands) >= 6, commands
    for command in commands:
        _documented(command)
