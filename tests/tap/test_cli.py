"""The installed `tap-hubspot-tickets` command, run as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from hubspot_emulator.config import DEFAULT_TOKEN

STREAMS = {
    "tickets",
    "ticket_property_history",
    "ticket_associations",
    "ticket_pipelines",
    "ticket_pipeline_stages",
    "ticket_properties",
}


def _command() -> str:
    # The script sits beside the interpreter running the tests (the project's venv).
    beside = Path(sys.executable).parent / "tap-hubspot-tickets"
    found = str(beside) if beside.exists() else shutil.which("tap-hubspot-tickets")
    assert found, "install the project (pip install -e .) to get the console script"
    return found


def test_about_lists_capabilities_and_settings():
    done = subprocess.run(
        [_command(), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    about = json.loads(done.stdout)
    assert about["version"] == "0.1.0"
    assert {"discover", "catalog", "state", "stream-maps", "schema-flattening"} <= set(
        about["capabilities"]
    )
    settings = set(about["settings"]["properties"])
    assert {
        "api_url",
        "access_token",
        "start_date",
        "history_properties",
        "associations",
        "search_lag_margin_seconds",
    } <= settings


def test_discover_reads_custom_properties(emulator, tmp_path):
    server = emulator(tickets=5, seed=1)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN}))
    done = subprocess.run(
        [_command(), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    catalog = json.loads(done.stdout)
    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(streams) == STREAMS
    tickets = streams["tickets"]["schema"]["properties"]
    assert tickets["customer_tier"]["type"] == ["string", "null"]
    assert tickets["estimated_effort_hours"]["type"] == ["number", "null"]
    assert tickets["is_escalated"]["type"] == ["boolean", "null"]
    assert streams["tickets"]["key_properties"] == ["id"]
    assert streams["ticket_pipeline_stages"]["key_properties"] == ["pipeline_id", "stage_id"]


def test_history_properties_none_of_which_exist_name_the_closest_each(emulator, tmp_path):
    server = emulator(tickets=2, seed=1)
    env = {
        **os.environ,
        "TAP_HUBSPOT_TICKETS_API_URL": server.url,
        "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": DEFAULT_TOKEN,
        "TAP_HUBSPOT_TICKETS_HISTORY_PROPERTIES": '["hs_pipeline_stagee", "zzz"]',
    }
    done = subprocess.run(
        [_command(), "--config", "ENV"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("tap-hubspot-tickets: error:")]
    assert errors == [
        "tap-hubspot-tickets: error: none of history_properties is a ticket property of this "
        "portal, so ticket_property_history would be empty: 'hs_pipeline_stagee' (did you mean "
        "'hs_pipeline_stage'?), 'zzz'; fix the setting or deselect the stream"
    ]
