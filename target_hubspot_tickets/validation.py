"""Turn one input record into a checked HubSpot write, or say exactly why it cannot be one.

Everything here runs before any write is sent: a record that fails a check becomes a reject and
never reaches HubSpot. The checks use the portal's own property definitions and pipelines, read
once per run.
"""

from __future__ import annotations

import decimal
import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hubspot_api.associations import (
    ASSOCIATION_CATEGORIES,
    HUBSPOT_DEFINED,
    association_types_json,
)
from hubspot_api.errors import ConfigError
from hubspot_api.objects import TICKET_DEFAULT_ASSOCIATION_TYPE_IDS, object_type_name
from hubspot_api.pipelines import Pipelines, UnknownStageError
from hubspot_api.properties import (
    HUBSPOT_MAINTAINED,
    PINNED_ENGAGEMENT,
    PIPELINE,
    PIPELINE_STAGE,
    REQUIRED_ON_CREATE,
    SUBJECT,
    PropertyDefinition,
    is_writable,
    unknown_option,
)
from hubspot_api.property_values import MAX_TEXT_VALUE_CHARS, ValueConversionError, to_hubspot
from hubspot_api.records import (
    ARCHIVED,
    CONTROL_COLUMNS,
    DELETED_AT,
    ID,
    READ_ONLY_COLUMNS,
    SDC_PREFIX,
)
from target_hubspot_tickets.rejects import to_json_value

# Columns the tap adds beside the properties, or that HubSpot maintains itself. They are never
# written, whatever the property definitions say: a tap's output must load unchanged.
SYSTEM_COLUMNS = READ_ONLY_COLUMNS | HUBSPOT_MAINTAINED
# Input fields that steer the write instead of being written: the record's control columns
# (`hubspot_api.records`) and the target's own list of links.
ASSOCIATIONS_FIELD = "associations"
CONTROL_FIELDS = CONTROL_COLUMNS | {ASSOCIATIONS_FIELD}

# Clearing these would leave a ticket without a name or a place in a pipeline: a null in the
# input means "not given" for them, never "clear it".
NEVER_CLEARED = frozenset({SUBJECT, PIPELINE, PIPELINE_STAGE})

DROP = "drop"
REJECT = "reject"
READ_ONLY_MODES = (DROP, REJECT)
# What a null does on an update: leave HubSpot's value (`skip`), or clear it (`clear`). An
# empty string always clears, as in HubSpot's own API.
SKIP = "skip"
CLEAR = "clear"
NULL_MODES = (SKIP, CLEAR)


class Operation(enum.Enum):
    """What a record asks HubSpot to do."""

    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    ARCHIVE = "archive"


class RecordInvalid(Exception):
    """A record failed a check; `field` names the offending input field when there is one."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        """Keep the reason and the field."""
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Association:
    """One link from a ticket to another CRM object."""

    to_object_type: str
    to_object_id: str
    association_type_id: int
    association_category: str

    def types_json(self) -> list[dict[str, Any]]:
        """Render HubSpot's `types` list for this link."""
        return association_types_json(self.association_category, self.association_type_id)


@dataclass
class TicketWrite:
    """One validated record: the operation, the key it targets and the wire-ready properties."""

    position: int
    trace_id: str
    record: Mapping[str, Any]
    operation: Operation
    properties: dict[str, str]
    # The input line the record came from (0 when not read from a line).
    line: int = 0
    ticket_id: str | None = None
    upsert_key: str | None = None
    associations: list[Association] | None = None
    pinned_engagement_id: str | None = None
    # The value a create carries in `source_id_property`, when that setting is used (set by
    # `source_ids.SourceIds` when the record brings none).
    source_key: str | None = None
    # Set once HubSpot tells us which ticket the write landed on.
    result_id: str | None = field(default=None, compare=False)
    # Columns of the record that are not written, and why ("read-only", ...).
    dropped: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def dedupe_key(self) -> tuple[str, str] | None:
        """Return the key two records in a batch share when they target the same ticket."""
        if self.upsert_key is not None and self.operation in (Operation.UPSERT, Operation.ARCHIVE):
            # An archive carries a key only when it has no id (see `RecordValidator._route`).
            return ("upsert", self.upsert_key)
        if self.ticket_id is not None:
            return ("id", self.ticket_id)
        if self.source_key is not None:
            # Two creates with one source id are one ticket (and one batch may not hold both).
            return ("source", self.source_key)
        return None

    def describe(self, stream: str) -> str:
        """Name the record in messages: stream, position and line in the input, its id if any."""
        return describe_record(
            stream,
            self.position,
            self.line,
            id=self.ticket_id,
            key=self.upsert_key,
            trace=self.trace_id,
        )


