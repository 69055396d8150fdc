"""Values the tap cannot emit as HubSpot stored them, and what it emits instead.

No single value ends a sync: a resumed run would meet the same ticket again and die on it
forever. Two kinds of value need care:

- A value its property's type cannot hold. HubSpot keeps old values when an admin changes a
  property's type (docs/hubspot-api.md, "Value limits"), so a `number` property can hold `abc`
  and a `datetime` one `2024-01-01T25:61:00Z`. The value is emitted as null and counted;
  `ValueProblems.warnings` gives one line per property at the end of the run, with how many
  records held such values and one of them.
- Text with a lone UTF-16 surrogate (half of an emoji's pair, cut by some upstream system).
  Python's JSON writer escapes it as `"\\ud83d"`, which is not valid Unicode: strict JSON
  readers, PostgreSQL and UTF-8 encoders refuse it. `SurrogateSafeWriter` writes U+FFFD in its
  place, in every message of every stream, and counts the replacements.

`SurrogateSafeWriter` is also the tap's fast path out: each message is encoded once by orjson
as UTF-8 JSON (numbers held as `Decimal` written exactly, as the SDK's writer does) and written
to stdout's buffer in chunks of `WRITE_CHUNK_BYTES` and at every message that is not a RECORD:
a STATE always reaches the target together with the records before it, and records cost no
system call each, whether or not Python buffers stdout.
A message orjson cannot encode (a lone surrogate, an integer past 64 bits) takes the SDK's
encoder, after the surrogates are replaced.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

import orjson
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib.encoding.simple import Message
from singer_sdk.singerlib.json import serialize_json
from typing_extensions import override

_MAX_EXAMPLE_CHARS = 40
# Records are written out in chunks of about this size (or at the next STATE).
WRITE_CHUNK_BYTES = 256 * 1024
REPLACEMENT_CHARACTER = "\ufffd"


def _example(value: Any) -> str:
    shown = repr(value)
    if len(shown) > _MAX_EXAMPLE_CHARS:
        shown = shown[: _MAX_EXAMPLE_CHARS - 3] + "..."
    return shown


@dataclass
class _Tally:
    stream: str
    field: str
    expected: str
    unit: str
    count: int = 0
    example: str = ""


class ValueProblems:
    """Count the values emitted as null because their column's type cannot hold them."""

    def __init__(self) -> None:
        """Start with nothing counted."""
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def add(self, stream: str, field: str, value: Any, expected: str, unit: str) -> None:
        """Count one value of `field` that is not `expected` ("numbers"); `unit` names a row.

        The first value seen is kept as the example.
        """
        with self._lock:
            tally = self._tallies.get((stream, field))
            if tally is None:
                tally = _Tally(stream, field, expected, unit, example=_example(value))
                self._tallies[(stream, field)] = tally
            tally.count += 1

    def counts(self) -> dict[tuple[str, str], int]:
        """Return how many values were nulled, by (stream, field)."""
        with self._lock:
            return {key: tally.count for key, tally in self._tallies.items()}

    def warnings(self) -> list[str]:
        """Return one line per field that held values its type cannot hold."""
        with self._lock:
            tallies = list(self._tallies.values())
        return [
            f"stream {t.stream!r}: {t.field}: {t.count} {t.unit}(s) hold values that are not "
            f"{t.expected} (e.g. {t.example}); emitted as null"
            for t in tallies
        ]


def _without_lone_surrogates(text: str) -> str:
    # Pairs of halves become the character they encode; lone halves become U+FFFD.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _clean(value: Any) -> tuple[Any, int]:
    """Return `value` with every lone surrogate replaced, and how many strings changed."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            cleaned = _without_lone_surrogates(value)
            # A pair held as two halves becomes its character: only a lone half is replaced.
            return cleaned, int(
                cleaned.count(REPLACEMENT_CHARACTER) > value.count(REPLACEMENT_CHARACTER)
            )
        return value, 0
    if isinstance(value, Mapping):
        changed = 0
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key, key_changes = _clean(key)
            new_item, item_changes = _clean(item)
            out[new_key] = new_item
            changed += key_changes + item_changes
        return out, changed
    if isinstance(value, list | tuple):
        changed = 0
        items: list[Any] = []
        for item in value:
            new_item, item_changes = _clean(item)
            items.append(new_item)
            changed += item_changes
        return items, changed
    return value, 0


def _encode_other(value: Any) -> Any:
    """Encode what orjson does not: `Decimal` exactly as written, the rest as the SDK does."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    return str(value)


class SurrogateSafeWriter(SingerWriter):
    """Write Singer messages as strict UTF-8 JSON lines: lone UTF-16 surrogates become U+FFFD."""

    def __init__(self, out: IO[bytes] | None = None) -> None:
        """Write to `out` (stdout's buffer by default); start with no replacement counted."""
        super().__init__()
        self._out = out
        # Lines not yet written: stdout may be unbuffered (PYTHONUNBUFFERED, which Docker images
        # and schedulers often set), so lines are gathered here and written in chunks.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        # Strings written with U+FFFD in place of lone surrogates, by stream.
        self.replaced: Counter[str] = Counter()
        # Called with each message's type before it is written: where a stop signal takes
        # effect (`stopping`).
        self.before_write: Callable[[str], None] | None = None

    def encode(self, message: Message) -> bytes:
        """Return one message as a line of JSON, without its newline."""
        payload = message.to_dict()
        try:
            return orjson.dumps(payload, default=_encode_other)
        except orjson.JSONEncodeError:
            cleaned, changed = _clean(payload)
            if changed:
                self.replaced[str(getattr(message, "stream", ""))] += changed
            return serialize_json(cleaned).encode("utf-8")

    @override
    def serialize_message(self, message: Message) -> str:
        return self.encode(message).decode("utf-8")

    @override
    def write_message(self, message: Message) -> None:
        if self.before_write is not None:
            self.before_write(message.type)
        self._pending.append(self.encode(message) + b"\n")
        self._pending_bytes += len(self._pending[-1])
        if message.type != "RECORD" or self._pending_bytes >= WRITE_CHUNK_BYTES:
            self.flush()

    def _flush_at_exit(self) -> None:
        """Write out records after the last STATE, if stdout is still there to take them."""
        with contextlib.suppress(OSError, ValueError):
            self.flush()

    def flush(self) -> None:
        """Write out every message taken so far."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        out = self._out
        if out is None and not hasattr(sys.stdout, "buffer"):
            # stdout replaced by a text stream (a tap run inside Python): write text to it.
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
        else:
            if out is None:
                sys.stdout.flush()  # whatever was printed before goes first
                out = self._out = sys.stdout.buffer
                atexit.register(self._flush_at_exit)
            write_all(out, data)
        self._pending.clear()
        self._pending_bytes = 0


def write_all(out: IO[bytes], data: bytes) -> None:
    """Write every byte of `data` to `out`, a signal or not.

    A buffered write of more than the pipe holds, cut short by a signal whose handler returns
    (SIGTERM, which `stopping` defers to a safe point), can lose the rest of its data, leaving
    the reader half a line. So a file's bytes go through `os.write` until all are taken.
    """
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):
        out.write(data)  # not a file (an in-memory buffer in tests)
        out.flush()
        return
    out.flush()  # whatever the buffer holds goes first
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def surrogate_warning(stream: str, replaced: int) -> str:
    """Describe the strings of one stream written with U+FFFD in place of lone surrogates."""
    return (
        f"stream {stream!r}: {replaced} value(s) held a lone UTF-16 surrogate (half of a "
        f"character pair), which JSON cannot carry as text; written with U+FFFD in its place"
    )
