"""Check records against the stream schema, turning a violation into that record's reject.

The SDK's validator raises on the first bad record, which would stop the run; here the error
is kept (`SchemaErrorCollector.last_error`) and the sink rejects that one record, like every
other check.

An empty string in a column is no value given, as null is: a CSV sends every blank cell as
`""`, whatever type or format the upstream schema gives the column (`format: date` inferred by
tap-jsonl, `format: date-time` the SDK adds to `_sdc_deleted_at`, `[number, null]`). The schema
never rejects a record for it; the target's own rules then say what it means
(`empty_string_values`, "" in `_sdc_deleted_at` is not archived).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
            errors = self._inner.validator.iter_errors(record)
            error = next((e for e in errors if not _is_blank_cell(e)), None)
        except Exception as exc:  # a value jsonschema itself cannot handle (a huge number)
            self.last_error = RecordInvalid(f"cannot be checked against the stream schema ({exc})")
            return
        if error is None:
            self.last_error = self._check_dates(record)
            return
        path = ".".join(str(p) for p in error.absolute_path) or None
        where = f"field {path!r}: " if path else ""
        self.last_error = RecordInvalid(f"{where}{short(error.message)} (stream schema)", path)

    def _check_dates(self, record: Mapping[str, Any]) -> RecordInvalid | None:
        for name, fmt in self._datelike.items():
            value = record.get(name)
            if not isinstance(value, str) or value == "":
                continue
            try:
                _DATE_PARSERS[fmt](value)
            except ValueError:
                return RecordInvalid(
                    f"field {name!r}: {short(ascii(value))} is not a valid {fmt} (stream schema)",
                    name,
                )
        return None


def _is_blank_cell(error: Any) -> bool:
    """Tell whether a jsonschema `ValidationError` is about a column holding "" (no value)."""
    return len(error.absolute_path) == 1 and isinstance(error.instance, str) and not error.instance


def short(text: str, limit: int = 200) -> str:
    """Cut `text` to `limit` characters, marking the cut with `...`."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
