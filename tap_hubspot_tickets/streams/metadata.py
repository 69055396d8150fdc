"""The metadata streams: pipelines, their stages, and the definitions of ticket properties."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from singer_sdk.helpers.types import Context, Record
from typing_extensions import override

from hubspot_api.records import ARCHIVED, ID
from tap_hubspot_tickets.runtime import TapRuntime
from tap_hubspot_tickets.schemas import (
    PIPELINE_SCHEMA,
    PROPERTY_SCHEMA,
    STAGE_SCHEMA,
    pipeline_record,
    property_record,
    stage_records,
)
from tap_hubspot_tickets.streams.base import HubSpotStream

if TYPE_CHECKING:
    from singer_sdk import Tap


class TicketPipelinesStream(HubSpotStream):
    """Ticket pipelines, so stage and pipeline ids reach the warehouse with labels."""

    name = "ticket_pipelines"
    primary_keys: ClassVar[list[str]] = [ID]
    always_emitted = (ARCHIVED,)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed pipeline schema."""
        super().__init__(tap, runtime, PIPELINE_SCHEMA)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        for pipeline in self.runtime.source.pipelines():
            yield pipeline_record(pipeline)


class TicketPipelineStagesStream(HubSpotStream):
    """The stages of every ticket pipeline, keyed by pipeline and stage id."""

    name = "ticket_pipeline_stages"
    primary_keys: ClassVar[list[str]] = ["pipeline_id", "stage_id"]
    always_emitted = (ARCHIVED,)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed stage schema."""
        super().__init__(tap, runtime, STAGE_SCHEMA)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        for pipeline in self.runtime.source.pipelines():
            yield from stage_records(pipeline)


class TicketPropertiesStream(HubSpotStream):
    """The definitions of every ticket property (read once per run, at discovery)."""

    name = "ticket_properties"
    primary_keys: ClassVar[list[str]] = ["name"]
    always_emitted = (ARCHIVED,)

    def __init__(self, tap: Tap, runtime: TapRuntime) -> None:
        """Use the fixed property schema."""
        super().__init__(tap, runtime, PROPERTY_SCHEMA)

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        for defn in self.runtime.definitions.values():
            yield property_record(defn)
