"""Check records against the stream schema, turning a violation into that record's reject.

The SDK's validator raises on the first bad record, which would stop the run; here the error
is kept (`SchemaErrorCollector.last_error`) and the sink rejects that one record, like every
other check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator
from typing_extensions import override

from hubspot_api.instants import parse_iso, parse_iso_date
from target_hubspot_tickets.writes import RecordInvalid

_DATE_PARSERS: dict[str, Callable[[str], Any]] = {
    "date-time": parse_iso,
    "date": parse_iso_date,
}


class SchemaErrorCollector(BaseJSONSchemaValidator):
    """Check records against the stream schema, keeping the error instead of raising.

    A schema violation then becomes a reject of that one record, like every other check,
    rather than an exception that stops the run.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        """Prepare the schema's validator; no record checked yet."""
        super().__init__(schema)
        self._inner = JSONSchemaValidator(schema, validate_formats=True)
        self.last_error: RecordInvalid | None = None
        # jsonschema checks `date-time` only when an optional package is installed. Check
        # those formats here instead, with the parser the writes use.
        self._datelike = {
            name: fmt
            for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, Mapping) and (fmt := prop.get("format")) in _DATE_PARSERS
        }

    @override
    def validate(self, record: dict[str, Any]) -> None:
        """Check one record; keep its violation, if any, in `last_error`."""
        try:
            self._inner.validate(record)
        except InvalidRecord as exc:
            cause = exc.__cause__
            steps = getattr(cause, "absolute_path", None) or ()
            path = ".".join(str(p) for p in steps) or None
            where = f"field {path!r}: " if path else ""
            message = getattr(cause, "message", None) or str(exc)
            self.last_error = RecordInvalid(f"{where}{short(message)} (stream schema)", path)
        except Exception as exc:  # a value jsonschema itself cannot handle (a huge number)
            self.last_error = RecordInvalid(f"cannot be checked against the stream schema ({exc})")
        else:
            self.last_error = self._check_dates(record)

    def _check_dates(self, record: Mapping[str, Any]) -> RecordInvalid | None:
        for name, fmt in self._datelike.items():
            value = record.get(name)
            if not isinstance(value, str):
                continue
            try:
                _DATE_PARSERS[fmt](value)
            except ValueError:
                return RecordInvalid(
                    f"field {name!r}: {short(ascii(value))} is not a valid {fmt} (stream schema)",
                    name,
                )
        return None


def short(text: str, limit: int = 200) -> str:
    """Cut `text` to `limit` characters, marking the cut with `...`."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
