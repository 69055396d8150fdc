"""What the tap's command line says while it works: true lines, and no false alarms.

The SDK's own settings (`batch_config` above all) are known settings, and BATCH works; `--test`
reads one record per stream without an error line; the tickets stream says which tickets it
reads instead of the SDK's "bookmark value: None".
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.journeys

STREAMS = ("ticket_pipeline_stages", "ticket_pipelines", "ticket_properties", "tickets")


def test_batch_config_is_known_and_hands_every_ticket_over_in_jsonl_files(
    emulator, tap_cli, tmp_path
):
    server = emulator(tickets=250, seed=71)
    root = tmp_path / "batches"
    done = tap_cli(
        server,
        associations=[],
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": root.as_uri(), "prefix": "hubspot-"},
        },
    )
    assert done.returncode == 0, done.describe()
    assert "unknown setting" not in done.stderr, done.describe()

    messages = done.messages
    batches = [m for m in messages if m["type"] == "BATCH" and m["stream"] == "tickets"]
    assert batches, "no BATCH message for tickets"
    ids: list[str] = []
    for batch in batches:
        assert batch["encoding"]["format"] == "jsonl"
        for url in batch["manifest"]:
            path = Path(url.removeprefix("file://"))
            assert path.parent == root
            assert path.name.startswith("hubspot-")
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                ids += [json.loads(line)["id"] for line in lines]
    assert sorted(ids) == sorted(t["id"] for t in server.portal.snapshot())
    assert done.records("tickets") == []
    # No state claims tickets before the BATCH message that hands them over.
    first_batch = messages.index(batches[0])
    early = [
        m["value"]["bookmarks"]["tickets"]
        for m in messages[:first_batch]
        if m["type"] == "STATE" and m["value"].get("bookmarks", {}).get("tickets")
    ]
    assert early == [], f"states before the tickets were handed over: {early[:2]}"


def test_about_advertises_batch(tap_cli, emulator):
    done = tap_cli(emulator(), options=["--about", "--format", "json"])
    assert done.returncode == 0, done.describe()
    about = json.loads(done.stdout)
    assert "batch" in about["capabilities"]
    assert "batch_config" in about["settings"]["properties"]


def test_the_connection_test_reads_a_record_per_stream_without_an_error_line(emulator, tap_cli):
    server = emulator(tickets=30, seed=72)
    done = tap_cli(server, options=["--test"])
    assert done.returncode == 0, done.describe()
    assert "unhandled error" not in done.stderr, done.describe()
    assert "| ERROR " not in done.stderr, done.describe()
    for stream in (*STREAMS, "ticket_property_history", "ticket_associations"):
        assert len(done.records(stream)) == 1, stream


def test_each_read_of_tickets_is_named_with_its_bounds_not_a_bookmark_of_none(emulator, tap_cli):
    server = emulator(tickets=30, seed=73)
    first = tap_cli(server, associations=[])
    assert first.returncode == 0, first.describe()
    assert "bookmark value" not in first.stderr, first.describe()
    assert "Reading tickets: full walk (created before " in first.stderr, first.describe()

    second = tap_cli(server, state=first.state, associations=[])
    assert second.returncode == 0, second.describe()
    assert "bookmark value" not in second.stderr, second.describe()
    bookmark = first.state["bookmarks"]["tickets"]["replication_key_value"]
    assert f"Reading tickets: window (modified {bookmark} to " in second.stderr, second.describe()
    assert "Reading tickets: archived (archived since " in second.stderr, second.describe()


def test_the_target_refuses_a_batch_message_it_would_drop(emulator, singer_input, target_cli):
    server = emulator(tickets=5, seed=74)
    singer = singer_input(server)
    batch = json.dumps(
        {
            "type": "BATCH",
            "stream": "tickets",
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "manifest": ["file:///nonexistent/tickets-1.json.gz"],
        }
    )
    done = target_cli(server, [singer.schema(), batch])
    line = done.assert_one_line_error("line 2: a BATCH message", "without batch_config")
    assert "takes RECORD messages" in line
