"""Read the Singer input line by line, and stop cleanly at the first line that cannot be used.

What upstream taps, exports and hand-edited files send is not always Singer. The reader:

- numbers every line, so reasons can say where a record came from (`line_number`);
- skips blank lines, and a UTF-8 byte-order mark before the first line (editors and CSV-to-JSON
  tools add one);
- parses numbers without loss: decimals as `Decimal`, integers longer than `LONG_INTEGER_DIGITS`
  also as `Decimal` (Python refuses to turn very long digit strings into `int`, and a record
  holding one must be rejected on its own, not stop the run); `NaN` and `Infinity`, which
  Python's parser accepts but JSON does not, become floats that validation rejects per record;
- stops at the first line that is not a usable message: not JSON, JSON but not an object, no or
  an unknown `type`, a message without the fields its type needs, a RECORD before its SCHEMA, a
  stream this target cannot write. It keeps the reason as an `InputError` in `fatal` and ends
  the input there, so the target still drains what it read, emits the state it reached and writes
  its summary before it fails with that one line (`TargetHubSpotTickets.process_endofpipe`).

HubSpot's own refusals (a wrong token, the daily limit), and an outcome the target could not
record (a full disk), are not input problems: they end the input too (`stopped_by`), and the
target raises them unchanged once it has closed its files.
"""

from __future__ import annotations

import decimal
import json
import logging
import typing as t
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from singer_sdk.io_base import SingerMessageType
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader

from hubspot_api.errors import (
    ConfigError,
    HubSpotAPIError,
    HubSpotError,
    json_error_at,
    json_kind,
    shorten,
)
from hubspot_api.outputs import OutputFileError
from hubspot_api.stopping import Stopped, StopSignals

# Integer literals longer than this are parsed as Decimal (Python's int parser refuses more than
# 4,300 digits; no HubSpot value comes close to either).
LONG_INTEGER_DIGITS = 300
BYTE_ORDER_MARK = "\ufeff"

# The fields each message type needs, and the JSON type each must have.
_REQUIRED: dict[str, tuple[tuple[str, type | tuple[type, ...]], ...]] = {
    SingerMessageType.RECORD: (("stream", str), ("record", dict)),
    SingerMessageType.SCHEMA: (("stream", str), ("schema", dict)),
    SingerMessageType.STATE: (("value", (dict, list, str, int, float, bool)),),
    SingerMessageType.ACTIVATE_VERSION: (("stream", str), ("version", int)),
    SingerMessageType.BATCH: (("stream", str), ("encoding", dict), ("manifest", list)),
}

logger = logging.getLogger(__name__)


class InputError(HubSpotError):
    """The input holds a line that is not a usable Singer message; the run stops there."""


def _parse_int(text: str) -> int | decimal.Decimal:
    return int(text) if len(text) <= LONG_INTEGER_DIGITS else decimal.Decimal(text)


def parse_line(line: str) -> Any:
    """Parse one input line as JSON, numbers without loss (see the module docstring)."""
    return json.loads(line, parse_float=decimal.Decimal, parse_int=_parse_int)


class TicketsReader(SimpleSingerReader):
    """A Singer reader that numbers lines and turns unusable ones into one `InputError`."""

    def __init__(self) -> None:
        """Start before the first line."""
        super().__init__()
        self.line_number = 0
        self.fatal: InputError | None = None
        # HubSpot stopped the run while a message was handled (a drain hit the daily limit), or
        # the settings proved unusable against the portal (`ConfigError`).
        # An outcome could not be recorded (`OutputFileError`): nothing more may be sent.
        self.stopped_by: HubSpotAPIError | ConfigError | OutputFileError | None = None
        # SIGTERM or SIGINT ended the input between two lines (`stopping`); set by the target.
        self.stop: StopSignals | None = None
        self.signal: Stopped | None = None

    def _next_line(self, source: t.IO[str]) -> str:
        """Read the next line; a stop signal ends the input here, between two messages.

        Waiting for input is the one place a signal may interrupt at once (`stopping`): the
        last message is handled whole, the next one not yet begun.
        """
        if self.stop is None:
            return source.readline()
        with self.stop.interruptible():
            return source.readline()

    def deserialize_json(self, line: str) -> dict[str, Any]:
        """Parse one line; refuse it with its line number unless it is a JSON object."""
        try:
            value = parse_line(line)
        except json.JSONDecodeError as exc:
            # Where in the line, not the decoder's own "line 2" (the line's newline counts there).
            raise InputError(
                f"line {self.line_number}: not valid JSON "
                f"({json_error_at(exc, f'character {exc.pos + 1}')})"
            ) from None
        except ValueError as exc:  # ints too long to parse
            raise InputError(f"line {self.line_number}: not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise InputError(
                f"line {self.line_number}: {json_kind(value)} is not a Singer message "
                "(expected a JSON object with a 'type')"
            )
        return value

    def check_message(self, message: Mapping[str, Any], known: Mapping[str, Any]) -> str:
        """Return the message's type after checking it carries what that type needs."""
        kind = message.get("type")
        where = f"line {self.line_number}"
        if not isinstance(kind, str):
            shown = "no 'type'" if kind is None else f"'type' {json_kind(kind)}"
            raise InputError(f"{where}: not a Singer message ({shown})")
        if kind not in known:
            raise InputError(
                f"{where}: unknown message type {shorten(kind, 60)!r} "
                f"(expected one of {', '.join(sorted(known))})"
            )
        if kind == SingerMessageType.BATCH:
            # The SDK would hand the files' records past this target's sink unwritten, exit 0.
            raise InputError(
                f"{where}: a BATCH message (records in files) cannot be written: this target "
                "takes RECORD messages; run the tap without batch_config"
            )
        for name, expected in _REQUIRED.get(kind, ()):
            if name not in message:
                raise InputError(f"{where}: {kind} message without {name!r}")
            value = message[name]
            # bool is an int in Python, but `true` is no stream version.
            if not isinstance(value, expected) or (isinstance(value, bool) and expected is int):
                raise InputError(f"{where}: {kind} message's {name!r} is {json_kind(value)}")
        return kind

    def process_lines(
        self,
        file_input: t.IO[str] | None = None,
        callbacks: Mapping[str, Callable[[dict[str, Any]], None]] | None = None,
    ) -> Counter[str]:
        """Hand each message to its callback; stop at the first unusable line (see `fatal`)."""
        handlers = dict(callbacks or {})
        stats: Counter[str] = Counter()
        source = file_input or self.default_input
        number = 0
        while True:
            try:
                raw = self._next_line(source)
            except Stopped as stop:
                self.signal = stop
                break
            if not raw:
                break
            number += 1
            self.line_number = number
            line = raw.lstrip(BYTE_ORDER_MARK) if number == 1 else raw
            if not line.strip():
                continue
            self._current_message = line
            try:
                message = self.deserialize_json(line)
                kind = self.check_message(message, handlers)
                handlers[kind](message)
            except (HubSpotAPIError, ConfigError, OutputFileError) as exc:
                self.stopped_by = exc
                break
            except InputError as exc:
                self.fatal = exc
                break
            except HubSpotError as exc:
                self.fatal = InputError(f"line {number}: {exc}")
                break
            except Exception as exc:
                # A message the SDK's handlers could not take (a RECORD before its SCHEMA, a
                # schema it cannot read). The line is named; the details go to the debug log.
                logger.debug("Line %d could not be processed", number, exc_info=True)
                detail = shorten(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                self.fatal = InputError(f"line {number}: {detail}")
                break
            stats[kind] += 1
        return stats
