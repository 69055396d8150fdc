"""Send a batch of writes, tie each answer back to its record, and isolate refusals.

Every property write but the create without a source id (`creates`) and the archive
(`archives`) goes through `BatchWriter`: one call, an input builder, and how a result that
carries no `objectWriteTraceId` is matched to its record. Per-input failures (207) come back
to their record (`writing.map_answer`); a whole-batch refusal is split until the bad records
stand alone (`splitting.isolate_refusals`); records HubSpot's answer left unexplained are sent
again one by one, so each gets its own answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from hubspot_api.paths import Call
from target_hubspot_tickets.splitting import isolate_refusals, split_logger
from target_hubspot_tickets.writes import TicketWrite
from target_hubspot_tickets.writing import (
    Pending,
    RunContext,
    answer_object,
    map_answer,
    reject_from,
)

# Builds one batch input from a record's write.
InputBuilder = Callable[[TicketWrite], dict[str, Any]]
# Tells whether a batch result (one without a trace id) belongs to a record.
Match = Callable[[Pending, Mapping[str, Any]], bool]


class BatchWriter:
    """Write one HubSpot batch through `call`, each input built by `build`."""

    def __init__(
        self,
        run: RunContext,
        stream_name: str,
        logger: logging.Logger,
        *,
        call: Call,
        build: InputBuilder,
        match: Match | None,
    ) -> None:
        """Keep the call, how to build its inputs and how to match results without a trace id."""
        self.run = run
        self.stream_name = stream_name
        self.logger = logger
        self.call = call
        self.build = build
        self.match = match

    def write(self, items: list[Pending]) -> None:
        """Send one batch; map results and per-input errors back; split whole-batch refusals."""
        outcome = isolate_refusals(items, self._send, on_split=split_logger(self.logger, "a"))
        for item, exc in outcome.refused:
            item.failure = reject_from(item.write, self.stream_name, exc)
        for batch, answer in outcome.accepted:
            for item in map_answer(self.run, self.stream_name, batch, answer, self.match):
                self.write([item])

    def _send(self, batch: list[Pending]) -> Mapping[str, Any]:
        body = {"inputs": [self.build(item.write) for item in batch]}
        return answer_object(self.run.client.call(self.call, json=body))


def match_by_id(item: Pending, result: Mapping[str, Any]) -> bool:
    """Return whether a result is the ticket the record names by id."""
    return item.write.ticket_id is not None and str(result.get("id")) == item.write.ticket_id


def match_by_result_id(item: Pending, result: Mapping[str, Any]) -> bool:
    """Return whether a result is the ticket the record was written to (or names)."""
    return item.ticket_id is not None and str(result.get("id")) == item.ticket_id
