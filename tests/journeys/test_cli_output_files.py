"""The target's output files: full disks, links planted in their place, and who may read them.

A disk is filled without mounting one: the command runs under a file size limit
(`RLIMIT_FSIZE`, set in the child before it starts; Python ignores SIGXFSZ, so a write past the
limit fails with EFBIG as a full disk fails with ENOSPC), or an output path is `/dev/full`,
where every write fails with ENOSPC. Either way the run must stop before its next write to
HubSpot with one line naming the file, hand back no state that covers an outcome it could not
record, and a run fed the input after its last state must create no ticket twice (the
emulator's own store is the truth).
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.journeys.conftest import CLI_TIMEOUT_S, CLIRun, strict_json_lines

pytestmark = pytest.mark.journeys

RECORDS = 1_500
STATE_EVERY = 50
NEW_STAGE = "1034562871"
PREFIX = "disk journey"
# Every few records one that validation rejects (an unknown stage): the rejects file grows.
REJECT_EVERY = 3
# Small enough that the run cannot record every outcome, large enough for a few batches'.
FILE_SIZE_LIMIT = {"results": 190_000, "rejects": 180_000}
# Two HubSpot batches of creates in flight at once for each batch of the input.
BATCH_SIZE_ROWS = 200


def _subject(n: int) -> str:
    return f"{PREFIX} {n:04d}"


def _input(singer: Any, start: int, *, with_rejects: bool) -> bytes:
    """Return the creates from `start` on, a STATE `{"records": n}` after every few."""
    lines = [singer.schema()]
    for n in range(start, RECORDS):
        bad = with_rejects and n % REJECT_EVERY == 0
        stage = "no such stage" if bad else NEW_STAGE
        record = {"subject": _subject(n), "hs_pipeline_stage": stage, "content": "x" * 200}
        lines.append(singer.record(record))
        if (n + 1) % STATE_EVERY == 0:
            lines.append(singer.state({"records": n + 1}))
    return bytes(singer.text(lines))


def _config(
    target_cli: Any, server: Any, *, results: bool = False, **settings: Any
) -> tuple[Path, dict[str, Any]]:
    """Write a config (with `results_path` in the run's directory, if `results`)."""
    config_path, config = target_cli.config_file(server, **settings)
    if results:
        config["results_path"] = str(config_path.parent / "results.jsonl")
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return config_path, config


def _run(
    target_cli: Any, config_path: Path, config: dict[str, Any], data: bytes, limit: int | None
) -> CLIRun:
    def limited() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        target_cli.command(config_path),
        input=data,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
        cwd=config_path.parent,
        preexec_fn=limited,
    )
    return CLIRun(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"), config)


def _made(server: Any) -> Counter[str]:
    subjects = (str(t["properties"].get("subject") or "") for t in server.portal.snapshot())
    return Counter(s for s in subjects if s.startswith(PREFIX))


@pytest.mark.parametrize("full", ["results", "rejects"], ids=["results-full", "rejects-full"])
def test_a_full_outcome_file_stops_the_run_and_a_rerun_from_its_state_duplicates_nothing(
    emulator: Any, singer_input: Any, target_cli: Any, full: str
) -> None:
    server = emulator(tickets=5, seed=61)
    singer = singer_input(server)
    with_rejects = full == "rejects"
    config_path, config = _config(
        target_cli, server, results=full == "results", batch_size_rows=BATCH_SIZE_ROWS
    )
    data = _input(singer, 0, with_rejects=with_rejects)
    first = _run(target_cli, config_path, config, data, FILE_SIZE_LIMIT[full])
    first.assert_one_line_error(f"{full}_path", str(config[f"{full}_path"]))
    recorded_file = Path(config[f"{full}_path"])
    # Whole lines only: a line the limit cut short was taken back.
    recorded = strict_json_lines(recorded_file.read_bytes(), f"{full} file")
    states = first.states
    start = states[-1]["records"] if states else 0
    assert 0 < start < RECORDS, f"stopped after {start} records: adjust FILE_SIZE_LIMIT"
    if full == "results":
        # Every record the last state covers has its line.
        assert {line["position"] for line in recorded} >= set(range(1, start + 1))
    summary = first.summary
    assert summary is not None
    assert summary["status"] == "failed"

    again = _run(
        target_cli, config_path, config, _input(singer, start, with_rejects=with_rejects), None
    )
    assert again.returncode == 0, again.describe()
    made = _made(server)
    twice = sorted(s for s, n in made.items() if n > 1)
    assert not twice, f"{len(twice)} tickets created twice, e.g. {twice[:3]}"
    expected = {_subject(n) for n in range(RECORDS) if not (with_rejects and n % REJECT_EVERY == 0)}
    assert set(made) == expected


@pytest.mark.parametrize("full", ["results", "rejects"], ids=["results-full", "rejects-full"])
def test_an_outcome_file_on_a_device_always_full_stops_the_run_before_its_next_write(
    emulator: Any, singer_input: Any, target_cli: Any, full: str
) -> None:
    server = emulator(tickets=5, seed=62)
    singer = singer_input(server)
    config_path, config = target_cli.config_file(
        server, batch_size_rows=100, max_concurrency=1, **{f"{full}_path": "/dev/full"}
    )
    data = _input(singer, 0, with_rejects=full == "rejects")
    run = _run(target_cli, config_path, config, data, None)
    run.assert_one_line_error(f"{full}_path /dev/full", "ENOSPC")
    # The batch whose outcomes could not be recorded was the last one sent.
    assert sum(_made(server).values()) <= 100
    assert run.states == []  # no outcome was recorded, so no state covers one
    assert run.summary is not None
    assert run.summary["status"] == "failed"


def test_writes_sent_before_their_outcome_could_be_recorded_may_have_been_written(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=12, seed=65)
    singer = singer_input(server)
    ids = sorted(t["id"] for t in server.portal.snapshot() if not t["archived"])[:10]
    lines = [singer.schema(key_properties=["id"])]
    lines += [singer.record({"id": i, "subject": f"{PREFIX} {i}"}) for i in ids]
    lines.append(singer.state({"records": len(ids)}))

    run = target_cli(server, lines, results_path="/dev/full")

    run.assert_one_line_error("results_path /dev/full", "ENOSPC")
    # HubSpot took the updates; the run could only not record that it did.
    subjects = {t["id"]: t["properties"].get("subject") for t in server.portal.snapshot()}
    assert [subjects[i] for i in ids] == [f"{PREFIX} {i}" for i in ids]
    assert run.states == []
    assert (
        f"{len(ids)} of {len(ids)} record(s) read have no outcome: their writes were sent "
        "before the run stopped, so they may have been written to HubSpot, but no state handed "
        "back covers them (a re-run from the last state emitted sends them again)"
    ) in run.stderr, run.describe()
    assert "the run stopped before they were written" not in run.stderr


def test_a_summary_path_that_cannot_be_written_is_refused_before_any_write(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=5, seed=63)
    singer = singer_input(server)
    config_path, config = target_cli.config_file(server)
    # No file may grow at all: the summary is the first file the run writes.
    run = _run(target_cli, config_path, config, _input(singer, 0, with_rejects=False), 0)
    run.assert_one_line_error("summary_path", str(config["summary_path"]), "EFBIG")
    assert not _made(server)


@pytest.mark.parametrize("setting", ["summary_path", "rejects_path", "results_path"])
def test_an_output_path_that_is_a_link_is_refused_before_any_write(
    emulator: Any, singer_input: Any, target_cli: Any, setting: str
) -> None:
    server = emulator(tickets=5, seed=64)
    singer = singer_input(server)
    config_path, config = _config(target_cli, server, results=True)
    victim = config_path.parent / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = config_path.parent / f"{setting}.planted"
    link.symlink_to(victim)
    config[setting] = str(link)
    config_path.write_text(json.dumps(config), encoding="utf-8")
    run = _run(target_cli, config_path, config, _input(singer, 0, with_rejects=True), None)
    run.assert_one_line_error(setting, str(link), "symbolic link")
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    assert link.is_symlink()
    assert not _made(server)


def test_files_holding_records_are_readable_by_their_owner_only(
    emulator: Any, singer_input: Any, target_cli: Any
) -> None:
    server = emulator(tickets=5, seed=65)
    singer = singer_input(server)
    config_path, config = _config(target_cli, server, results=True, batch_size_rows=100)
    old = os.umask(0o022)
    try:
        run = _run(target_cli, config_path, config, _input(singer, 540, with_rejects=True), None)
    finally:
        os.umask(old)
    assert run.returncode == 0, run.describe()
    for setting in ("results_path", "rejects_path", "summary_path"):
        mode = stat.S_IMODE(os.stat(config[setting]).st_mode)
        assert mode == 0o600, f"{setting} created with mode {mode:o}"
