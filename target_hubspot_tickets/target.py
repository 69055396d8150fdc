"""`target-hubspot-tickets`: write Singer `tickets` records into HubSpot CRM tickets."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import typing as th
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target
from typing_extensions import override

from hubspot_api.cli import ENV_CONFIG, config_paths, run_cli
from hubspot_api.client import HubSpotClient
from hubspot_api.config import SECRET_SETTINGS, HubSpotSettings, settings_schema
from hubspot_api.config_files import read_config_file, variable_prefix
from hubspot_api.errors import HubSpotError
from hubspot_api.outputs import OutputFileError, replace_checked_file
from hubspot_api.pipelines import Pipelines, read_pipelines
from hubspot_api.progress import PROGRESS_SETTING, SettleProgress
from hubspot_api.properties import (
    PropertyDefinition,
    create_unique_text_property,
    fetch_property_definitions,
)
from hubspot_api.records import TICKETS_STREAM
from hubspot_api.stopping import Stopped, StopSignals
from target_hubspot_tickets.checkpoints import Checkpoints
from target_hubspot_tickets.creates import CreateWriter
from target_hubspot_tickets.input import InputError, TicketsReader
from target_hubspot_tickets.options import (
    DEFAULT_ASSOCIATION_TYPES,
    DEFAULT_MAX_ARCHIVES,
    DEFAULT_UNKNOWN_OUTCOME_WAIT_S,
    GUARD_SETTINGS,
    TargetOptions,
    sdk_defaults_only_settings,
)
from target_hubspot_tickets.rejects import RejectsFile, Tally
from target_hubspot_tickets.results import ResultsFile
from target_hubspot_tickets.sinks import TicketsSink
from target_hubspot_tickets.source_ids import SourceIds
from target_hubspot_tickets.validation import (
    DROP,
    EMPTY_MODES,
    NULL_MODES,
    READ_ONLY_MODES,
    SKIP,
    RecordValidator,
)
from target_hubspot_tickets.writing import RunContext

TARGET_SETTINGS: tuple[th.Property[Any], ...] = (
    th.Property(
        "id_property",
        th.StringType,
        description=(
            "A unique (hasUniqueValue) ticket property: records carrying a value for it and "
            "no id are upserted (or archived) by it; with an id too, the value must be that "
            "ticket's (or new, while it holds none), else the record is rejected."
        ),
    ),
    th.Property(
        "source_id_property",
        th.StringType,
        description=(
            "A unique (hasUniqueValue) ticket property that receives a stable source id on "
            "every create, so a create is sent as an upsert: a resend, a restart or a re-run "
            "of the same input never makes a second ticket. Without it creates are refused "
            "(see allow_unkeyed_creates)."
        ),
    ),
    th.Property(
        "create_source_id_property",
        th.BooleanType,
        default=False,
        description=(
            "Consent to create the property named by source_id_property (a unique single-line "
            "text property in the ticket information group) when the portal lacks it; a dry "
            "run only says it would."
        ),
    ),
    th.Property(
        "allow_unkeyed_creates",
        th.BooleanType,
        default=False,
        description=(
            "Create tickets without source_id_property. A re-run of the same input then "
            "creates every new ticket again; within a run a create whose outcome is unknown "
            "is looked up by search before any resend."
        ),
    ),
    th.Property(
        "replace_associations",
        th.BooleanType,
        default=False,
        description=(
            "For existing tickets, remove associations the record no longer lists (for the "
            "object types it lists and those in association_types)."
        ),
    ),
    th.Property(
        "association_types",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_ASSOCIATION_TYPES),
        description="Object types replace_associations always reconciles, even if unlisted.",
    ),
    th.Property(
        "read_only_columns",
        th.StringType,
        default=DROP,
        allowed_values=list(READ_ONLY_MODES),
        description=(
            "'drop': read-only and calculated columns are left out with one warning each; "
            "'reject': a record with a value in one is rejected."
        ),
    ),
    th.Property(
        "null_values",
        th.StringType,
        default=SKIP,
        allowed_values=list(NULL_MODES),
        description=(
            "What a null does to an existing ticket: 'skip' leaves HubSpot's value as it is "
            "(a table's empty columns change nothing); 'clear' clears it."
        ),
    ),
    th.Property(
        "empty_string_values",
        th.StringType,
        default=SKIP,
        allowed_values=list(EMPTY_MODES),
        description=(
            "What an empty string does to an existing ticket: 'skip' leaves HubSpot's value "
            "as it is (a CSV's blank cells change nothing); 'clear' clears it."
        ),
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        description="JSON-lines file that receives every rejected record and why.",
    ),
    th.Property(
        "summary_path",
        th.StringType,
        description="JSON file that receives the run's counts when it ends.",
    ),
    th.Property(
        "max_rejects",
        th.IntegerType,
        default=0,
        description="The run fails (after writing everything else) when rejects exceed this.",
    ),
    th.Property(
        "max_archives",
        th.IntegerType,
        default=DEFAULT_MAX_ARCHIVES,
        description=(
            "A run whose input asks to archive more tickets than this archives none of them "
            "(they are rejected) and fails after writing everything else; -1 for no limit. "
            "HubSpot restores deleted tickets only through its UI."
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        description=(
            "Read the tickets the input touches, validate, and write the plan to plan_path "
            "instead of writing anything to HubSpot."
        ),
    ),
    th.Property(
        "plan_path",
        th.StringType,
        description=(
            "JSON-lines file that receives a dry run's plan: per record, the action and each "
            "property's current and new value."
        ),
    ),
    th.Property(
        "results_path",
        th.StringType,
        description=(
            "JSON-lines file that receives one line per input record: its position, keys, "
            "action, HubSpot id (created ones included) and reject reason."
        ),
    ),
    th.Property(
        "unknown_outcome_wait_s",
        th.NumberType,
        default=DEFAULT_UNKNOWN_OUTCOME_WAIT_S,
        description=(
            "Without source_id_property: how long to look (via search, which trails writes) "
            "for the tickets of a create batch whose outcome is unknown before resending."
        ),
    ),
    PROGRESS_SETTING,
    *sdk_defaults_only_settings(),
)


# The label and description of the property `create_source_id_property` creates.
SOURCE_ID_LABEL = "Source id (target-hubspot-tickets)"
SOURCE_ID_DESCRIPTION = (
    "The id of the source row each ticket was created from, set by target-hubspot-tickets so "
    "that writing the same row again updates this ticket instead of creating another."
)


class TooManyRejectsError(HubSpotError):
    """More records were rejected than `max_rejects` allows."""


class TooManyArchivesError(HubSpotError):
    """The input asked to archive more tickets than `max_archives` allows; none was archived."""


class TargetHubSpotTickets(Target):
    """Write `tickets` records into HubSpot: create, update, upsert, archive, associate."""

    name = "target-hubspot-tickets"
    package_name = "hubspot-tickets-connectors"
    config_jsonschema: ClassVar[dict[str, Any]] = settings_schema(*TARGET_SETTINGS)
    default_sink_class = TicketsSink
    # Whether this process wrote its summary file (`_record_refusal` writes it otherwise).
    summary_written: ClassVar[bool] = False
    message_reader_class = TicketsReader
    # Read by the command line, which stops on a misspelling of one before any input is read.
    guard_settings: ClassVar[Mapping[str, str]] = GUARD_SETTINGS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up the target; HubSpot is not contacted until the first SCHEMA message."""
        self._run: RunContext | None = None
        self._run_lock = threading.Lock()
        self._stdout_lock = threading.Lock()
        self.checkpoints = Checkpoints(self._emit_state)
        self.summary: dict[str, int] | None = None
        # Closing the results or rejects file failed (its last lines may not be durable).
        self.close_error: OutputFileError | None = None
        super().__init__(*args, **kwargs)
        # In place of the SDK's handler, which drains from wherever the signal lands and exits
        # 0: the input ends between two lines, what was read settles, and the run exits 143/130.
        self.stop_signals = _stop_signals(self.name).install()
        self.stop_signals.deferred = True
        if isinstance(self.message_reader, TicketsReader):
            self.message_reader.stop = self.stop_signals

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """Return the tickets sink; any other stream is a mistake in the pipeline."""
        if stream_name != TICKETS_STREAM:
            raise HubSpotError(
                f"stream {stream_name!r} cannot be written: this target writes only the "
                f"{TICKETS_STREAM!r} stream (rename it with a stream map if it holds tickets)"
            )
        return TicketsSink

    @cached_property
    def options(self) -> TargetOptions:
        """Return the target settings, validated once (`ConfigError` for a bad value)."""
        return TargetOptions.from_config(self.config)

    def run_context(self) -> RunContext:
        """Return the run's shared client, validator, rejects file and tally (built once)."""
        with self._run_lock:
            if self._run is None:
                self._run = self._build_run()
            return self._run

    def _build_run(self) -> RunContext:
        config = self.config
        options = self.options
        settings = HubSpotSettings.from_config(config)
        client = HubSpotClient(settings, logger=self.logger.getChild("api"))
        secrets = [str(config[k]) for k in SECRET_SETTINGS if config.get(k)]
        run_id = uuid.uuid4().hex[:12]
        secrets = [*secrets, *client.secrets()]
        rejects, results = open_outputs(options, secrets, run_id)
        definitions = fetch_property_definitions(client)
        source_property_planned = self._source_id_property(client, definitions)
        pipelines = Pipelines.from_api(read_pipelines(client))
        validator = RecordValidator(
            definitions, pipelines, options.validator, warn=self.logger.warning
        )
        tally = Tally()
        progress = SettleProgress(
            TICKETS_STREAM, options.progress_interval, self.logger.info, tally.progress
        )
        tally.watch = progress.poke
        run = RunContext(
            client,
            validator,
            rejects,
            tally,
            options.write,
            self.checkpoints,
            line_number=self._line_number,
            started_ms=client.server_now_ms(),
            run_id=run_id,
            progress=progress,
        )
        run.source_property_planned = source_property_planned
        run.results = results
        run.creates = CreateWriter(run, TICKETS_STREAM, self.logger.getChild("creates"))
        if options.write.source_id_property is not None:
            run.source_ids = SourceIds(options.write.source_id_property)
        return run

    def _source_id_property(
        self, client: HubSpotClient, definitions: dict[str, PropertyDefinition]
    ) -> bool:
        """Create `source_id_property` when the portal lacks it and the config consents.

        Return whether it is only planned: a dry run creates nothing, and plans its creates
        as if the (empty) property existed.
        """
        options = self.options
        name = options.write.source_id_property
        if name is None or name in definitions or not options.create_source_id_property:
            return False
        if options.write.dry_run:
            self.logger.warning(
                "Dry run: ticket property %r does not exist; the run would create it "
                "(unique single-line text, create_source_id_property: true)",
                name,
            )
            definitions[name] = PropertyDefinition(name, has_unique_value=True)
            return True
        definitions[name] = create_unique_text_property(
            client,
            name,
            label=SOURCE_ID_LABEL,
            description=SOURCE_ID_DESCRIPTION,
        )
        self.logger.warning(
            "Created ticket property %r (unique single-line text, group %r) to key creates "
            "by their source id (create_source_id_property: true)",
            name,
            definitions[name].group_name,
        )
        return False

    def _line_number(self) -> int:
        reader = self.message_reader
        return reader.line_number if isinstance(reader, TicketsReader) else 0

    # -- state: handed back as the records before it settle ---------------------------------------
    @override
    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        """Remember the state with the records read before it; it is emitted once they settle."""
        super()._process_state_message(message_dict)
        value = message_dict["value"]
        run = self._run
        if run is not None and run.source_ids is not None:
            run.source_ids.state(value)
        self.checkpoints.state_after(run.last_position if run is not None else 0, value)

    @override
    def _write_state_message(self, state: dict[str, Any]) -> None:
        """Let the checkpoints emit: after a full drain every state read is ready."""
        self.checkpoints.settle(())

    def _emit_state(self, value: Any) -> None:
        if self.options.write.dry_run:
            # Nothing was written: handing the state back would let the upstream tap skip, in
            # the real run that follows, the records this one only planned.
            return
        if self._run is not None:  # what the state covers is on disk first (or it never goes)
            self._run.sync_outputs()
        with self._stdout_lock, self.stop_signals.bounded_output():
            sys.stdout.write(json.dumps(value) + "\n")
            sys.stdout.flush()

    @override
    def process_endofpipe(self) -> None:
        """Drain everything, then report the counts; fail on bad input or too many rejects.

        When HubSpot stopped the run (a wrong token, the daily limit), nothing more is sent:
        the summary says how many records read were left unwritten, and the error is raised.
        """
        reader = self.message_reader
        stopped = reader.stopped_by if isinstance(reader, TicketsReader) else None
        signal = reader.signal if isinstance(reader, TicketsReader) else None
        archives_refused = 0
        try:
            if stopped is None and signal is not None:
                # A signal cut the input: the creates held for the state after them wait for
                # the run that reads it (their source ids are anchored to it), and archives
                # held for max_archives cannot be judged on part of the input. Both stay
                # unwritten and unsettled; the rest settles and its states go out.
                super().process_endofpipe()
            elif stopped is None:
                self._send_held_creates()
                super().process_endofpipe()
                archives_refused = self._write_held_archives()
        except BaseException as exc:
            self._write_summary(self._finish(), exc)
            raise
        tally = self._finish()
        # A signal that came while the end of the input was settled (no line left to read, so
        # no boundary to stop at) still ends the run as stopped: an orchestrator that sent it
        # must not read success.
        signal = signal or self.stop_signals.received()
        ended: BaseException | None = stopped or signal or self.close_error
        error = ended or self._end_error(reader, tally, archives_refused)
        self._write_summary(tally, error)
        if error is not None:
            raise error

    def _end_error(self, reader: object, tally: Tally, archives_refused: int) -> Exception | None:
        """Return the error a run that read its input to the end fails with, if any."""
        fatal = reader.fatal if isinstance(reader, TicketsReader) else None
        if fatal is not None:
            read = (
                f"{tally.received} record(s) before it" if tally.received else "nothing before it"
            )
            return InputError(f"{fatal}; input stopped there ({read} processed and checkpointed)")
        done = _written_or_planned(self.options.write.dry_run)
        if archives_refused:
            limit = self.options.write.max_archives
            message = (
                f"the input asks to archive {archives_refused} tickets, more than "
                f"max_archives={limit}: none was archived (they are rejected), everything else "
                f"{done}; raise max_archives (-1: no limit) to archive them"
            )
            self.logger.log(logging.ERROR, message)
            return TooManyArchivesError(message)
        max_rejects = self.options.max_rejects
        if tally.rejected > max_rejects:
            run = self._run
            where = f" (see {run.rejects.path})" if run and run.rejects.path else ""
            message = (
                f"{tally.rejected} record(s) rejected, more than max_rejects={max_rejects}"
                f"{where}; everything else {done}"
            )
            self.logger.log(logging.ERROR, message)
            return TooManyRejectsError(message)
        return None

    def _send_held_creates(self) -> None:
        """End the input's last segment; write its creates if no drain is left to take them."""
        run = self._run
        if run is None or run.source_ids is None:
            return
        run.source_ids.close_input()
        if not run.source_ids.has_ready:
            return
        sinks = [s for s in self._sinks_active.values() if isinstance(s, TicketsSink)]
        if sinks and all(s.current_size == 0 for s in sinks):
            sinks[0].process_batch({})

    def _write_held_archives(self) -> int:
        """Count and write the archives held for the end of the input (`max_archives`)."""
        run = self._run
        if run is None or not run.held_archives:
            return 0
        sink = next(s for s in self._sinks_active.values() if isinstance(s, TicketsSink))
        return sink.write_held_archives()

    def _finish(self) -> Tally:
        """Close the rejects file and the client; write and log the summary."""
        run = self._run
        tally = run.tally if run is not None else Tally()
        if run is not None:
            self.close_error = run.close_outputs()
            run.client.close()
            run.progress.finish()
            if run.options.dry_run:
                plan = self.options.plan_path
                self.logger.info(
                    "Dry run: nothing was written to HubSpot; the summary counts what a run "
                    "would do%s",
                    f", record by record in {plan}" if plan else "",
                )
        self.summary = tally.as_dict()
        self.logger.info("Run summary: %s", json.dumps(self.summary, sort_keys=False))
        if tally.accounted != tally.received:
            sent = run.checkpoints.unsettled(run.sent) if run is not None else 0
            missing = tally.received - tally.accounted
            self.logger.error("%s", no_outcome_text(missing, tally.received, sent))
        return tally

    def _write_summary(self, tally: Tally, error: BaseException | None) -> None:
        """Write the summary file: how the run ended, then its counts.

        `status` says whether the counts are a finished run's (`succeeded`), a run that ended
        in error (`failed`, with its one-line `error`) or one a signal stopped (`stopped`);
        `dry_run` whether they count writes or a plan. A monitor reads these first.
        """
        summary_path = self.options.summary_path
        if not summary_path:
            return
        status = "succeeded" if error is None else "failed"
        text = str(error) if error is not None else None
        if isinstance(error, Stopped):
            status, text = "stopped", f"{error.name} stopped the run; {error.outcome}"
        run = self._run
        if text is not None and run is not None:
            text = run.client.redact(text)
        document = {
            "status": status,
            "error": text,
            "dry_run": self.options.write.dry_run,
            **tally.as_dict(),
        }
        write_summary(self.options.summary_path, document, error, self.logger)
        type(self).summary_written = True


