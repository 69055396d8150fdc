"""Where refused records go, and the run's tally of what happened to every record.

A rejected record is written as one JSON line `{stream, record, reason, field?, category?,
correlation_id?, problems?, at, run_id}` (`problems`: every `{field, reason}` validation found)
and written at once, and the file is synced before the target emits a state message that
covers the record (a write or a sync that fails stops the run: `hubspot_api.outputs`).
Every line passes through `redact` with the run's secrets first. Runs append to the same file;
`run_id` tells their lines apart. `JsonLinesFile` does this for the results file too
(`results`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from hubspot_api.errors import redact
from hubspot_api.outputs import AppendFile

# Every record ends in exactly one of these; together they add up to the records received.
OUTCOMES = (
    "created",
    "updated",
    "upserted",
    "archived",
    "associated",
    "pinned",
    "unchanged",
    "superseded",
    "rejected",
)
# Decimals beyond this exponent are kept as text: turning `1e30000000` into an int would take
# minutes, and no JSON reader would take the result.
_PLAIN_NUMBER_EXPONENT = 300
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def to_json_value(value: Any) -> Any:
    """Return `value` as something strict JSON renders faithfully (dates as ISO 8601).

    What strict JSON cannot hold is kept readable instead of breaking the line: NaN and the
    infinities, and numbers too large to spell out, become text; a lone UTF-16 surrogate (half
    of a character) becomes U+FFFD.
    """
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite() or (value and abs(value.adjusted()) > _PLAIN_NUMBER_EXPONENT):
            return str(value)
        # 1850000034.0 stays as written: the reject shows the record the way it came.
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {to_json_value(str(k)): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json_value(v) for v in value]
    return to_json_value(str(value))


@dataclass(frozen=True)
class Reject:
    """Why one record was refused, in the words and codes HubSpot (or validation) gave."""

    reason: str
    field: str | None = None
    category: str | None = None
    correlation_id: str | None = None
    # Every problem of a record refused by validation: ({field, reason}, ...), the first
    # giving `field`; `reason` joins them.
    problems: tuple[dict[str, str | None], ...] = ()


class JsonLinesFile:
    """Append JSON lines to a file, each written at once (or drop them when no path is set).

    The file is opened through `outputs.AppendFile`: never through a symbolic link, created
    0600, and a failed write raises `OutputFileError` in one line.
    """

    # Room held for one line before its write is sent, besides the record a reject line
    # carries (`room_for`): a results line takes about 250 bytes, a reason at most a few hundred.
    LINE_ROOM = 512

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        secrets: Iterable[str],
        run_id: str | None = None,
        *,
        setting: str = "rejects_path",
    ) -> None:
        """Open `path` for appending; `secrets` are blanked out of every line written.

        Runs append to the same file; each line carries `run_id` to tell them apart. A path
        that is a link, or cannot be opened, is refused here in one line (`ConfigError`).
        """
        self._secrets = tuple(secrets)
        self._run_id = run_id
        self._file = AppendFile(path, setting) if path else None
        self.path = self._file.path if self._file is not None else None

    def append(self, line: dict[str, Any]) -> None:
        """Append one line (with the run id, as strict JSON, secrets redacted)."""
        if self._file is None:
            return
        if self._run_id is not None:
            line["run_id"] = self._run_id
        strict = to_json_value(line)
        text = redact(json.dumps(strict, ensure_ascii=False, allow_nan=False), self._secrets)
        self._file.write((text + "\n").encode("utf-8"))

    def sync(self) -> None:
        """Make every line written so far durable (called before state may be emitted)."""
        if self._file is not None:
            self._file.sync()

    def room_for(self, records: Sequence[Mapping[str, Any]]) -> AbstractContextManager[None]:
        """Hold room for one line per record while their writes run (`AppendFile.reserve`)."""
        if self._file is None:
            return contextlib.nullcontext()
        return self._file.reserve(sum(self._line_size(r) for r in records))

    def _line_size(self, record: Mapping[str, Any]) -> int:
        return self.LINE_ROOM

    def close(self) -> None:
        """Sync and close the file; later lines are dropped."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def __enter__(self) -> Self:
        """Return self; the file is already open."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the file."""
        self.close()


class RejectsFile(JsonLinesFile):
    """Append rejected records to a JSON-lines file (or only count them when no path is set)."""

    def _line_size(self, record: Mapping[str, Any]) -> int:
        # A reject line carries its record: room for its values as text, whatever they are.
        return self.LINE_ROOM + sum(len(str(k)) + len(str(v)) + 8 for k, v in record.items())

    def write(self, stream: str, record: Mapping[str, Any], reject: Reject) -> None:
        """Append one reject and flush it to the operating system."""
        line: dict[str, Any] = {
            "stream": stream,
            "record": to_json_value(record),
            "reason": reject.reason,
        }
        if reject.field is not None:
            line["field"] = reject.field
        if reject.category is not None:
            line["category"] = reject.category
        if reject.correlation_id is not None:
            line["correlation_id"] = reject.correlation_id
        if reject.problems:
            line["problems"] = list(reject.problems)
        line["at"] = dt.datetime.now(dt.UTC).isoformat()
        self.append(line)


@dataclass
class Tally:
    """Counts of record outcomes and association changes for one run; thread-safe."""

    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    received: int = 0
    associations_added: int = 0
    associations_removed: int = 0
    # Called after each change of the record counts, outside the lock (the progress lines).
    watch: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str, n: int = 1) -> None:
        """Add `n` records to `outcome`."""
        if outcome not in self.outcomes:
            raise KeyError(f"unknown outcome {outcome!r}")
        with self._lock:
            self.outcomes[outcome] += n
        self.watch()

    def add_received(self, n: int = 1) -> None:
        """Count records read from the input."""
        with self._lock:
            self.received += n
        self.watch()

    def progress(self) -> tuple[int, dict[str, int]]:
        """Return the records read and the count of each outcome so far, together."""
        with self._lock:
            return self.received, dict(self.outcomes)

    def add_associations(self, *, added: int = 0, removed: int = 0) -> None:
        """Count association links made and removed."""
        with self._lock:
            self.associations_added += added
            self.associations_removed += removed

    def as_dict(self) -> dict[str, int]:
        """Return the summary: received, each outcome, and association changes."""
        with self._lock:
            return {
                "received": self.received,
                **self.outcomes,
                "associations_added": self.associations_added,
                "associations_removed": self.associations_removed,
            }

    @property
    def rejected(self) -> int:
        """Return how many records were rejected so far."""
        with self._lock:
            return self.outcomes["rejected"]

    @property
    def accounted(self) -> int:
        """Return how many records have an outcome so far."""
        with self._lock:
            return sum(self.outcomes.values())
