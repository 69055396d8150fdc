"""What every stream of one tap run shares: validated settings, the client, property metadata."""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from hubspot_api.client import HubSpotClient
from hubspot_api.clock import SERVER_CLOCK_UNCERTAINTY_MS
from hubspot_api.config import HubSpotSettings
from hubspot_api.errors import AuthError, ConfigError, DailyLimitError, HubSpotAPIError
from hubspot_api.instants import (
    SETTING_INSTANT_FORMS,
    from_epoch_ms,
    parse_setting_instant,
    to_iso,
    truncate_ms,
)
from hubspot_api.outputs import refuse_link
from hubspot_api.paths import Call
from hubspot_api.progress import DEFAULT_PROGRESS_INTERVAL_S, progress_interval
from hubspot_api.properties import PropertyDefinition, fetch_property_definitions
from tap_hubspot_tickets.portal import portal_id_of
from tap_hubspot_tickets.report import RunReport
from tap_hubspot_tickets.source import TicketSource

# History is one row per recorded value, so every property added multiplies rows and response
# size. These answer the usual support questions (time in stage, SLA per pipeline, escalations,
# reassignments, renamed tickets) without the long free-text ones such as `content`.
DEFAULT_HISTORY_PROPERTIES = (
    "hs_pipeline_stage",
    "hs_pipeline",
    "hs_ticket_priority",
    "hubspot_owner_id",
    "subject",
)
DEFAULT_ASSOCIATIONS = ("contacts", "companies", "deals")
# HubSpot documents no bound on search lag ("results lag writes by seconds, occasionally much
# more"). A change younger than the margin waits for the next run; a larger margin costs
# nothing but that delay, a smaller one risks a change never being read.
DEFAULT_SEARCH_LAG_MARGIN_S = 300

logger = logging.getLogger("tap-hubspot-tickets")


@dataclass(frozen=True)
class TapOptions:
    """The tap's own settings, validated."""

    start_date: datetime | None
    history_properties: tuple[str, ...]
    associations: tuple[str, ...]
    search_lag_margin: timedelta
    full_sync_search_assist: bool = True
    run_report_path: Path | None = None
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL_S  # seconds; 0: no progress lines

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TapOptions:
        """Validate the tap settings; raise `ConfigError` with one clear line."""
        start = config.get("start_date")
        if start is not None and not isinstance(start, str):
            raise ConfigError(f"start_date must be a string such as {SETTING_INSTANT_FORMS}")
        try:
            start_date = parse_setting_instant(start) if start and start.strip() else None
        except ValueError as exc:
            raise ConfigError(f"start_date {start!r} {exc}") from None
        margin = config.get("search_lag_margin_seconds", DEFAULT_SEARCH_LAG_MARGIN_S)
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise ConfigError("search_lag_margin_seconds must be a number of seconds >= 0")
        history = config.get("history_properties", DEFAULT_HISTORY_PROPERTIES)
        associations = config.get("associations", DEFAULT_ASSOCIATIONS)
        return cls(
            start_date=start_date,
            history_properties=tuple(dict.fromkeys(str(name) for name in history or ())),
            associations=tuple(dict.fromkeys(str(name) for name in associations or ())),
            search_lag_margin=timedelta(seconds=margin),
            full_sync_search_assist=bool(config.get("full_sync_search_assist", True)),
            run_report_path=_report_path(config.get("run_report_path")),
            progress_interval=progress_interval(config),
        )


def _report_path(value: Any) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError("run_report_path must be a string")
    return refuse_link(value, "run_report_path")


class TapRuntime:
    """One run's connection to HubSpot; built lazily so `--about` needs no credentials."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Validate the settings now; connect on first use."""
        self.settings = HubSpotSettings.from_config(config)
        self.options = TapOptions.from_config(config)
        # Whether ticket_associations reads this run (set before the streams sync), and the
        # ids of every live ticket when the tickets stream walked them all in this run: the
        # associations stream then reads theirs instead of walking the portal again.
        self.associations_selected = False
        self.walked_ids: array[int] | None = None

    @cached_property
    def client(self) -> HubSpotClient:
        """Return the client every stream and worker thread shares."""
        return HubSpotClient(self.settings)

    def hubspot_clock(self) -> tuple[datetime, datetime]:
        """Return HubSpot's now as (the latest it can be, the earliest it can be).

        Bookmarks compare with HubSpot's stamps (`hs_lastmodifieddate`, `archivedAt`), so they
        are HubSpot's time, not this machine's, which may run ahead: a bookmark past HubSpot's
        now would skip the changes it stamps until it catches up. A read ends at the latest,
        to miss nothing; a bookmark is at most the earliest. The `Date` header knows HubSpot's
        clock to a second (`SERVER_CLOCK_UNCERTAINTY_MS`), a synchronized machine far better:
        within that second the machine's clock is taken as HubSpot's, beyond it the header's.
        """
        local_ms = time.time_ns() // 1_000_000
        server_ms = self.client.server_now_ms()
        if abs(local_ms - server_ms) <= SERVER_CLOCK_UNCERTAINTY_MS:
            moment = from_epoch_ms(local_ms)
            return moment, moment
        return (
            from_epoch_ms(server_ms + SERVER_CLOCK_UNCERTAINTY_MS),
            from_epoch_ms(server_ms - SERVER_CLOCK_UNCERTAINTY_MS),
        )

    def hubspot_now(self) -> datetime:
        """Return the earliest HubSpot's clock can be now: the latest a bookmark may take."""
        return self.hubspot_clock()[1]

    def check_start_date(self) -> None:
        """Refuse a `start_date` past HubSpot's now, in one line.

        A first sync from it would read nothing and leave a bookmark that skips every older
        ticket for good. HubSpot's clock judges, not this machine's.
        """
        start = self.options.start_date
        if start is None:
            return
        latest = self.hubspot_clock()[0]
        if start > latest:
            raise ConfigError(
                f"start_date {to_iso(start)} is in the future (HubSpot's clock says "
                f"{to_iso(truncate_ms(latest))}): a sync from it would read nothing and skip "
                "every older ticket; give a date in the past, or none to read every ticket"
            )

    @cached_property
    def source(self) -> TicketSource:
        """Return the reads the streams make."""
        return TicketSource(self.client)

    @cached_property
    def report(self) -> RunReport:
        """Return the run's reconciliation, which the streams fill in (`report.py`)."""
        return RunReport(logger, self.options.run_report_path)

    @cached_property
    def portal_id(self) -> str | None:
        """Return the id of the portal the token opens, or None when HubSpot does not say.

        A token without access to the account details is not a reason to stop a sync: the
        state then stays unbound (`portal`), with a warning.
        """
        try:
            details = self.client.get_json(Call.ACCOUNT_DETAILS)
        except (AuthError, DailyLimitError):
            raise
        except HubSpotAPIError as exc:
            logger.warning("cannot tell which HubSpot portal this token opens (%s)", exc)
            return None
        return portal_id_of(details)

    @cached_property
    def definitions(self) -> dict[str, PropertyDefinition]:
        """Return the portal's ticket property definitions (one call, at discovery)."""
        return fetch_property_definitions(self.client)