STOPPED_OUTCOME = (
    "the input was read up to a message boundary, every record read was settled and the state "
    "after it handed back: run again with the input after that state"
)
# After a signal, a state line stdout has not taken for this long ends the run: nobody reads it.
OUTPUT_STALL_S = 5.0
STALLED_OUTCOME = (
    f"its output was not read for {OUTPUT_STALL_S:g} s, so the state after the records settled "
    "was not handed back: run again with the input after the last state handed back"
)


def no_outcome_text(missing: int, read: int, sent: int) -> str:
    """Say what became of the records a stopped run left without an outcome.

    `sent` of the `missing` had their writes sent before the run stopped (an outcome that
    could not be recorded, an answer that told nothing): they may be in HubSpot. Every state
    handed back covers settled records only, so a re-run from the last one sends them all.
    """
    head = f"{missing} of {read} record(s) read have no outcome"
    if not sent:
        return (
            f"{head}: the run stopped before they were written (a re-run from the last state "
            "emitted sends them)"
        )
    maybe = (
        "their writes were sent before the run stopped, so they may have been written to HubSpot"
        if sent == missing
        else f"{sent} were sent before the run stopped, so they may have been written to "
        f"HubSpot, and {missing - sent} were not written"
    )
    return (
        f"{head}: {maybe}, but no state handed back covers them (a re-run from the last state "
        "emitted sends them again)"
    )