def describe_record(
    stream: str,
    position: int,
    line: int,
    *,
    id: str | None = None,
    key: str | None = None,
    trace: str | None = None,
) -> str:
    """Name a record the same way in every message: `tickets record #3 (line 4, id 12)`."""
    where = [f"line {line}"] if line else []
    if id is not None:
        where.append(f"id {id}")
    elif key is not None:
        where.append(f"key {key}")
    elif trace is not None:
        where.append(f"trace {trace}")
    return f"{stream} record #{position}" + (f" ({', '.join(where)})" if where else "")


@dataclass
class ValidatorSettings:
    """The settings that shape validation and routing."""

    id_property: str | None = None
    source_id_property: str | None = None
    read_only_columns: str = DROP
    null_values: str = SKIP


class RecordValidator:
    """Check records against the portal's property definitions and pipelines, and route them."""

    def __init__(
        self,
        definitions: Mapping[str, PropertyDefinition],
        pipelines: Pipelines,
        settings: ValidatorSettings,
        *,
        warn: Callable[[str], None],
    ) -> None:
        """Keep the portal's metadata; `warn` receives each one-per-run column warning."""
        self.definitions = dict(definitions)
        self.pipelines = pipelines
        self.settings = settings
        self._warn = warn
        self._warned: set[str] = set()
        for name in (settings.id_property, settings.source_id_property):
            if name is None:
                continue
            setting = "id_property" if name == settings.id_property else "source_id_property"
            defn = self.definitions.get(name)
            if defn is None:
                raise ConfigError(f"{setting}: property {name!r} does not exist on tickets")
            if not defn.has_unique_value:
                raise ConfigError(
                    f"{setting}: property {name!r} does not hold unique values (HubSpot's "
                    "hasUniqueValue is false); name a property created with unique values"
                )

    def warn_once(self, column: str, why: str) -> None:
        """Warn about a dropped column the first time it is seen in this run."""
        if column not in self._warned:
            self._warned.add(column)
            self._warn(f"column {column!r} is not written to HubSpot ({why}); dropped")

    def prepare(
        self, record: Mapping[str, Any], position: int, trace_id: str, line: int = 0
    ) -> TicketWrite:
        """Return the write `record` asks for, or raise `RecordInvalid`."""
        operation, ticket_id, upsert_key = self._route(record)
        write = TicketWrite(
            position=position,
            trace_id=trace_id,
            record=record,
            operation=operation,
            properties={},
            line=line,
            ticket_id=ticket_id,
            upsert_key=upsert_key,
        )
        if operation is Operation.ARCHIVE:
            return write
        write.associations = self._associations(record.get(ASSOCIATIONS_FIELD))
        creating = operation is Operation.CREATE
        given: dict[str, Any] = {}
        for name, value in record.items():
            if name in CONTROL_FIELDS or name.startswith(SDC_PREFIX):
                continue
            if name in SYSTEM_COLUMNS:
                self.warn_once(name, "HubSpot maintains it")
                write.dropped[name] = "maintained by HubSpot"
                continue
            defn = self.definitions.get(name)
            if defn is None:
                raise RecordInvalid(f"unknown property {name!r}", name)
            if not is_writable(defn):
                if self.settings.read_only_columns == REJECT and value not in (None, ""):
                    raise RecordInvalid(f"property {name!r} is read-only", name)
                self.warn_once(name, "read-only or calculated")
                write.dropped[name] = "read-only"
                continue
            if name == upsert_key_name(self.settings) and operation is Operation.UPSERT:
                continue  # travels as the upsert's `id`
            given[name] = value
        self._pipeline_and_stage(given, write)
        clear_nulls = self.settings.null_values == CLEAR
        for name, value in given.items():
            if name in (PIPELINE, PIPELINE_STAGE) and name in write.properties:
                continue
            text = self._convert(self.definitions[name], value, name)
            if text is None:
                if creating or name in NEVER_CLEARED or (value is None and not clear_nulls):
                    continue
                text = ""  # an empty string clears the value on update
            write.properties[name] = text
        if creating:
            missing = [n for n in REQUIRED_ON_CREATE if not write.properties.get(n)]
            if missing:
                raise RecordInvalid(
                    f"missing required field {missing[0]!r} for a new ticket", missing[0]
                )
            source = self.settings.source_id_property
            if source is not None and write.properties.get(source):
                write.source_key = write.properties[source]
            # Otherwise `source_ids.SourceIds` gives it one when its input segment ends.
        pinned = write.properties.pop(PINNED_ENGAGEMENT, None)
        if pinned:
            write.pinned_engagement_id = pinned
        elif pinned == "" and not creating:
            write.properties[PINNED_ENGAGEMENT] = ""
        return write

    # -- routing --------------------------------------------------------------------------------
    def _route(self, record: Mapping[str, Any]) -> tuple[Operation, str | None, str | None]:
        ticket_id = _id_text(record.get(ID), ID)
        archived = control_flag(record.get(ARCHIVED), ARCHIVED)
        key_name = upsert_key_name(self.settings)
        upsert_key = _id_text(record.get(key_name), key_name) if key_name else None
        if archived is True or record.get(DELETED_AT) not in (None, ""):
            if ticket_id is not None:
                return Operation.ARCHIVE, ticket_id, None
            if upsert_key is not None:
                # Archived by its unique key: the sink reads the ticket id before archiving.
                return Operation.ARCHIVE, None, upsert_key
            needs = f"{ID!r}" + (f" or a value in {key_name!r}" if key_name else "")
            raise RecordInvalid(f"an archived record needs {needs}", ID)
        if upsert_key is not None:
            return Operation.UPSERT, ticket_id, upsert_key
        if ticket_id is not None:
            return Operation.UPDATE, ticket_id, None
        return Operation.CREATE, None, None

    def _pipeline_and_stage(self, given: dict[str, Any], write: TicketWrite) -> None:
        pipeline = None
        raw_pipeline = given.get(PIPELINE)
        if raw_pipeline not in (None, ""):
            pipeline = self.pipelines.resolve_pipeline(str(raw_pipeline))
            if pipeline is None:
                raise RecordInvalid(f"unknown pipeline {raw_pipeline!r}", PIPELINE)
            write.properties[PIPELINE] = pipeline.id
        elif write.operation is Operation.CREATE:
            pipeline = self.pipelines.default
            if pipeline is not None:
                write.properties[PIPELINE] = pipeline.id
        raw_stage = given.get(PIPELINE_STAGE)
        if raw_stage not in (None, ""):
            try:
                stage = self.pipelines.resolve_stage(str(raw_stage), pipeline)
            except UnknownStageError as exc:
                raise RecordInvalid(str(exc), PIPELINE_STAGE) from None
            write.properties[PIPELINE_STAGE] = stage.id

    # -- values ---------------------------------------------------------------------------------
    def _convert(self, defn: PropertyDefinition, value: Any, name: str) -> str | None:
        if value is None:
            return None
        check_storable(value, name)
        try:
            text = to_hubspot(defn, value)
        except ValueConversionError as exc:
            raise RecordInvalid(str(exc), name) from None
        except (ValueError, ArithmeticError, OverflowError, TypeError) as exc:
            raise RecordInvalid(f"property {name!r}: cannot be written ({exc})", name) from None
        if len(text) > MAX_TEXT_VALUE_CHARS:
            raise RecordInvalid(
                f"property {name!r}: {len(text):,} characters, more than the "
                f"{MAX_TEXT_VALUE_CHARS:,} HubSpot stores",
                name,
            )
        if text == "":
            return None
        part = unknown_option(defn, text)
        if part is not None:
            shown = ", ".join(option.value for option in defn.options)
            raise RecordInvalid(f"{part!r} is not an option of {name!r} (options: {shown})", name)
        return text

    def _associations(self, raw: Any) -> list[Association] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise RecordInvalid(f"{ASSOCIATIONS_FIELD!r} must be a list", ASSOCIATIONS_FIELD)
        out: list[Association] = []
        for index, item in enumerate(raw):
            where = f"{ASSOCIATIONS_FIELD}[{index}]"
            if not isinstance(item, Mapping):
                raise RecordInvalid(f"{where} must be an object", where)
            to_type = item.get("to_object_type")
            if not isinstance(to_type, str) or not to_type.strip():
                raise RecordInvalid(f"{where}.to_object_type is missing", where)
            to_type = object_type_name(to_type)
            to_id = _id_text(item.get("to_object_id"), f"{where}.to_object_id")
            if to_id is None:
                raise RecordInvalid(f"{where}.to_object_id is missing", where)
            category = item.get("association_category") or HUBSPOT_DEFINED
            if category not in ASSOCIATION_CATEGORIES:
                raise RecordInvalid(f"{where}.association_category {category!r} is unknown", where)
            type_id = item.get("association_type_id")
            if type_id is None:
                type_id = TICKET_DEFAULT_ASSOCIATION_TYPE_IDS.get(to_type)
                if type_id is None:
                    raise RecordInvalid(
                        f"{where}.association_type_id is needed for {to_type!r}", where
                    )
            if isinstance(type_id, bool) or not isinstance(type_id, int | str):
                raise RecordInvalid(f"{where}.association_type_id must be an integer", where)
            try:
                type_number = int(type_id)
            except ValueError:
                raise RecordInvalid(
                    f"{where}.association_type_id must be an integer", where
                ) from None
            out.append(Association(to_type, to_id, type_number, str(category)))
        return out


