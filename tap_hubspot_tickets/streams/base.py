"""The base of every stream: the run's shared HubSpot connection, always-emitted columns."""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream, metrics
from singer_sdk.exceptions import AbortedSyncExceptionBase
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib.catalog import Metadata, MetadataMapping
from typing_extensions import override

from hubspot_api.errors import HubSpotError
from hubspot_api.progress import StreamProgress
from hubspot_api.properties import OBJECT_ID
from hubspot_api.stopping import Stopped
from tap_hubspot_tickets.runtime import TapRuntime
from tap_hubspot_tickets.values import SurrogateSafeWriter, ValueProblems, surrogate_warning

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BatchConfig

JSON = dict[str, Any]

# Pages fetched ahead of the one being emitted: enough to hide a request's latency behind the
# emitting of the page before, few enough that memory stays flat.
READ_AHEAD_PAGES = 3
# The property a list call is asked for when the real ones travel in a POST body instead.
ID_ONLY = (OBJECT_ID,)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ProgressCounter(metrics.Counter):
    """The SDK's record counter, its METRIC lines unchanged, counting for `StreamProgress` too."""

    def __init__(self, counter: metrics.Counter, progress: StreamProgress) -> None:
        """Take over the SDK counter's metric, tags and interval."""
        super().__init__(counter.metric, counter.tags, log_interval=counter.log_interval)
        self.progress = progress

    @override
    def __enter__(self) -> ProgressCounter:
        self.progress.start()
        super().__enter__()
        return self

    @override
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc_val, exc_tb)
        if exc_type is None:
            self.progress.finish()

    @override
    def increment(self, value: int = 1) -> None:
        super().increment(value)
        self.progress.add(value)


class SdkLineFilter(logging.Filter):
    """Drop two lines the SDK logs for every stream that are untrue of these.

    - "Starting incremental sync of 'tickets' with bookmark value: None": the tickets stream
      reads by its own checkpoint, not that value, and says which part it reads and its bounds
      (`RunReport.add`).
    - "An unhandled error occurred while syncing ...", when the sync was stopped on purpose
      (`--test` stops each stream after its first record: nothing failed), by a signal
      (`Stopped`), or by an error this project raises and names in its own one line
      (`HubSpotError`: a refused call, an unusable answer, a corrupt state). An error of any
      other kind is a bug, and keeps the SDK's line naming the stream.
    """

    BOOKMARK_LINE = "Starting incremental sync of '%s' with bookmark value: %s"
    UNHANDLED_LINE = "An unhandled error occurred while syncing '%s'"

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.BOOKMARK_LINE:
            return False
        # The SDK logs that line inside its `except`, so the exception is the one in flight.
        stopped = isinstance(sys.exc_info()[1], AbortedSyncExceptionBase | HubSpotError | Stopped)
        return not (record.msg == self.UNHANDLED_LINE and stopped)

    @classmethod
    def install(cls, logger: logging.Logger) -> None:
        """Add the filter to `logger` once (stream loggers live as long as the process)."""
        if not any(isinstance(existing, cls) for existing in logger.filters):
            logger.addFilter(cls())


class HubSpotStream(Stream):
    """Base of every stream: access to the run's shared HubSpot connection."""

    # Columns emitted however narrow the selection, besides the keys and the replication key:
    # above all the ones that say a row was deleted. A Meltano `select` of `tickets.subject`
    # alone must still tell a deleted ticket from a live one.
    always_emitted: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tap: Tap, runtime: TapRuntime, schema: dict[str, Any]) -> None:
        """Keep the run's runtime; the schema comes from the subclass."""
        self.runtime = runtime
        # Values emitted as null because their column's type cannot hold them (values.py).
        self.value_problems = ValueProblems()
        # The FULL_TABLE version to activate once the whole stream is out (`_activate_version`).
        self._version_to_activate: int | None = None
        super().__init__(tap=tap, schema=schema)
        self.progress = StreamProgress(
            self.name, runtime.options.progress_interval, self.logger.info
        )
        SdkLineFilter.install(self.logger)

    @override
    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """Return the SDK's record counter, which also drives this stream's progress lines.

        The SDK counts every record it writes with it, and holds it open for the stream's
        whole sync: so the progress lines follow exactly what went out, and end with it. A
        stream read only for its children writes nothing, and says nothing.
        """
        counter = super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        return ProgressCounter(counter, self.progress) if self.selected else counter

    @override
    def log_sync_costs(self) -> None:
        """Also warn, once per field, about values this run could not emit as stored.

        The SDK calls this once per stream, at the end of the run.
        """
        super().log_sync_costs()
        for line in self.value_problems.warnings():
            self.logger.warning("%s", line)
        writer = getattr(self._tap, "message_writer", None)
        if isinstance(writer, SurrogateSafeWriter) and writer.replaced[self.name]:
            self.logger.warning("%s", surrogate_warning(self.name, writer.replaced[self.name]))

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        """Keep the version the SDK activates before reading: it goes out after (`sync`).

        ACTIVATE_VERSION tells the loader that rows of older versions are gone (target-postgres
        soft- or hard-deletes them). Sent first, as the SDK does, a read that then fails or is
        stopped leaves the warehouse with only the rows it got that far.
        """
        self._version_to_activate = full_table_version

    @override
    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        yield from super()._sync_records(context, write_messages=write_messages)
        if write_messages:  # else the records go into batch files (`_sync_batches`)
            self._activate_version()

    @override
    def _sync_batches(self, batch_config: BatchConfig, context: Context | None = None) -> None:
        super()._sync_batches(batch_config, context=context)
        self._activate_version()

    def _activate_version(self) -> None:
        """Send the held ACTIVATE_VERSION: every record of this run's version is out.

        Only reached when the whole stream was read and emitted: an error or a stop signal
        (`stopping`) leaves the loader's rows as they were.
        """
        version, self._version_to_activate = self._version_to_activate, None
        if version is not None:
            super()._write_activate_version_message(version)

    def automatic_columns(self) -> list[str]:
        """Return the columns always emitted: keys, replication key, `always_emitted`."""
        names = [*(self.primary_keys or ()), self.replication_key, *self.always_emitted]
        known = self.schema.get("properties", {})
        return [name for name in dict.fromkeys(names) if name and name in known]

    @property
    @override
    def metadata(self) -> MetadataMapping:
        """Return the catalog metadata, with `automatic_columns` always `inclusion: automatic`.

        The SDK marks keys and the replication key automatic only in the catalog it discovers;
        a catalog given to the tap (Meltano's, or one saved before a column became automatic)
        wins over that. Automatic inclusion is the tap's to declare, so it is applied to
        either: a selection then cannot drop these columns.
        """
        mapping = super().metadata
        for name in self.automatic_columns():
            breadcrumb = ("properties", name)
            entry = mapping.get(breadcrumb)
            if entry is None:
                mapping[breadcrumb] = Metadata(inclusion=Metadata.InclusionType.AUTOMATIC)
            elif entry.inclusion != Metadata.InclusionType.AUTOMATIC:
                entry.inclusion = Metadata.InclusionType.AUTOMATIC
        return mapping

    def _pool(self) -> ThreadPoolExecutor:
        """Return a worker pool sized to the client's concurrency."""
        return ThreadPoolExecutor(
            max_workers=self.runtime.settings.max_concurrency,
            thread_name_prefix=self.name,
        )
