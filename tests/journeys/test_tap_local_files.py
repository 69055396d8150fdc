"""The files the tap writes, as another local user could leave them: budget file and report.

Every process of a user that reaches one portal with one app books its calls in one file under
`$XDG_CACHE_HOME/hubspot-tickets-connectors/rate-limits` (`hubspot_api.sharedbudget`). These
journeys run the tap's real command line with that folder prepared as an attacker (or an
accident) would leave it: a link in place of the file, a folder others may write, a pause
crafted ten minutes ahead. The run must read everything, write nothing through the link, and
say what it refused in one warning; a crafted pause must not hold it longer than HubSpot's own
window, and the wait is said. A link in place of the run report is refused before anything
is read.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from hubspot_api.config import HubSpotSettings
from hubspot_api.ratelimit import credential_fingerprint
from hubspot_api.sharedbudget import APP_DIR, budget_path

pytestmark = pytest.mark.journeys

TICKETS = 200
# Far longer than a run with a pause cut to HubSpot's window takes, far shorter than the
# crafted pause: only a run that waits the pause out runs into it.
HANG_BOUND_S = 240
CRAFTED_AHEAD_S = 600


@pytest.fixture
def budget_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the budgets at a cache of this test's own; return the file a server's run uses."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def locate(server: Any) -> Path:
        settings = HubSpotSettings.from_config(
            {"api_url": server.url, "access_token": server.config.token}
        )
        folder = tmp_path / "cache" / APP_DIR / "rate-limits"
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        fingerprint = credential_fingerprint(settings.access_token)
        return budget_path(folder, settings.api_url, fingerprint)

    return locate


def _tickets_read(run: Any) -> int:
    return len({r["id"] for r in run.records("tickets")})


def test_a_link_planted_in_place_of_the_budget_file_is_never_written_through(
    emulator: Any, tap_cli: Any, budget_file: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=TICKETS, seed=71)
    path = budget_file(server)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    path.symlink_to(victim)
    run = tap_cli(server, timeout=HANG_BOUND_S)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _tickets_read(run) == TICKETS
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert path.is_symlink()
    warned = [line for line in run.stderr.splitlines() if "not shared" in line]
    assert len(warned) == 1, run.stderr[-2000:]
    assert "symbolic link" in warned[0]


def test_a_budget_folder_others_can_write_is_refused_and_its_file_not_read(
    emulator: Any, tap_cli: Any, budget_file: Any
) -> None:
    server = emulator(tickets=TICKETS, seed=72)
    path = budget_file(server)
    crafted = {"standard": {"starts": [], "blocked_until": time.time() + CRAFTED_AHEAD_S}}
    path.write_text(json.dumps(crafted), encoding="utf-8")
    path.chmod(0o600)
    os.chmod(path.parent, 0o777)
    run = tap_cli(server, timeout=HANG_BOUND_S)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _tickets_read(run) == TICKETS
    warned = [line for line in run.stderr.splitlines() if "not shared" in line]
    assert len(warned) == 1, run.stderr[-2000:]
    assert "writable by other users" in warned[0]
    # Refused, so neither honoured nor changed.
    assert json.loads(path.read_text(encoding="utf-8")) == crafted


def test_a_pause_crafted_far_ahead_is_cut_to_hubspots_window_and_the_wait_is_said(
    emulator: Any, tap_cli: Any, budget_file: Any
) -> None:
    server = emulator(tickets=TICKETS, seed=73)
    path = budget_file(server)
    crafted = {"standard": {"starts": [], "blocked_until": time.time() + CRAFTED_AHEAD_S}}
    path.write_text(json.dumps(crafted), encoding="utf-8")
    path.chmod(0o600)
    run = tap_cli(server, timeout=HANG_BOUND_S)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _tickets_read(run) == TICKETS
    lines = run.stderr.splitlines()
    cut = [line for line in lines if "holds more than HubSpot's windows allow" in line]
    assert len(cut) == 1, run.stderr[-2000:]
    assert "a pause of" in cut[0], cut[0]
    assert any("waiting" in line and "rate limit" in line for line in lines), run.stderr[-2000:]


def test_a_run_report_path_that_is_a_link_is_refused_before_anything_is_read(
    emulator: Any, tap_cli: Any, tmp_path: Path
) -> None:
    server = emulator(tickets=5, seed=74)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    run = tap_cli(server, run_report_path=str(link))
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("tap-hubspot-tickets: error: run_report_path"), line
    assert str(link) in line
    assert "symbolic link" in line
    assert run.stdout == b""
    assert victim.read_text(encoding="utf-8") == "keep me\n"


def _unwritable_report(tmp_path: Path, where: str) -> Path:
    """Return a report path that cannot be written, even by root (the tests run as root)."""
    if where == "no permission":
        return Path("/sys/hubspot-tickets-run-report.json")  # sysfs: EACCES, root included
    plain = tmp_path / "plain-file"
    plain.write_text("not a folder\n", encoding="utf-8")
    return plain / "report.json"  # its folder is a regular file: ENOTDIR


@pytest.mark.parametrize("where", ["no permission", "folder is a file"])
def test_a_run_report_path_that_cannot_be_written_stops_the_run_before_anything_is_read(
    emulator: Any, tap_cli: Any, tmp_path: Path, where: str
) -> None:
    server = emulator(tickets=5, seed=75)
    path = _unwritable_report(tmp_path, where)
    run = tap_cli(server, run_report_path=str(path))
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("tap-hubspot-tickets: error: "), line
    assert "run_report_path" in line
    assert str(path) in line
    assert ("Permission denied" if where == "no permission" else "a file is in its way") in line
    assert run.stdout == b""
    assert not path.exists()