# A lone UTF-16 surrogate: JSON text may carry one ("\ud800"), no Unicode text can.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Spellings of a control flag (`archived`) read as the user meant; anything else is refused.
_FLAG_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def check_storable(value: Any, name: str) -> None:
    """Refuse values JSON text allows but HubSpot cannot store: NaN, infinities, broken text."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _LONE_SURROGATE.search(item)
            if found is not None:
                raise RecordInvalid(
                    f"property {name!r}: holds a lone UTF-16 surrogate "
                    f"({found.group()!a} at character {found.start()}), which is not "
                    "text HubSpot can store",
                    name,
                )
        elif isinstance(item, float | decimal.Decimal):
            finite = math.isfinite(item) if isinstance(item, float) else item.is_finite()
            if not finite:
                raise RecordInvalid(
                    f"property {name!r}: {item} is not a number HubSpot stores", name
                )
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def control_flag(value: Any, name: str) -> bool | None:
    """Read a control column (`archived`) as the user meant it, or refuse it.

    true/false; the numbers 1/0; the strings "true"/"false", "1"/"0", "yes"/"no" in any case
    (CSV exports and databases spell booleans so). Null and "" mean "not given".
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | decimal.Decimal | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in _FLAG_WORDS:
            return _FLAG_WORDS[word]
    raise RecordInvalid(
        f'{name!r} must be true or false (or 1/0, "true"/"false", "yes"/"no"), not {_shown(value)}',
        name,
    )


