"""Turn one input record into a checked HubSpot write, or say exactly why it cannot be one.

Everything here runs before any write is sent: a record that fails a check becomes a reject and
never reaches HubSpot. The checks use the portal's own property definitions and pipelines, read
once per run. A record is checked whole: its reject names every problem found (`Problem`), not
only the first, and a misspelt name gets the closest one ("did you mean ...?").

Safe by default, for input as data teams send it (every CSV cell a string, a blank one `""`):

- an empty value (null or `""`) leaves HubSpot's value unless `null_values` /
  `empty_string_values` say `clear`;
- a column that is no ticket property is named once when the schema arrives; rows where it is
  empty are written without it, rows where it holds a value are rejected;
- a create needs a source id (`source_id_property`), so running the same input again never makes
  a second ticket; `allow_unkeyed_creates` lifts that, at the risk of duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_api.errors import ConfigError, did_you_mean
from hubspot_api.pipelines import Pipelines, UnknownStageError
from hubspot_api.properties import (
    HUBSPOT_MAINTAINED,
    PINNED_ENGAGEMENT,
    PIPELINE,
    PIPELINE_STAGE,
    REQUIRED_ON_CREATE,
    SUBJECT,
    PropertyDefinition,
    UnknownOptionError,
    is_writable,
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
from target_hubspot_tickets.fields import (
    ASSOCIATIONS_FIELD,
    check_storable,
    control_flag,
    id_text,
    parse_associations,
)
from target_hubspot_tickets.writes import (
    VALIDATION,
    Operation,
    Problem,
    RecordInvalid,
    TicketWrite,
)

# Columns the tap adds beside the properties, or that HubSpot maintains itself. They are never
# written, whatever the property definitions say: a tap's output must load unchanged.
SYSTEM_COLUMNS = READ_ONLY_COLUMNS | HUBSPOT_MAINTAINED
# Input fields that steer the write instead of being written: the record's control columns
# (`hubspot_api.records`) and the target's own list of links.
CONTROL_FIELDS = CONTROL_COLUMNS | {ASSOCIATIONS_FIELD}

# Clearing these would leave a ticket without a name or a place in a pipeline: a null in the
# input means "not given" for them, never "clear it".
NEVER_CLEARED = frozenset({SUBJECT, PIPELINE, PIPELINE_STAGE})

DROP = "drop"
REJECT = "reject"
READ_ONLY_MODES = (DROP, REJECT)
# What an empty value (null: `null_values`; "": `empty_string_values`) does on an update: leave
# HubSpot's value (`skip`), or clear it (`clear`). HubSpot's own API clears on "", but a CSV sends
# every blank cell as "": clearing is asked for, never assumed.
SKIP = "skip"
CLEAR = "clear"
NULL_MODES = (SKIP, CLEAR)
EMPTY_MODES = NULL_MODES
# How to let a create through when no source_id_property is set (`refuses_unkeyed_create`).
UNKEYED_CREATE_FIX = (
    "set source_id_property to a unique ticket property (create_source_id_property: true "
    "lets the target create it), or allow_unkeyed_creates: true to create without one"
)


@dataclass
class ValidatorSettings:
    """The settings that shape validation and routing."""

    id_property: str | None = None
    source_id_property: str | None = None
    read_only_columns: str = DROP
    null_values: str = SKIP
    empty_string_values: str = SKIP
    # Without a source id a re-run creates every new ticket again: refuse such creates unless
    # `allow_unkeyed_creates` says so.
    allow_unkeyed_creates: bool = False


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
                fix = (
                    "; create it (a single-line text property with unique values), or set "
                    "create_source_id_property: true to let the target create it"
                    if setting == "source_id_property"
                    else ""
                )
                raise ConfigError(
                    f"{setting}: property {name!r} does not exist on tickets"
                    f"{did_you_mean(name, self.definitions)}{fix}"
                )
            if not defn.has_unique_value:
                raise ConfigError(
                    f"{setting}: property {name!r} does not hold unique values (HubSpot's "
                    "hasUniqueValue is false); name a property created with unique values"
                )

    def warn_once(self, column: str, why: str) -> None:
        """Warn about a dropped column the first time it is seen in this run."""
        self._warn_first(column, f"column {column!r} is not written to HubSpot ({why}); dropped")

    def _warn_first(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warn(message)

    def check_columns(self, columns: Iterable[str]) -> None:
        """Name, once, each column of a stream schema that is no ticket property."""
        for name in columns:
            if name in CONTROL_FIELDS or name.startswith(SDC_PREFIX) or name in SYSTEM_COLUMNS:
                continue
            if name not in self.definitions:
                self._warn_unknown(name)

    def _warn_unknown(self, name: str) -> None:
        self._warn_first(
            name,
            f"{self._unknown(name)}; rows where it holds a value are rejected, empty ones are "
            "written without it",
        )

    def _unknown(self, name: str) -> str:
        """Say that column `name` is no ticket property, with the closest property name."""
        return f"column {name!r} is not a ticket property" + did_you_mean(name, self.definitions)

    def refuses_unkeyed_create(self, record: Mapping[str, Any]) -> bool:
        """Return whether `record` is a create this run must not send for want of a source id.

        Without `source_id_property` nothing ties a created ticket to its input row, so the
        same input sent again would create it again. That is the run's configuration, not the
        record's fault: the run stops at the first such create (its input after it unread and
        its state not handed back) rather than rejecting every create and moving on.
        """
        if self.settings.source_id_property is not None or self.settings.allow_unkeyed_creates:
            return False
        try:
            operation, _, _ = self._route(record)
        except RecordInvalid:
            return False  # rejected for its keys, as any record
        return operation is Operation.CREATE

    def prepare(
        self, record: Mapping[str, Any], position: int, trace_id: str, line: int = 0
    ) -> TicketWrite:
        """Return the write `record` asks for, or raise `RecordInvalid`.

        The steps: route it (`_route`), keep the columns it may write (`_given`), resolve its
        pipeline and stage, convert each value to HubSpot's text (`_set_properties`), then the
        checks of a create and the pinned engagement (`_finish`). Every step after routing
        notes its problems and goes on, so the refusal names them all.
        """
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
        problems: list[Problem] = []
        try:
            write.associations = parse_associations(record.get(ASSOCIATIONS_FIELD))
        except RecordInvalid as exc:
            problems.extend(exc.problems)
        given = self._given(record, write, problems)
        self._pipeline_and_stage(given, write, problems)
        self._set_properties(given, write, problems)
        self._finish(write, problems)
        if problems:
            raise RecordInvalid.of(problems, VALIDATION)
        return write

    def _given(
        self, record: Mapping[str, Any], write: TicketWrite, problems: list[Problem]
    ) -> dict[str, Any]:
        """Return the record's property values to write; note the columns dropped and why."""
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
                # An empty cell is no value. The column was named once when the schema came
                # (`check_columns`), unless the schema did not list it.
                self._warn_unknown(name)
                if value not in (None, ""):
                    problems.append(Problem(name, self._unknown(name)))
                continue
            if not is_writable(defn):
                if self.settings.read_only_columns == REJECT and value not in (None, ""):
                    problems.append(Problem(name, f"property {name!r} is read-only"))
                    continue
                self.warn_once(name, "read-only or calculated")
                write.dropped[name] = "read-only"
                continue
            if name == upsert_key_name(self.settings) and write.operation is Operation.UPSERT:
                continue  # travels as the upsert's `id`
            given[name] = value
        return given

    def _set_properties(
        self, given: Mapping[str, Any], write: TicketWrite, problems: list[Problem]
    ) -> None:
        """Convert each given value to HubSpot's text; an empty one clears only if asked to."""
        creating = write.operation is Operation.CREATE
        settings = self.settings
        for name, value in given.items():
            if name in (PIPELINE, PIPELINE_STAGE):
                continue  # resolved by `_pipeline_and_stage`
            try:
                text = self._convert(self.definitions[name], value, name)
            except RecordInvalid as exc:
                problems.extend(exc.problems)
                continue
            if text is None:
                mode = settings.null_values if value is None else settings.empty_string_values
                if creating or name in NEVER_CLEARED or mode != CLEAR:
                    continue
                text = ""  # an empty string clears the value on update
            write.properties[name] = text

    def _finish(self, write: TicketWrite, problems: list[Problem]) -> None:
        """Check what a create needs, and take the pinned engagement out of the properties."""
        creating = write.operation is Operation.CREATE
        if creating:
            named = {p.field for p in problems}
            if PIPELINE in named:  # its stage could not be looked up: not missing
                named.add(PIPELINE_STAGE)
            problems.extend(
                Problem(n, f"missing required field {n!r} for a new ticket")
                for n in REQUIRED_ON_CREATE
                if not write.properties.get(n) and n not in named
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

    # -- routing --------------------------------------------------------------------------------
    def _route(self, record: Mapping[str, Any]) -> tuple[Operation, str | None, str | None]:
        ticket_id = id_text(record.get(ID), ID)
        archived = control_flag(record.get(ARCHIVED), ARCHIVED)
        key_name = upsert_key_name(self.settings)
        upsert_key = id_text(record.get(key_name), key_name) if key_name else None
        # With both an id and a key, the id names the ticket and the key must agree with it
        # (checked against HubSpot before the write, `landing`): an upsert by the key would
        # create a second ticket, or write over the one that holds the key.
        if archived is True or record.get(DELETED_AT) not in (None, ""):
            if ticket_id is not None or upsert_key is not None:
                # Archived by its unique key alone: the sink reads the ticket id first.
                return Operation.ARCHIVE, ticket_id, upsert_key
            needs = f"{ID!r}" + (f" or a value in {key_name!r}" if key_name else "")
            raise RecordInvalid(f"an archived record needs {needs}", ID)
        if ticket_id is not None:
            return Operation.UPDATE, ticket_id, upsert_key
        if upsert_key is not None:
            return Operation.UPSERT, None, upsert_key
        return Operation.CREATE, None, None

    def _pipeline_and_stage(
        self, given: dict[str, Any], write: TicketWrite, problems: list[Problem]
    ) -> None:
        pipeline = None
        raw_pipeline = given.get(PIPELINE)
        if raw_pipeline not in (None, ""):
            pipeline = self.pipelines.resolve_pipeline(str(raw_pipeline))
            if pipeline is None:
                problems.append(
                    Problem(PIPELINE, self.pipelines.unknown_pipeline(str(raw_pipeline)))
                )
                return
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
                problems.append(Problem(PIPELINE_STAGE, str(exc)))
                return
            write.properties[PIPELINE_STAGE] = stage.id

    # -- values ---------------------------------------------------------------------------------
    def _convert(self, defn: PropertyDefinition, value: Any, name: str) -> str | None:
        if value is None:
            return None
        check_storable(value, name)
        try:
            text = to_hubspot(defn, value)  # an option named by its label becomes its value
        except (ValueConversionError, UnknownOptionError) as exc:
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
        return text


def upsert_key_name(settings: ValidatorSettings) -> str | None:
    """Return the unique property that routes records to upserts, if configured."""
    return settings.id_property