def _written_or_planned(dry_run: bool) -> str:
    return "was planned (a dry run writes nothing)" if dry_run else "was written"


def _stop_signals(command: str) -> StopSignals:
    """Return the target's stop: settling what was read may take long, so only stdout is bounded."""
    return StopSignals(
        STOPPED_OUTCOME,
        command=command,
        hard_stop_s=OUTPUT_STALL_S,
        hard_outcome=STALLED_OUTCOME,
        always_hard=False,
    )


def main() -> None:
    """Run the `target-hubspot-tickets` command line."""
    run_cli(TargetHubSpotTickets.cli, TargetHubSpotTickets.name, on_error=_record_refusal)


def _record_refusal(reason: str) -> None:
    """Write the summary file of a run that ended in error before the run wrote it.

    A run refused at start (a setting that does not apply, a misspelt guard, an api_url that
    cannot be used) reads no input, so the run's own summary is never written; without this
    the file of an earlier, successful run would stand as this run's outcome.
    """
    if TargetHubSpotTickets.summary_written:
        return
    config: dict[str, Any] = {}
    try:
        for path in config_paths(sys.argv[1:]):
            if path == ENV_CONFIG:
                prefix = variable_prefix(TargetHubSpotTickets.name)
                summary_path = os.environ.get(prefix + "SUMMARY_PATH")
                config.update({"summary_path": summary_path} if summary_path else {})
            else:
                config.update(read_config_file(path))
    except HubSpotError:
        return  # the config itself is what failed: no summary path can be trusted
    summary_path = config.get("summary_path")
    if not isinstance(summary_path, str) or not summary_path:
        return
    document = {
        "status": "failed",
        "error": reason,
        "dry_run": config.get("dry_run") is True,
        **Tally().as_dict(),
    }
    with contextlib.suppress(HubSpotError):
        write_summary(summary_path, document)