def _shown(value: Any) -> str:
    text = ascii(to_json_value(value))
    return text if len(text) <= 60 else text[:57] + "..."


def upsert_key_name(settings: ValidatorSettings) -> str | None:
    """Return the unique property that routes records to upserts, if configured."""
    return settings.id_property


# More digits than any HubSpot id has; checked before a number is turned into an int.
_MAX_ID_DIGITS = 30
_MAX_ID = 10**_MAX_ID_DIGITS
_INTEGRAL_TEXT = re.compile(r"^[0-9]+\.0*$")


def _id_text(value: Any, name: str) -> str | None:
    """Return an id as text, or None when absent; refuse values that cannot be ids.

    Whole numbers given as floats (`1850000034.0`, what a float column or a CSV export makes of
    an id) are read as the integer they spell.
    """
    if value is None or value == "":
        return None
    if isinstance(value, float | decimal.Decimal) and not isinstance(value, bool):
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(repr(value))
        if (
            number.is_finite()
            and number.adjusted() < _MAX_ID_DIGITS
            and number == number.to_integral_value()
        ):
            return str(int(number))
        raise RecordInvalid(f"{name!r} must be a whole number, not {_shown(value)}", name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordInvalid(f"{name!r} must be a string or an integer", name)
    if isinstance(value, int):
        if abs(value) >= _MAX_ID:
            raise RecordInvalid(f"{name!r} is too large to be an id", name)
        return str(value)
    text = value.strip()
    if _LONE_SURROGATE.search(text):
        raise RecordInvalid(f"{name!r} holds a lone UTF-16 surrogate", name)
    if _INTEGRAL_TEXT.match(text):
        text = text.split(".", 1)[0]
    return text or None
