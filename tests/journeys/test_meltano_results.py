"""The recipe for the results file (docs/meltano.md): tap-jsonl reads it into target-postgres.

The target writes its results file; `meltano invoke tap-jsonl` (the project's plugin, pointed
at that file) is piped into `meltano invoke target-postgres`, and the created ids join back to
the rows that made them in PostgreSQL. The two plugins come from the session's two Meltano
installations (`journey_meltano`, `warehouse_meltano`), so nothing is installed for this test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.journeys

KEY = "external_ticket_id"
PIPE_TIMEOUT_S = 300


def _meltano_env(project: Any, where: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MELTANO_SYS_DIR_ROOT": str(project.sys_dir),
        "MELTANO_ENVIRONMENT": "emulator",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        **project.database(where),
        **extra,
    }


def test_the_results_file_loads_into_postgres_and_joins_created_ids_back(  # noqa: PLR0917 - fixtures
    emulator: Any,
    singer_input: Any,
    target_cli: Any,
    journey_meltano: Any,
    warehouse_meltano: Any,
    postgres: Any,
    tmp_path: Path,
) -> None:
    server = emulator(tickets=5, seed=71)
    existing = next(t for t in server.portal.snapshot() if not t["archived"])
    rows = [
        {"subject": "from row 1", "hs_pipeline_stage": "New", KEY: "ROW-1"},
        {"subject": "from row 2", "hs_pipeline_stage": "New", KEY: "ROW-2"},
        {"subject": "broken row", "hs_pipeline_stage": "Nowhere", KEY: "ROW-3"},
        {"id": existing["id"], "subject": "an update"},
    ]
    build = singer_input(server)
    results = tmp_path / "results.jsonl"
    run = target_cli(
        server,
        [build.schema(), *(build.record(r) for r in rows)],
        source_id_property=KEY,
        results_path=str(results),
        max_rejects=1,
    )
    run.assert_clean_success()
    (tmp_path / "tap").mkdir()
    (tmp_path / "target").mkdir()
    tap_env = _meltano_env(
        journey_meltano,
        tmp_path / "tap",
        TAP_JSONL_PATH=str(results),
        TAP_JSONL_STREAM_NAME="writeback_results",
        TAP_JSONL_PRIMARY_KEYS=json.dumps(["run_id", "position"]),
    )
    target_env = _meltano_env(
        warehouse_meltano,
        tmp_path / "target",
        TARGET_POSTGRES_SQLALCHEMY_URL=(
            f"postgresql+psycopg://{postgres.user}@{postgres.host}:{postgres.port}/"
            f"{postgres.database}"
        ),
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA="writeback_results",
    )
    meltano = str(Path(sys.executable).parent / "meltano")
    root = Path(__file__).resolve().parents[2]
    with subprocess.Popen(
        [meltano, "invoke", "tap-jsonl"], cwd=root, env=tap_env, stdout=subprocess.PIPE
    ) as tap:
        loaded = subprocess.run(
            [meltano, "invoke", "target-postgres"],
            cwd=root,
            env=target_env,
            stdin=tap.stdout,
            capture_output=True,
            text=True,
            timeout=PIPE_TIMEOUT_S,
            check=False,
        )
        assert tap.stdout is not None
        tap.stdout.close()
        assert tap.wait(timeout=PIPE_TIMEOUT_S) == 0
    assert loaded.returncode == 0, loaded.stderr[-3000:]

    with psycopg.connect(postgres.url) as connection:
        found = connection.execute(
            "select position, action, hubspot_id, source_id, category "
            "from writeback_results.writeback_results order by position"
        ).fetchall()
    assert [(p, a) for p, a, *_ in found] == [
        (1, "create"),
        (2, "create"),
        (3, "rejected"),
        (4, "update"),
    ]
    tickets = {t["id"]: t for t in server.portal.snapshot()}
    for _, action, hubspot_id, source_id, _ in found[:2]:
        assert action == "create"
        assert tickets[hubspot_id]["properties"][KEY] == source_id
    assert found[2][4] == "VALIDATION"
    assert found[3][2] == existing["id"]
