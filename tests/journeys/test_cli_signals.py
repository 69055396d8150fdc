"""SIGTERM and SIGINT stop both command lines with a non-zero status and their state written.

An orchestrator stops a run with a signal; exit 0 would record a partial sync as a success. The
tap stops before its next message, writes the STATE covering what it wrote, and exits
128 + the signal's number (143, 130); run again from that state, it reads the rest. The target
stops reading between two lines, settles what it read, hands back the state after it, and exits
the same way; fed the input after that state, it writes the rest, each record once.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from hubspot_emulator.config import DEFAULT_TOKEN
from tests.tap.conftest import Truth

pytestmark = pytest.mark.journeys

BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 120
SIGNALS = [
    pytest.param(signal.SIGTERM, id="SIGTERM"),
    pytest.param(signal.SIGINT, id="SIGINT"),
]


def _lines(stdout: IO[bytes], into: queue.Queue[bytes | None]) -> None:
    for line in stdout:
        into.put(line)
    into.put(None)


def _stopped_line(command: str, stderr: str, signum: int) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "Gracefully shutting down" not in stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith(f"{command}: stopped: ")]
    assert f"{signal.Signals(signum).name} stopped the run" in line
    return line


def _run_until(
    args: list[str],
    cwd: Path,
    signum: int,
    ready: Callable[[bytes], bool],
    stdin: bytes | None = None,
) -> tuple[int, list[bytes], str]:
    """Run a command; at the first stdout line `ready` accepts, send `signum`.

    Return the exit status, every stdout line and stderr.
    """
    stderr_path = cwd / f"stderr-{time.monotonic_ns()}.log"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=cwd,
        )
    assert proc.stdout is not None
    feeder = None
    if stdin is not None:
        assert proc.stdin is not None

        def feed(pipe: IO[bytes] = proc.stdin) -> None:
            with contextlib.suppress(BrokenPipeError, OSError):
                pipe.write(stdin)
                pipe.close()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    lines: queue.Queue[bytes | None] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    seen: list[bytes] = []
    signalled = False
    try:
        while True:
            line = lines.get(timeout=RUN_TIMEOUT_S)
            if line is None:
                break
            seen.append(line)
            if not signalled and ready(line):
                proc.send_signal(signum)
                signalled = True
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"stalled:\n{stderr_path.read_text()[-2000:]}") from None
    finally:
        proc.wait(timeout=RUN_TIMEOUT_S)
        reader.join(timeout=RUN_TIMEOUT_S)
        if feeder is not None:
            feeder.join(timeout=RUN_TIMEOUT_S)
        proc.stdout.close()
    assert signalled, "the run ended before any state: nothing to stop"
    return proc.returncode, seen, stderr_path.read_text()


# -- the tap ---------------------------------------------------------------------------------------
def _tap_config(server: Any, where: Path) -> Path:
    path = where / "tap-config.json"
    path.write_text(
        json.dumps(
            {
                "api_url": server.url,
                "access_token": DEFAULT_TOKEN,
                "associations": [],
                "history_properties": [],
                "full_sync_search_assist": False,
                "search_lag_margin_seconds": 0,
                "requests_per_10_seconds": 10_000,
                "search_requests_per_second": 100,
            }
        )
    )
    return path


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_signalled_tap_exits_non_zero_with_its_state_and_resumes_from_it(
    emulator, tmp_path, signum
):
    # A latency per call, as HubSpot has, so that the signal lands while pages remain.
    server = emulator(tickets=1_000, seed=91, latency_ms=100)
    config = _tap_config(server, tmp_path)
    tap = [str(BIN / "tap-hubspot-tickets"), "--config", str(config)]

    # Signalled amid the records of a page, once a page of the walk is checkpointed.
    seen = {"checkpointed": False, "records": 0}

    def mid_page(line: bytes) -> bool:
        if b'"STATE"' in line and b'"full_sync"' in line:
            seen["checkpointed"] = True
        elif seen["checkpointed"] and b'"RECORD"' in line:
            seen["records"] += 1
        return seen["records"] >= 30

    status, lines, stderr = _run_until(tap, tmp_path, signum, mid_page)

    assert status == 128 + signum, stderr[-2000:]
    _stopped_line("tap-hubspot-tickets", stderr, signum)
    messages = [json.loads(line) for line in lines if line.strip()]
    states = [i for i, m in enumerate(messages) if m["type"] == "STATE"]
    last = states[-1]
    state = messages[last]["value"]
    assert "full_sync" in state["bookmarks"]["tickets"], "the run was not stopped mid-walk"
    # It stopped at a checkpoint: no record after its last STATE, for a loader that appends
    # to receive twice when the run resumes.
    assert last == len(messages) - 1, f"{len(messages) - 1 - last} message(s) after the last STATE"
    covered = {
        m["record"]["id"]
        for m in messages[:last]
        if m["type"] == "RECORD" and m["stream"] == "tickets"
    }
    first_run = {
        m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "tickets"
    }

    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state))
    resumed = subprocess.run(
        [*tap, "--state", str(state_path)],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    again = [json.loads(line) for line in resumed.stdout.splitlines() if line.strip()]
    second_run = [
        m["record"]["id"] for m in again if m["type"] == "RECORD" and m["stream"] == "tickets"
    ]
    # Exactly: what the state covers is not read again, and nothing is missing.
    assert not covered & set(second_run), "the resumed run read again what the state covered"
    assert max(Counter(second_run).values()) == 1
    assert first_run | set(second_run) == {t["id"] for t in server.portal.snapshot()}
    final = [m["value"] for m in again if m["type"] == "STATE"][-1]
    assert "full_sync" not in final["bookmarks"]["tickets"]


# The tap's streams in the order it reads them (`TapHubSpotTickets.streams`).
STREAMS = [
    "ticket_pipeline_stages",
    "ticket_pipelines",
    "ticket_properties",
    "ticket_property_history",
    "tickets",
    "ticket_associations",
]
FULL_TABLE = {
    "ticket_pipeline_stages",
    "ticket_pipelines",
    "ticket_properties",
    "ticket_associations",
}


def _keys(messages: list[dict[str, Any]], stream: str) -> set[tuple[Any, ...]]:
    """Return the keys of one stream's records (`KEYS`)."""
    return {
        tuple(m["record"][name] for name in KEYS[stream])
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == stream
    }


