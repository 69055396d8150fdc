"""Runs cut short, then resumed: the stop rows of `python -m benchmarks.faults`.

- A SIGTERM while the tap reads each stream (sent at the stream's first record), then a run
  resumed from the last STATE the stopped one wrote: every record of every stream, compared
  with an uninterrupted run on the same portal, must come out of the two runs together.
- A SIGTERM while the target writes, and a full disk under its results file and under its
  rejects file (`/dev/full`: every write to it fails with ENOSPC), each followed by a run fed
  the input after the last STATE the cut run handed back, as Meltano would resume. The target
  runs as the README configures it, creates keyed by `source_id_property`: a resumed run must
  then neither lose nor duplicate a ticket. (Without a source id, the records a cut run wrote
  after the last state it handed back are created again by the resumed run, as documented.)

A cut run must exit non-zero with one clean line and stop promptly: one that outlives
`STOP_WAIT_S` after its signal is killed and its row says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.connectors import OUR_BIN, STREAM, base_env
from benchmarks.emulator import EmulatorProcess
from benchmarks.fault_driver import Driver
from benchmarks.scenarios import EVERY_STREAM, Catalogs

STOP_WAIT_S = 60.0  # a hang guard, not a measure: a cut run still alive after it is killed
RUN_TIMEOUT_S = 600.0
# Input records between the STATE messages of the target's input, and its write batches: a
# cut run has handed back a state or two before it stops.
STATE_EVERY = 20
REJECTED_EVERY = 10  # one record in this many is one HubSpot refuses (the rejects-file rows)
SOURCE_ID = "source_row_id"
KEYED = {"source_id_property": SOURCE_ID, "create_source_id_property": True}
STOP_LATENCY = ("--latency-ms=20", "--jitter-ms=10")


@dataclass
class Cut:
    """One connector run, maybe stopped part-way: its output and how it ended."""

    returncode: int = 0
    last_line: str = ""
    traceback: bool = False
    hung: bool = False
    lines: list[str] = field(default_factory=list)

    def messages(self, kind: str) -> list[dict[str, Any]]:
        """The Singer messages of one type, in order."""
        found = []
        for line in self.lines:
            if line.startswith("{") and f'"{kind}"' in line:
                message = json.loads(line)
                if message.get("type") == kind:
                    found.append(message)
        return found

    def last_state(self) -> Any:
        """The value of the last STATE message, or None."""
        states = self.messages("STATE")
        return states[-1]["value"] if states else None

    def last_target_state(self) -> Any:
        """The last state a target handed back: its stdout lines are bare state values."""
        return json.loads(self.lines[-1]) if self.lines else None

    def describe(self) -> str:
        """The outcome column: exit code, clean or not, the last stderr line."""
        if self.hung:
            return f"still running {STOP_WAIT_S:.0f} s after the signal: killed"
        if self.returncode == 0:
            return "finished"
        clean = "TRACEBACK" if self.traceback else "clean"
        return f"exit {self.returncode}, {clean}: {self.last_line}"


def run_cut(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    feed: Sequence[str] = (),
    stop_when: Callable[[str], bool] | None = None,
) -> Cut:
    """Run `command` fed `feed`; send SIGTERM at the first stdout line `stop_when` accepts."""
    cut = Cut()
    with tempfile.TemporaryFile(mode="w+") as stderr:
        proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        guard = threading.Timer(RUN_TIMEOUT_S, _kill, args=(proc, cut))
        guard.start()
        writer = threading.Thread(target=_feed, args=(proc, feed), daemon=True)
        writer.start()
        assert proc.stdout is not None
        signalled = False
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            cut.lines.append(line)
            if stop_when is not None and not signalled and stop_when(line):
                signalled = True
                proc.send_signal(signal.SIGTERM)
                guard.cancel()
                guard = threading.Timer(STOP_WAIT_S, _kill, args=(proc, cut))
                guard.start()
        cut.returncode = proc.wait()
        guard.cancel()
        writer.join()
        stderr.seek(0)
        text = stderr.read()
    lines = [line for line in text.splitlines() if line.strip()]
    cut.last_line = lines[-1][:400] if lines else ""
    cut.traceback = "Traceback" in text
    return cut


def _feed(proc: subprocess.Popen[str], feed: Sequence[str]) -> None:
    if proc.stdin is None:
        return
    try:
        for line in feed:
            proc.stdin.write(line + "\n")
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # the target stopped reading: what it did not read is the resume's part


def _kill(proc: subprocess.Popen[str], cut: Cut) -> None:
    cut.hung = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


# The tap ---------------------------------------------------------------------------------


def _records(cut: Cut) -> dict[str, set[str]]:
    """Each stream's distinct records, as canonical JSON."""
    found: dict[str, set[str]] = {}
    for message in cut.messages("RECORD"):
        text = json.dumps(message["record"], sort_keys=True)
        found.setdefault(message["stream"], set()).add(text)
    return found


