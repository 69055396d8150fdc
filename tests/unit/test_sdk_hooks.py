"""The singer-sdk internals the connectors rely on, each with its reason, checked against the SDK.

singer-sdk has no public hook for these; an SDK upgrade that renames or reorders one would make
an override silently dead. Every entry names the SDK member, the parameters the override
expects, and why the connector needs it; the tests fail loudly if the SDK no longer matches.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.sinks.core import Sink
from singer_sdk.target_base import Target

from tap_hubspot_tickets.streams import TicketCompanionStream, TicketsStream
from tap_hubspot_tickets.tap import TapHubSpotTickets
from target_hubspot_tickets.sinks import TicketsSink
from target_hubspot_tickets.target import TargetHubSpotTickets


@dataclass(frozen=True)
class Hook:
    base: type
    name: str
    parameters: tuple[str, ...]
    overridden_by: tuple[type, ...]
    why: str


HOOKS = [
    Hook(
        Stream,
        "_increment_stream_state",
        ("self", "latest_record", "context"),
        (TicketsStream, TicketCompanionStream),
        "the tickets stream keeps its own checkpoint per page (windows.TicketsCheckpoint), and its "
        "companions ride on it; the SDK's per-record bookmark would pass a window's upper bound",
    ),
    Hook(
        Stream,
        "_generate_record_messages",
        ("self", "record"),
        (TicketsStream,),
        "a ticket record the SDK would hand on unchanged (nothing to deselect, no conformance, "
        "the identity map) skips its per-record steps: a quarter of the tap's CPU",
    ),
    Hook(
        Tap,
        "_reset_state_progress_markers",
        ("self",),
        (TapHubSpotTickets,),
        "the first step of the final sync_all: the state is bound to its portal before any read",
    ),
    Hook(
        Tap,
        "_set_compatible_replication_methods",
        ("self",),
        (TapHubSpotTickets,),
        "the second step of sync_all: settings and catalog are checked before the first STATE",
    ),
    Hook(
        Sink,
        "_parse_timestamps_in_record",
        ("self", "record", "schema", "treatment"),
        (TicketsSink,),
        "the SDK raises TypeError on a number in a date-time column; validation rejects it instead",
    ),
    Hook(
        Sink,
        "_singer_validate_message",
        ("self", "record"),
        (TicketsSink,),
        "a record without its key (`id`) is a create, not a MissingKeyPropertiesError",
    ),
    Hook(
        Target,
        "_process_state_message",
        ("self", "message_dict"),
        (TargetHubSpotTickets,),
        "each STATE is remembered with the records read before it (checkpoints.Checkpoints)",
    ),
    Hook(
        Target,
        "_write_state_message",
        ("self", "state"),
        (TargetHubSpotTickets,),
        "states are emitted as batches settle, by the checkpoints, not after each full drain",
    ),
]


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: f"{h.base.__name__}.{h.name}")
def test_each_sdk_member_we_override_still_exists_with_its_parameters(hook):
    member = getattr(hook.base, hook.name, None)
    assert callable(member), f"singer-sdk no longer has {hook.base.__name__}.{hook.name}"
    assert tuple(inspect.signature(member).parameters) == hook.parameters, hook.why
    for cls in hook.overridden_by:
        assert hook.name in vars(cls), f"{cls.__name__} no longer overrides {hook.name}"


def test_sync_all_still_calls_our_two_hooks_first_and_in_order():
    source = inspect.getsource(Tap.sync_all)
    first = source.index("_reset_state_progress_markers()")
    second = source.index("_set_compatible_replication_methods()")
    streams = source.index("stream.sync()")
    assert first < second < streams


def test_the_target_sdk_still_drains_then_writes_state_and_checks_keys_per_record():
    drain = inspect.getsource(Target.drain_all)
    assert drain.index("_drain_all(") < drain.index("_write_state_message(")
    record = inspect.getsource(Target._process_record_message)
    assert "_singer_validate_message(" in record
    assert "_validate_and_parse(" in record
    assert "_parse_timestamps_in_record(" in inspect.getsource(Sink._validate_and_parse)


def test_streams_still_sync_in_the_order_of_the_cached_streams_mapping():
    # TapHubSpotTickets.streams moves ticket_associations last, after the tickets walk, in the
    # mapping the SDK caches and syncs from.
    assert "for stream in self.streams.values()" in inspect.getsource(Tap.sync_all)
    assert "self._streams[stream.name] = stream" in inspect.getsource(Tap.streams.fget)
    assert "return self._streams" in inspect.getsource(Tap.streams.fget)


def test_the_sdk_still_deselects_conforms_and_maps_in_generate_record_messages():
    # The steps TicketsStream._plain_output proves redundant before skipping them.
    source = inspect.getsource(Stream._generate_record_messages)
    for step in ("pop_deselected_record_properties(", "conform_record_data_types(", "stream_maps"):
        assert step in source


def test_stream_attributes_the_tickets_stream_sets_per_run_still_exist():
    # TicketsStream reassigns TYPE_CONFORMANCE_LEVEL per run and flushes state_manager itself.
    assert hasattr(Stream, "TYPE_CONFORMANCE_LEVEL")
    assert "state_manager" in dir(Stream)
