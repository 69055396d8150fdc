"""The tap's writer: one strict UTF-8 JSON line per message, exact numbers, flushed at STATEs."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from singer_sdk.singerlib.encoding.simple import RecordMessage, SimpleSingerWriter, StateMessage

from tap_hubspot_tickets.values import SurrogateSafeWriter

WHEN = datetime(2026, 12, 1, 1, 2, 3, 456789, tzinfo=UTC)


class CountingBuffer(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.getvalue()))
        super().flush()


def _record(**values: object) -> RecordMessage:
    return RecordMessage(stream="tickets", record=dict(values), time_extracted=WHEN)


def test_lines_say_what_the_sdk_writer_says():
    message = _record(
        id="7", amount=Decimal("1.50"), big=Decimal("1E+2"), open=True, none=None, text="é ☃"
    )
    ours = json.loads(SurrogateSafeWriter(io.BytesIO()).encode(message), parse_float=Decimal)
    sdk = json.loads(SimpleSingerWriter().serialize_message(message), parse_float=Decimal)
    assert ours == sdk
    assert b'"amount":1.50' in SurrogateSafeWriter(io.BytesIO()).encode(message)


def test_lone_surrogates_and_huge_integers_take_the_careful_path():
    writer = SurrogateSafeWriter(io.BytesIO())
    line = writer.encode(_record(text="a\ud83db", count=10**30, pair="\ud83d\ude00"))
    decoded = json.loads(line)
    assert decoded["record"] == {"text": "a\ufffdb", "count": 10**30, "pair": "\U0001f600"}
    line.decode("utf-8")  # strict UTF-8
    assert writer.replaced["tickets"] == 1  # the pair in halves is joined, not replaced


def test_records_are_buffered_until_the_next_state():
    out = CountingBuffer()
    writer = SurrogateSafeWriter(out)
    for n in range(3):
        writer.write_message(_record(id=str(n)))
    assert out.flushed_at == []
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    assert out.flushed_at == [len(out.getvalue())]
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["RECORD"] * 3 + ["STATE"]