def open_outputs(
    options: TargetOptions, secrets: list[str], run_id: str
) -> tuple[RejectsFile, ResultsFile]:
    """Open the rejects and results (or plan) files, and write the summary as `running`.

    Done before HubSpot is asked anything: a file that cannot take the run's outcomes stops it
    before its first write, in one line. The first write of the summary is its check.
    """
    dry = options.write.dry_run
    # A dry run refuses nothing for real: its rejects are lines of the plan only.
    rejects = RejectsFile(None if dry else options.rejects_path, secrets, run_id)
    results = ResultsFile(
        options.plan_path if dry else options.results_path,
        secrets,
        run_id,
        options=options.write,
        planned=dry,
        setting="plan_path" if dry else "results_path",
    )
    write_summary(options.summary_path, {"status": "running", "error": None, "dry_run": dry})
    return rejects, results


def write_summary(
    summary_path: str | None,
    document: Mapping[str, Any],
    error: BaseException | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """Replace the summary file with `document` (`outputs.replace_checked_file`), if one is set.

    When the run ends in `error` already, a summary that cannot be written is logged (unless
    it is that error) and the run's own error stays the line it ends with.
    """
    if not summary_path:
        return
    try:
        replace_checked_file(summary_path, json.dumps(document, indent=2) + "\n", "summary_path")
    except OutputFileError as exc:
        if error is None or logger is None:
            raise
        if str(exc) != str(error):
            logger.error("%s", exc)


if __name__ == "__main__":
    main()