def _ticket_ids(cut: Cut) -> Counter[str]:
    return Counter(
        str(m["record"].get("id")) for m in cut.messages("RECORD") if m["stream"] == STREAM
    )


def _first_record_of(stream: str) -> Callable[[str], bool]:
    marker = f'"stream": "{stream}"'
    compact = f'"stream":"{stream}"'

    def accept(line: str) -> bool:
        return '"RECORD"' in line and (marker in line or compact in line)

    return accept


def tap_stop_rows(catalogs: Catalogs, tickets: int) -> list[dict[str, Any]]:
    """A SIGTERM during each stream, then a resumed run; one row per stream."""
    rows = []
    for stream in EVERY_STREAM:
        with EmulatorProcess([f"--tickets={tickets}", "--seed=9", *STOP_LATENCY]) as emulator:
            config = catalogs.write_config(emulator.url, emulator.token, name="stop-tap.json")
            command = [str(OUR_BIN / "tap-hubspot-tickets"), "--config", str(config)]
            command += ["--catalog", str(catalogs.every)]
            env = base_env(emulator.url, redirect=False)
            whole = run_cut(command, cwd=catalogs.workdir, env=env)
            emulator.reset_stats()
            stopped = run_cut(
                command, cwd=catalogs.workdir, env=env, stop_when=_first_record_of(stream)
            )
            resumed_command = list(command)
            state = stopped.last_state()
            if state is not None:
                path = catalogs.workdir / "stop-state.json"
                path.write_text(json.dumps(state))
                resumed_command += ["--state", str(path)]
            resumed = run_cut(resumed_command, cwd=catalogs.workdir, env=env)
            served = int(emulator.stats().get("requests", 0))
        rows.append(_tap_row(stream, whole, stopped, resumed, served))
    return rows


def _tap_row(stream: str, whole: Cut, stopped: Cut, resumed: Cut, served: int) -> dict[str, Any]:
    reference = _records(whole)
    got = _records(stopped)
    for name, records in _records(resumed).items():
        got.setdefault(name, set()).update(records)
    expected = sum(len(records) for records in reference.values())
    lost = sum(len(records - got.get(name, set())) for name, records in reference.items())
    twice = _ticket_ids(stopped) & _ticket_ids(resumed)
    outcome = f"resumed: {resumed.describe()}; stopped: {stopped.describe()}"
    if whole.returncode != 0:
        outcome = f"the uninterrupted run failed: {whole.describe()}"
    return {
        "fault": f"SIGTERM during {stream}",
        "run": "tap, stopped + resumed",
        "served": served,
        "expected": expected,
        "delivered": expected - lost,
        "lost": lost,
        "duplicated": len(twice),
        "outcome": outcome,
    }


# The target ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetCut:
    """One target row: what cuts the run short."""

    name: str
    settings: tuple[tuple[str, Any], ...] = ()
    signal_at_first_state: bool = False
    rejected: bool = False  # the input holds records HubSpot refuses


TARGET_CUTS = (
    TargetCut("SIGTERM during the target's writes", signal_at_first_state=True),
    TargetCut("full disk under results_path", (("results_path", "/dev/full"),)),
    TargetCut(
        "full disk under rejects_path",
        (("rejects_path", "/dev/full"), ("max_rejects", 1000)),
        rejected=True,
    ),
)