KEYS = {
    "ticket_pipeline_stages": ("pipeline_id", "stage_id"),
    "ticket_pipelines": ("id",),
    "ticket_properties": ("name",),
    "ticket_property_history": ("ticket_id", "property", "timestamp"),
    "tickets": ("id",),
    "ticket_associations": ("ticket_id", "to_object_type", "to_object_id"),
}


def _portal_keys(server: Any) -> dict[str, set[tuple[Any, ...]]]:
    """Return the keys every stream must hold, by the emulator's own state."""
    truth = Truth(server)
    pipelines = server.portal.list_pipelines()["results"]
    return {
        "ticket_pipeline_stages": {(p["id"], s["id"]) for p in pipelines for s in p["stages"]},
        "ticket_pipelines": {(p["id"],) for p in pipelines},
        "ticket_properties": {(d["name"],) for d in server.portal.list_properties()["results"]},
        "ticket_property_history": set(truth.history_keys()),
        "tickets": {(ticket_id,) for ticket_id in truth.ids()},
        "ticket_associations": set(truth.association_keys()),
    }


@pytest.mark.parametrize("stream", STREAMS)
def test_a_tap_signalled_during_each_stream_resumes_to_the_whole_portal(emulator, tmp_path, stream):
    server = emulator(tickets=300, seed=99, latency_ms=50)
    config = _tap_config(server, tmp_path)
    settings = json.loads(config.read_text())
    for every_default in ("associations", "history_properties", "full_sync_search_assist"):
        del settings[every_default]
    config.write_text(json.dumps(settings))
    tap = [str(BIN / "tap-hubspot-tickets"), "--config", str(config)]

    def reading(line: bytes) -> bool:
        message = json.loads(line)
        return bool(message["type"] == "SCHEMA" and message["stream"] == stream)

    # Signalled once the stream began: its SCHEMA goes out before its first read.
    status, lines, stderr = _run_until(tap, tmp_path, signal.SIGTERM, reading)

    assert status == 128 + signal.SIGTERM, stderr[-2000:]
    _stopped_line("tap-hubspot-tickets", stderr, signal.SIGTERM)
    messages = [json.loads(line) for line in lines if line.strip()]
    assert messages[-1]["type"] == "STATE", "records after the last STATE"
    expected = _portal_keys(server)
    # A version is activated only after the whole stream was read and emitted in this run: a
    # stream the signal cut short leaves its rows downstream as they were.
    for index, message in enumerate(messages):
        if message["type"] == "ACTIVATE_VERSION":
            name = message["stream"]
            assert _keys(messages[:index], name) == expected[name], f"{name} activated unread"
            assert _keys(messages[index:], name) == set(), f"{name} activated before its records"
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(messages[-1]["value"]))
    resumed = subprocess.run(
        [*tap, "--state", str(state_path)],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    again = [json.loads(line) for line in resumed.stdout.splitlines() if line.strip()]
    assert {m["stream"] for m in again if m["type"] == "ACTIVATE_VERSION"} == FULL_TABLE
    for name, keys in expected.items():
        assert _keys(messages, name) | _keys(again, name) == keys, name


# -- the target ------------------------------------------------------------------------------------
RECORDS = 600
STATE_EVERY = 50
PREFIX = "signal journey"
NEW_STAGE = "1034562871"


def _subject(n: int) -> str:
    return f"{PREFIX} {n:04d}"


def _input(singer: Any, start: int) -> bytes:
    return bytes(singer.numbered_creates(_subject, start, RECORDS, NEW_STAGE, STATE_EVERY))


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_signalled_target_settles_what_it_read_and_exits_non_zero(
    emulator, singer_input, target_cli, signum
):
    server = emulator(tickets=5, seed=92, latency_ms=60)
    singer = singer_input(server)
    config_path, config = target_cli.config_file(
        server, source_id_property="external_ticket_id", batch_size_rows=STATE_EVERY
    )
    command = target_cli.command(config_path)

    # Signalled at the first state handed back.
    status, lines, stderr = _run_until(
        command, config_path.parent, signum, lambda line: bool(line.strip()), _input(singer, 0)
    )

    assert status == 128 + signum, stderr[-2000:]
    _stopped_line("target-hubspot-tickets", stderr, signum)
    states = [json.loads(line)["records"] for line in lines if line.strip()]
    assert states, "no state handed back"
    start = states[-1]
    assert start < RECORDS, "the whole input was written before the signal took effect"
    written = {t["properties"].get("subject") for t in server.portal.snapshot()} & {
        _subject(n) for n in range(RECORDS)
    }
    # What the last state covers was written; the state says no more than what settled.
    assert {_subject(n) for n in range(start)} <= written
    # The summary file tells a monitor the run was stopped, not finished.
    summary = json.loads(Path(config["summary_path"]).read_text(encoding="utf-8"))
    assert summary["status"] == "stopped", summary
    assert summary["error"].startswith(signal.Signals(signum).name), summary

    done = target_cli.run_with(config_path, {}, _input(singer, start))
    assert done.returncode == 0, done.describe()
    subjects = Counter(
        t["properties"].get("subject")
        for t in server.portal.snapshot()
        if str(t["properties"].get("subject", "")).startswith(PREFIX)
    )
    assert sorted(subjects) == [_subject(n) for n in range(RECORDS)]
    assert max(subjects.values()) == 1


def test_a_signalled_tap_writing_batch_files_states_only_what_it_handed_over(emulator, tmp_path):
    server = emulator(tickets=1_000, seed=93, latency_ms=100)
    config = _tap_config(server, tmp_path)
    settings = json.loads(config.read_text())
    settings["batch_config"] = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": (tmp_path / "batches").as_uri()},
        "batch_size": 150,  # not a whole number of pages
    }
    config.write_text(json.dumps(settings))
    tap = [str(BIN / "tap-hubspot-tickets"), "--config", str(config)]

    # Signalled at the first BATCH of tickets: their pages after it are in a file not handed over.
    status, lines, stderr = _run_until(
        tap, tmp_path, signal.SIGTERM, lambda line: b'"BATCH"' in line and b'"tickets"' in line
    )

    assert status == 128 + signal.SIGTERM, stderr[-2000:]
    messages = [json.loads(line) for line in lines if line.strip()]
    handed: set[str] = set()
    for message in messages:
        if message["type"] == "BATCH" and message["stream"] == "tickets":
            for url in message["manifest"]:
                with gzip.open(Path(url.removeprefix("file://")), "rt") as rows:
                    handed |= {json.loads(row)["id"] for row in rows}
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    # The signal may take effect before the STATE that follows the first BATCH: the last state
    # then holds no tickets bookmark at all, which claims nothing.
    tickets_state = state.get("bookmarks", {}).get("tickets", {})
    walked = tickets_state.get("full_sync", {}).get("list_high") or 0
    # The state claims no ticket beyond those in files a BATCH message handed over.
    assert walked <= max(map(int, handed)), "the state claims tickets never handed over"


