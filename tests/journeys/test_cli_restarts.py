"""Killed and restarted, the target writes every record exactly once (issue #9: H).

The target runs as a subprocess on 1,000 creates with a STATE message after every 50 records,
and `source_id_property` set. It is killed (SIGKILL, no clean-up) at seeded random points
after some states appeared on stdout, and restarted on the input after the last state it
emitted, as Meltano would. The emulator must end with each record's ticket exactly once.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from typing import IO, Any

import pytest

RECORDS = 1_000
STATE_EVERY = 50
KILLS = 3
SEED = 9
SOURCE_ID_PROPERTY = "external_ticket_id"  # the emulator's unique (hasUniqueValue) property
NEW_STAGE = "1034562871"
RUN_TIMEOUT_S = 90
PREFIX = "restart journey"

pytestmark = pytest.mark.journeys


def _subject(n: int) -> str:
    return f"{PREFIX} {n:04d}"


def _input(singer: Any, start: int) -> bytes:
    return bytes(singer.numbered_creates(_subject, start, RECORDS, NEW_STAGE, STATE_EVERY))


def _feed(stdin: IO[bytes], data: bytes) -> None:
    # The pipe breaks when the target is killed mid-input.
    with contextlib.suppress(BrokenPipeError, OSError):
        stdin.write(data)
        stdin.close()


def _read_lines(stdout: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    for line in stdout:
        lines.put(line)
    lines.put(None)


def test_killed_and_restarted_target_writes_every_record_exactly_once(
    emulator: Any, singer_input: Any, target_cli: Any, tmp_path: Any
) -> None:
    # A little latency per call, as HubSpot has, so that a kill can land mid-input.
    server = emulator(tickets=10, seed=41, latency_ms=40)
    singer = singer_input(server)
    config_path, _ = target_cli.config_file(server, source_id_property=SOURCE_ID_PROPERTY)
    rng = random.Random(SEED)
    start = 0
    first_states: list[int] = []
    interrupted = 0
    runs = 0
    stderr_path = tmp_path / "stderr.log"
    deadline = time.monotonic() + RUN_TIMEOUT_S * (KILLS + 1)
    while start < RECORDS:
        runs += 1
        assert runs <= KILLS + 2, f"no progress after {runs - 1} runs (checkpoint {start})"
        kill_after = rng.randint(1, 3) if interrupted < KILLS else None
        with stderr_path.open("ab") as stderr:
            proc = subprocess.Popen(
                target_cli.command(config_path),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=config_path.parent,
            )
        assert proc.stdin is not None
        assert proc.stdout is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, _input(singer, start)))
        feeder.start()
        lines: queue.Queue[bytes | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        seen: list[int] = []
        try:
            while True:
                line = lines.get(timeout=max(1.0, deadline - time.monotonic()))
                if line is None:
                    break
                if not line.strip():
                    continue
                state = json.loads(line)
                seen.append(int(state["records"]))
                if kill_after is not None and len(seen) >= kill_after:
                    time.sleep(rng.uniform(0.0, 0.05))
                    if proc.poll() is None:
                        proc.kill()
                        interrupted += 1
                    break
        except queue.Empty:
            proc.kill()
            raise AssertionError(
                f"the target stalled; stderr ends:\n{stderr_path.read_text()[-2000:]}"
            ) from None
        finally:
            proc.wait(timeout=RUN_TIMEOUT_S)
            feeder.join(timeout=RUN_TIMEOUT_S)
            reader.join(timeout=RUN_TIMEOUT_S)
            proc.stdout.close()
        if seen:
            first_states.append(seen[0])
            assert seen == sorted(seen), f"states went backwards: {seen}"
            assert seen[-1] > start, f"a state behind the input it was given: {seen}"
            start = seen[-1]
        if kill_after is None or proc.returncode != -signal.SIGKILL:
            tail = stderr_path.read_text()[-2000:]
            assert proc.returncode == 0, f"run {runs} exited {proc.returncode}:\n{tail}"
            assert start == RECORDS, f"run {runs} ended at checkpoint {start}:\n{tail}"

    # States come as batches settle, not only once the input has ended.
    assert first_states, "no run emitted a state"
    assert first_states[0] < RECORDS, (
        f"the first run emitted no state before the end of its input: {first_states}"
    )
    assert interrupted >= 1, "no kill landed while the target was running"
    subjects = Counter(
        t["properties"].get("subject")
        for t in server.portal.snapshot()
        if str(t["properties"].get("subject", "")).startswith(PREFIX)
    )
    missing = [n for n in range(RECORDS) if subjects[_subject(n)] == 0]
    doubled = sorted(s for s, count in subjects.items() if count > 1)
    assert not missing, f"{len(missing)} records never written, e.g. {missing[:5]}"
    assert not doubled, f"{len(doubled)} records written twice, e.g. {doubled[:5]}"
    assert sum(subjects.values()) == RECORDS
