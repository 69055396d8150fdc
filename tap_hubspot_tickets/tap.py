"""The `tap-hubspot-tickets` Singer tap: settings and streams."""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any, ClassVar, cast

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)
from typing_extensions import override

from hubspot_api.cli import run_cli
from hubspot_api.config import settings_schema
from hubspot_api.errors import ConfigError
from hubspot_api.paths import Call
from hubspot_api.progress import PROGRESS_SETTING
from hubspot_api.records import TICKET_BASE_COLUMNS
from hubspot_api.stopping import StopSignals
from tap_hubspot_tickets.portal import bind_state
from tap_hubspot_tickets.preflight import Selection, run_preflight
from tap_hubspot_tickets.runtime import (
    DEFAULT_ASSOCIATIONS,
    DEFAULT_HISTORY_PROPERTIES,
    DEFAULT_SEARCH_LAG_MARGIN_S,
    TapRuntime,
)
from tap_hubspot_tickets.streams import (
    TicketAssociationsStream,
    TicketPipelinesStream,
    TicketPipelineStagesStream,
    TicketPropertiesStream,
    TicketPropertyHistoryStream,
    TicketsStream,
)
from tap_hubspot_tickets.values import SurrogateSafeWriter
from tap_hubspot_tickets.windows import STATE_WAY_OUT, check_tickets_state

TAP_SETTINGS: tuple[th.Property[Any], ...] = (
    th.Property(
        "start_date",
        # A string, not a date-time: Meltano rewrites a `date_iso8601` value it can parse at
        # all (01/02/2024 became 2 January), so the tap parses it, strictly (`runtime.py`).
        th.StringType,
        description=(
            "Bound the first sync to tickets created or modified at or after this instant "
            "(and archived tickets deleted at or after it): an ISO 8601 date (2024-12-10, "
            "midnight UTC) or date-time with its offset (2024-12-10T08:30:00Z). Not in the "
            "future. Without it the first sync reads every ticket."
        ),
    ),
    th.Property(
        "history_properties",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_HISTORY_PROPERTIES),
        description=(
            "Properties whose every recorded value goes to ticket_property_history. Each one "
            "adds a row per change, so keep the list to what you analyse."
        ),
    ),
    th.Property(
        "associations",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_ASSOCIATIONS),
        description="Object types whose associations with tickets go to ticket_associations.",
    ),
    th.Property(
        "search_lag_margin_seconds",
        th.IntegerType,
        default=DEFAULT_SEARCH_LAG_MARGIN_S,
        description=(
            "Runs read every change up to now, but keep their bookmark this much earlier, since "
            "HubSpot's search index lags writes: a change it indexed late is read next run."
        ),
    ),
    th.Property(
        "full_sync_search_assist",
        th.BooleanType,
        default=True,
        description=(
            "During a full sync, and for the ticket ids ticket_associations walks every run, "
            "read from the highest ticket id down through the search API while the list API "
            "reads up from the lowest: the two budgets together are about twice as fast. Turn "
            "off to read through the list API only."
        ),
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=True,
        description=(
            "Send ACTIVATE_VERSION for the full-table streams (associations, pipelines, "
            "stages, properties) so rows that disappeared in HubSpot are removed downstream. "
            "It follows a stream's last record; a read that fails or is stopped sends none."
        ),
    ),
    th.Property(
        "run_report_path",
        th.StringType,
        description=(
            "JSON file for the run's reconciliation: for each part of the tickets read (full "
            "walk, windows, archived pass) HubSpot's own count beside what the run emitted, "
            "and the records of the streams HubSpot cannot count. The same table is logged."
        ),
    ),
    PROGRESS_SETTING,
)