def _target_input(live: list[str], creates: int, rejected: bool) -> tuple[list[str], list[str]]:
    """SCHEMA, records and a STATE every `STATE_EVERY` records; and the valid records' keys."""
    schema = {"type": "object", "properties": {}, "additionalProperties": True}
    lines = [json.dumps({"type": "SCHEMA", "stream": STREAM, "schema": schema,
                         "key_properties": []})]  # fmt: skip
    keys: list[str] = []
    rows: list[dict[str, Any]] = []
    for i in range(creates):
        bad = rejected and i % REJECTED_EVERY == 0
        stage = "no such stage" if bad else "New"
        rows.append({"subject": f"stop create {i}", "hs_pipeline_stage": stage,
                     SOURCE_ID: f"stop-{i}"})  # fmt: skip
        if not bad:
            keys.append(f"create {i}")
    for ticket in live:
        rows.append({"id": ticket, "content": f"stop update {ticket}"})
        keys.append(f"update {ticket}")
    for position, row in enumerate(rows, start=1):
        lines.append(json.dumps({"type": "RECORD", "stream": STREAM, "record": row}))
        if position % STATE_EVERY == 0:
            lines.append(json.dumps({"type": "STATE", "value": {"records": position}}))
    return lines, keys


def _after(lines: list[str], state: Any) -> list[str]:
    """The input a resumed run gets: the SCHEMA and every record after `state`'s position."""
    done = int((state or {}).get("records", 0))
    out, seen = [lines[0]], 0
    for line in lines[1:]:
        if '"RECORD"' in line:
            seen += 1
            if seen > done:
                out.append(line)
        elif seen >= done:
            out.append(line)
    return out


def target_stop_rows(catalogs: Catalogs, tickets: int, records: int) -> list[dict[str, Any]]:
    """Each target cut, then a run fed the input after the last STATE it handed back."""
    rows = []
    for cut in TARGET_CUTS:
        with EmulatorProcess([f"--tickets={tickets}", "--seed=10", *STOP_LATENCY]) as emulator:
            driver = Driver(emulator)
            live = [t["id"] for t in driver.tickets() if not t.get("archived")][: records // 2]
            lines, keys = _target_input(live, records - len(live), cut.rejected)
            command = [str(OUR_BIN / "target-hubspot-tickets"), "--config"]
            env = base_env(emulator.url, redirect=False)
            config = catalogs.write_config(
                emulator.url, emulator.token, name="stop-target.json",
                batch_size_rows=STATE_EVERY, **KEYED, **dict(cut.settings),
            )  # fmt: skip
            emulator.reset_stats()
            stop = _first_state if cut.signal_at_first_state else None
            stopped = run_cut([*command, str(config)], cwd=catalogs.workdir, env=env,
                              feed=lines, stop_when=stop)  # fmt: skip
            config = catalogs.write_config(
                emulator.url, emulator.token, name="resume-target.json",
                max_rejects=1000, **KEYED,
            )  # fmt: skip
            resumed = run_cut([*command, str(config)], cwd=catalogs.workdir, env=env,
                              feed=_after(lines, stopped.last_target_state()))  # fmt: skip
            served = int(emulator.stats().get("requests", 0))
            after = driver.tickets()
        rows.append(
            _target_row(cut, keys, after=after, stopped=stopped, resumed=resumed, served=served)
        )
    return rows


def _first_state(line: str) -> bool:
    return bool(line.strip())  # a target's stdout holds nothing but the states it hands back


def _target_row(
    cut: TargetCut,
    keys: list[str],
    *,
    after: list[dict[str, Any]],
    stopped: Cut,
    resumed: Cut,
    served: int,
) -> dict[str, Any]:
    subjects = Counter(t["properties"].get("subject") for t in after if not t.get("archived"))
    content = {t["id"]: t["properties"].get("content") for t in after}
    landed = duplicated = 0
    for key in keys:
        kind, value = key.split(" ", 1)
        if kind == "create":
            copies = subjects[f"stop create {value}"]
            landed += copies >= 1
            duplicated += max(0, copies - 1)
        else:
            landed += content.get(value) == f"stop update {value}"
    return {
        "fault": cut.name,
        "run": "target, cut + resumed",
        "served": served,
        "expected": len(keys),
        "delivered": landed,
        "lost": len(keys) - landed,
        "duplicated": duplicated,
        "outcome": f"resumed: {resumed.describe()}; cut: {stopped.describe()}",
    }