# -- a reader that takes nothing -----------------------------------------------------------------
# A hang guard only: each command ends within seconds of the signal (`stopping`).
STALL_GUARD_S = 90


def _signal_once_output_is_full(
    args: list[str], cwd: Path, signum: int, stdin: bytes | None = None
) -> tuple[int, str]:
    """Run a command whose stdout nobody reads; signal it once a write to it blocks.

    Return its exit status and stderr.
    """
    read_end, write_end = os.pipe()
    stderr_path = cwd / f"stderr-{time.monotonic_ns()}.log"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=write_end,
            stderr=stderr,
            cwd=cwd,
        )
    os.close(write_end)
    try:
        if stdin is not None:
            assert proc.stdin is not None
            threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
        deadline = time.monotonic() + STALL_GUARD_S
        while not _blocked_in_a_pipe_write(proc.pid):
            assert proc.poll() is None, f"ended before filling the pipe: {proc.returncode}"
            assert time.monotonic() < deadline, "no write to the output ever blocked"
            time.sleep(0.05)
        proc.send_signal(signum)
        try:
            status = proc.wait(timeout=STALL_GUARD_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {STALL_GUARD_S} s after {signum!r}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        os.close(read_end)
    return status, stderr_path.read_text()


def _feed(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.write(data)
        pipe.close()


def _blocked_in_a_pipe_write(pid: int) -> bool:
    """Tell whether a thread of `pid` waits in the kernel for room in a pipe (Linux)."""
    waits = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            waits.append((task / "wchan").read_text())
    return any("pipe_write" in wait for wait in waits)


def test_a_signalled_tap_whose_output_is_not_read_ends(emulator, tmp_path):
    server = emulator(tickets=1_000, seed=94)
    config = _tap_config(server, tmp_path)
    tap = [str(BIN / "tap-hubspot-tickets"), "--config", str(config)]

    status, stderr = _signal_once_output_is_full(tap, tmp_path, signal.SIGTERM)

    assert status == 128 + signal.SIGTERM, stderr[-2000:]
    line = _stopped_line("tap-hubspot-tickets", stderr, signal.SIGTERM)
    assert "the last whole STATE written covers every record written before it" in line


def test_a_signalled_target_whose_state_is_not_read_ends(
    emulator, singer_input, target_cli, tmp_path
):
    server = emulator(tickets=5, seed=95)
    singer = singer_input(server)
    config_path, _ = target_cli.config_file(
        server, source_id_property="external_ticket_id", batch_size_rows=5
    )
    # A state larger than the pipe holds: handing it back blocks while nobody reads stdout.
    big_state = {"records": 5, "bookmarks": {"padding": "x" * 300_000}}
    lines = [singer.schema()]
    lines += [
        singer.record({"subject": _subject(n), "hs_pipeline_stage": NEW_STAGE}) for n in range(5)
    ]
    lines.append(singer.state(big_state))

    status, stderr = _signal_once_output_is_full(
        target_cli.command(config_path), config_path.parent, signal.SIGINT, singer.text(lines)
    )

    assert status == 128 + signal.SIGINT, stderr[-2000:]
    line = _stopped_line("target-hubspot-tickets", stderr, signal.SIGINT)
    assert "its output was not read" in line


def test_a_target_signalled_after_its_input_ended_still_exits_non_zero(
    emulator, singer_input, target_cli
):
    # The whole input is read before any write (one STATE at its end, batches larger than it),
    # and the signal comes once the reader says the input ended: it lands while the input is
    # being settled, and the run still says a signal stopped it, as one between two lines does.
    server = emulator(tickets=5, seed=93, latency_ms=700)
    singer = singer_input(server)
    config_path, config = target_cli.config_file(
        server, source_id_property="external_ticket_id", batch_size_rows=1_000
    )
    data = bytes(singer.numbered_creates(_subject, 0, 300, NEW_STAGE, 300))
    proc = subprocess.Popen(
        target_cli.command(config_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=config_path.parent,
    )
    assert proc.stdin is not None
    assert proc.stderr is not None
    proc.stdin.write(data)
    proc.stdin.close()
    stderr: list[bytes] = []
    for line in proc.stderr:
        stderr.append(line)
        if b"completed processing" in line:  # singer-sdk's line at the end of the input
            proc.send_signal(signal.SIGTERM)
            break
    stderr += proc.stderr.readlines()
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    proc.stdout.close()
    proc.stderr.close()
    proc.wait(timeout=RUN_TIMEOUT_S)

    text = b"".join(stderr).decode()
    assert proc.returncode == 143, text[-2000:]
    _stopped_line("target-hubspot-tickets", text, signal.SIGTERM)
    summary = json.loads(Path(config["summary_path"]).read_text(encoding="utf-8"))
    assert summary["status"] == "stopped", summary
    # Every record read was settled and the state after them handed back.
    assert [json.loads(line) for line in stdout.splitlines() if line.strip()] == [{"records": 300}]