class TapHubSpotTickets(Tap):
    """Singer tap for HubSpot CRM tickets, their history, associations and pipelines."""

    name = "tap-hubspot-tickets"
    package_name = "hubspot-tickets-connectors"
    config_jsonschema: ClassVar[dict[str, Any]] = settings_schema(*TAP_SETTINGS)
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        TapCapabilities.DISCOVER,
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        # `batch_config`: records go to JSONL or Parquet files named in BATCH messages.
        PluginCapabilities.BATCH,
    ]
    # Strict JSON on stdout whatever HubSpot stored: lone surrogates become U+FFFD (values.py).
    message_writer_class = SurrogateSafeWriter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build the tap; SIGTERM and SIGINT stop it with its state written (`stopping`).

        In place of the SDK's handler, which writes the state from wherever the signal lands
        and exits 0: a sync stops before its next message, and the run exits 143/130.
        """
        super().__init__(*args, **kwargs)
        self.stop_signals = StopSignals(
            STOPPED_OUTCOME,
            command=self.name,
            hard_stop_s=HARD_STOP_S,
            hard_outcome=HARD_STOPPED_OUTCOME,
        ).install()
        self.stop_signals.on_stop = self._write_last_state
        self._last_message = ""
        if isinstance(self.message_writer, SurrogateSafeWriter):
            self.message_writer.before_write = self._before_message

    def _before_message(self, kind: str) -> None:
        """Stop, once a signal came, right after a STATE: the output then ends with one.

        Records written after the last STATE would be sent again by the run that resumes from
        it, twice over in an append-only loader. A stream checkpoints after every page, so
        the next STATE is a page away; one that writes none for `STOP_GRACE_S` stops anyway,
        with the state as it stands.
        """
        previous, self._last_message = self._last_message, kind
        stop = self.stop_signals
        if stop.signum is not None and (previous == "STATE" or stop.waited_s() >= STOP_GRACE_S):
            stop.check()

    def _write_last_state(self) -> None:
        """Write the state as it stands: it covers every record written before it.

        With `batch_config`, records wait in files until their BATCH message, and the SDK
        writes the state after each one: that last STATE already covers what was handed over.
        """
        if not self.config.get("batch_config"):
            self.state_writer.write_state(self.state)

    @cached_property
    def runtime(self) -> TapRuntime:
        """Return the run's HubSpot connection (validated settings, client, metadata)."""
        return TapRuntime(self.config)

    @override
    def setup_mapper(self) -> None:
        """Check the run report's file first, then set up the SDK's mapper.

        The mapper reads the catalog, which discovers the streams from the portal's properties:
        this is the first step of a sync (and of `--test`) that asks HubSpot anything, so the
        report file is written here as its check (`RunReport.start`); discovery skips it.
        """
        self.runtime.report.start()
        super().setup_mapper()

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        """Load the bookmarks, and keep the whole input state to check its portal (`portal`).

        A state whose bookmarks this tap cannot read stops the run in one line, naming the entry.
        """
        bookmarks = state.get("bookmarks", {})
        where = "state: bookmarks"
        if not isinstance(bookmarks, dict):
            raise ConfigError(f"{where} is not an object{STATE_WAY_OUT}")
        for stream, value in bookmarks.items():
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{stream} is not an object{STATE_WAY_OUT}")
        try:
            check_tickets_state(bookmarks.get(TicketsStream.name, {}))
        except ValueError as exc:
            raise ConfigError(f"{where}.{TicketsStream.name}: {exc}{STATE_WAY_OUT}") from None
        self._incoming_state = state
        super().load_state(state)

    @override
    def _reset_state_progress_markers(self) -> None:
        """Refuse another portal's state before anything is read (`portal`).

        The first step of the SDK's `sync_all` (which is final), so it runs before any stream.
        """
        # From here on messages are written: a signal waits for the next one (`stopping`).
        self.stop_signals.deferred = True
        state = cast("dict[str, Any]", self.state)
        note = bind_state(getattr(self, "_incoming_state", None), state, self.runtime.portal_id)
        if note:
            self.logger.warning("%s", note)
        super()._reset_state_progress_markers()

    @override
    def _set_compatible_replication_methods(self) -> None:
        """Check the settings and the catalog against the portal first (`preflight`).

        The second step of the SDK's final `sync_all`, after the state is bound to its portal
        and before the first STATE message or record: a problem is reported before any data
        moves. The names left after the checks are the ones the streams read.
        """
        self._preflight()
        super()._set_compatible_replication_methods()

    def _preflight(self) -> None:
        runtime = self.runtime
        runtime.check_start_date()
        streams = self.streams
        tickets = streams[TicketsStream.name]
        if tickets.selected and isinstance(tickets, TicketsStream):
            tickets.selected_definitions()  # a property's type changed since discovery: stop
        given = tickets.effective_schema.get("properties") or {}
        ticket_properties = tuple(
            name
            for name in given
            if name not in TICKET_BASE_COLUMNS and tickets.mask[("properties", name)]
        )
        history = streams[TicketPropertyHistoryStream.name]
        associations = streams[TicketAssociationsStream.name]
        options = runtime.options
        findings = run_preflight(
            history_properties=options.history_properties,
            associations=options.associations,
            property_names=runtime.definitions.keys(),
            base_columns=TICKET_BASE_COLUMNS,
            selection=Selection(
                tickets=tickets.selected,
                history=history.selected,
                associations=associations.selected,
                ticket_properties=ticket_properties,
            ),
            labels=lambda to_type: runtime.client.get_json(
                Call.ASSOCIATION_LABELS, to_type=to_type
            ),
        )
        for line in findings.warnings:
            self.logger.warning("%s", line)
        runtime.associations_selected = associations.selected and bool(findings.associations)
        runtime.options = dataclasses.replace(
            options,
            history_properties=findings.history_properties,
            associations=findings.associations,
        )

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """Return the streams in the SDK's order (by name), but ticket_associations last.

        The SDK syncs them in this order. A first sync's tickets walk then hands
        ticket_associations the ids of every live ticket, so it reads their associations
        without walking the portal a second time (`TicketsStream._read`).
        """
        streams = super().streams
        name = TicketAssociationsStream.name
        if name in streams and next(reversed(streams)) != name:
            streams[name] = streams.pop(name)  # the SDK's own cached mapping, reordered once
        return streams

    @override
    def discover_streams(self) -> list[Stream]:
        runtime = self.runtime
        return [
            TicketsStream(self, runtime),
            TicketPropertyHistoryStream(self, runtime),
            TicketAssociationsStream(self, runtime),
            TicketPipelinesStream(self, runtime),
            TicketPipelineStagesStream(self, runtime),
            TicketPropertiesStream(self, runtime),
        ]


STOPPED_OUTCOME = (
    "the last STATE written covers every record written before it: run again from it to resume"
)
# After a signal the run stops right after the next STATE, or after this long without one.
STOP_GRACE_S = 5.0
# ... and ends this long after the signal whatever it waits for: a reader that takes nothing
# more, or a call in its retries (`stopping`).
HARD_STOP_S = 10.0
HARD_STOPPED_OUTCOME = (
    f"it reached no safe point within {HARD_STOP_S:g} s (stdout not read, or a HubSpot call "
    "still in its retries) and ended there: the last whole STATE written covers every record "
    "written before it (a line after it may be cut short): run again from it to resume"
)


def main() -> None:
    """Run the `tap-hubspot-tickets` command line."""
    run_cli(TapHubSpotTickets.cli, TapHubSpotTickets.name)


if __name__ == "__main__":
    main()
