"""Bodies HubSpot refuses, values it cannot hold, and the clock it answers with."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from typing import Any

import pytest
import requests

from hubspot_emulator.cli import build_parser, config_from_args
from hubspot_emulator.properties import MAX_VALUE_CHARS, VALUE_TOO_LONG, ms_from_iso
from hubspot_emulator.store import Portal

TICKETS = "/crm/v3/objects/tickets"
BATCH_CREATE = f"{TICKETS}/batch/create"
JSON_HEADERS = {"Content-Type": "application/json"}


def _valid(session: requests.Session, url: str, **extra: Any) -> dict[str, Any]:
    pipeline = session.get(f"{url}/crm/v3/pipelines/tickets").json()["results"][0]
    return {
        "subject": "Fidelity",
        "hs_pipeline": pipeline["id"],
        "hs_pipeline_stage": pipeline["stages"][0]["id"],
        **extra,
    }


def _date_s(response: requests.Response) -> float:
    return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()


# -- bodies that are not JSON for HubSpot -----------------------------------------------------
@pytest.mark.parametrize(
    ("body", "column", "reason"),
    [
        (b'{"properties": {"subject": NaN}}', 28, "Non-standard token 'NaN'"),
        (b'{"properties": {"subject": Infinity}}', 28, "Non-standard token 'Infinity'"),
        (b'{"properties": {"subject": -Infinity}}', 28, "Non-standard token '-Infinity'"),
        (b'{"properties": {"subject": "a\\ud800"}}', 30, "Unpaired high surrogate \\ud800"),
        (b'{"properties": {"subject": "\\udc00b"}}', 29, "Unpaired low surrogate \\udc00"),
        (b'{"properties": {"subject": "a\xed\xa0\x80"}}', 30, "Invalid UTF-8"),
    ],
    ids=["nan", "infinity", "minus-infinity", "escaped-high", "escaped-low", "raw-bytes"],
)
def test_bodies_json_cannot_carry_are_400_in_hubspot_shape(
    emulator, api_session, body, column, reason
):
    server = emulator()
    response = api_session.post(f"{server.url}{TICKETS}", data=body, headers=JSON_HEADERS)
    assert response.status_code == 400
    error = response.json()
    assert error["status"] == "error"
    assert error["category"] == "VALIDATION_ERROR"
    assert error["correlationId"]
    assert error["message"].startswith(f"Invalid input JSON on line 1, column {column}: {reason}")
    # The connection stays usable and nothing was written.
    assert api_session.get(f"{server.url}{TICKETS}").json()["results"] == []
    assert server.stats()["dropped"] == 0


def test_lines_and_columns_count_from_one(emulator, api_session):
    server = emulator()
    body = b'{\n  "inputs": [\n    {"properties": {"subject": NaN}}]}'
    response = api_session.post(f"{server.url}{BATCH_CREATE}", data=body, headers=JSON_HEADERS)
    assert response.json()["message"].startswith("Invalid input JSON on line 3, column 32:")


@pytest.mark.parametrize(
    "subject",
    ["NaN", "Infinity and \\ud800 as text", "pair \U0001f600 and \\\\ud800"],
    ids=["words-in-a-string", "escape-spelled-out", "surrogate-pair"],
)
def test_look_alikes_inside_strings_are_fine(emulator, api_session, subject):
    server = emulator()
    # json.dumps escapes the emoji as a valid surrogate pair.
    body = json.dumps({"properties": _valid(api_session, server.url, subject=subject)})
    response = api_session.post(f"{server.url}{TICKETS}", data=body, headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["subject"] == subject


def test_a_stored_lone_surrogate_is_served_as_a_replacement_character(emulator, api_session):
    portal = Portal()
    stage = portal.list_pipelines()["results"][0]["stages"][0]["id"]
    created = portal.create_ticket(
        {"properties": {"subject": "bad \ud800 value", "hs_pipeline_stage": stage}},
        api_version="v3",
    )
    server = emulator(portal=portal)
    response = api_session.get(f"{server.url}{TICKETS}/{created['id']}")
    assert response.status_code == 200
    response.content.decode("utf-8")  # valid UTF-8, strictly
    assert response.json()["properties"]["subject"] == "bad \ufffd value"


# -- values longer than HubSpot holds ---------------------------------------------------------
TOO_LONG = "x" * (MAX_VALUE_CHARS + 1)


def _assert_too_long(response: requests.Response, name: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["category"] == "VALIDATION_ERROR"
    assert name in error["message"]
    assert VALUE_TOO_LONG in error["message"]
    assert {"code": VALUE_TOO_LONG, "propertyName": [name]} in [
        {"code": e["code"], "propertyName": e["context"]["propertyName"]} for e in error["errors"]
    ]
    assert len(response.content) < 10_000  # the value is not echoed back


def test_the_longest_value_is_accepted(emulator, api_session):
    server = emulator()
    longest = "y" * MAX_VALUE_CHARS
    properties = _valid(api_session, server.url, content=longest)
    response = api_session.post(f"{server.url}{TICKETS}", json={"properties": properties})
    assert response.status_code == 201
    assert response.json()["properties"]["content"] == longest


def test_single_writes_of_a_value_too_long_are_400_naming_the_property(emulator, api_session):
    server = emulator()
    url = server.url
    created = api_session.post(
        f"{url}{TICKETS}", json={"properties": _valid(api_session, url, content=TOO_LONG)}
    )
    _assert_too_long(created, "content")
    ticket = api_session.post(f"{url}{TICKETS}", json={"properties": _valid(api_session, url)})
    ticket_id = ticket.json()["id"]
    updated = api_session.patch(
        f"{url}{TICKETS}/{ticket_id}", json={"properties": {"subject": TOO_LONG}}
    )
    _assert_too_long(updated, "subject")
    assert api_session.get(f"{url}{TICKETS}/{ticket_id}").json()["properties"]["subject"] == (
        "Fidelity"
    )


@pytest.mark.parametrize("operation", ["create", "update", "upsert"])
def test_a_batch_with_a_value_too_long_fails_whole(emulator, api_session, operation):
    server = emulator()
    url = server.url
    existing = [
        api_session.post(f"{url}{TICKETS}", json={"properties": _valid(api_session, url)}).json()
        for _ in range(2)
    ]
    good, bad = _valid(api_session, url), _valid(api_session, url, content=TOO_LONG)
    if operation == "create":
        inputs = [{"properties": good}, {"properties": bad}]
    elif operation == "update":
        inputs = [
            {"id": existing[0]["id"], "properties": {"subject": "changed"}},
            {"id": existing[1]["id"], "properties": {"content": TOO_LONG}},
        ]
    else:
        unique = _unique_property(api_session, url)
        inputs = [
            {"idProperty": unique, "id": "u-1", "properties": good},
            {"idProperty": unique, "id": "u-2", "properties": bad},
        ]
    before = api_session.get(f"{url}{TICKETS}", params={"limit": 100}).json()["results"]
    response = api_session.post(f"{url}{TICKETS}/batch/{operation}", json={"inputs": inputs})
    _assert_too_long(response, "content")
    after = api_session.get(f"{url}{TICKETS}", params={"limit": 100}).json()["results"]
    assert [t["id"] for t in after] == [t["id"] for t in before]
    assert after == before


def test_traced_batches_treat_a_value_too_long_like_any_invalid_value(emulator, api_session):
    server = emulator()
    url = server.url
    good = _valid(api_session, url)

    def batch(bad_properties: dict[str, Any]) -> tuple[int, list[str]]:
        inputs = [
            {"properties": good, "objectWriteTraceId": "good"},
            {"properties": {**good, **bad_properties}, "objectWriteTraceId": "bad"},
        ]
        response = api_session.post(f"{url}{BATCH_CREATE}", json={"inputs": inputs})
        traces = [e["context"]["objectWriteTraceId"][0] for e in response.json()["errors"]]
        return response.status_code, traces

    assert batch({"content": TOO_LONG}) == batch({"hs_ticket_priority": "NOT_AN_OPTION"})
    assert batch({"content": TOO_LONG}) == (207, ["bad"])


def _unique_property(session: requests.Session, url: str) -> str:
    properties = session.get(f"{url}/crm/v3/properties/tickets").json()["results"]
    return next(p["name"] for p in properties if p.get("hasUniqueValue"))


# -- the Date header and the clock offset -----------------------------------------------------
def _answers(session: requests.Session, url: str) -> dict[str, requests.Response]:
    ticket = session.post(f"{url}{TICKETS}", json={"properties": _valid(session, url)}).json()
    return {
        "200": session.get(f"{url}{TICKETS}"),
        "201": session.post(f"{url}{TICKETS}", json={"properties": _valid(session, url)}),
        "204": session.delete(f"{url}{TICKETS}/{ticket['id']}"),
        "400": session.post(f"{url}{TICKETS}", data=b"{", headers=JSON_HEADERS),
        "401": requests.get(f"{url}{TICKETS}", timeout=10),
        "404": session.get(f"{url}/no/such/path"),
        "414": session.get(f"{url}{TICKETS}?properties=" + "a" * 20_000),
        "token-400": requests.post(f"{url}/oauth/v1/token", data={"grant_type": "x"}, timeout=10),
    }


@pytest.mark.parametrize("offset_s", [0.0, -30.0, 3600.0], ids=["none", "behind", "ahead"])
def test_every_answer_carries_the_emulator_clock_in_its_date(emulator, api_session, offset_s):
    server = emulator(clock_offset_s=offset_s)
    before = time.time() + offset_s
    answers = _answers(api_session, server.url)
    after = time.time() + offset_s
    for name, response in answers.items():
        assert response.status_code == int(name.removeprefix("token-")), name
        # The header counts whole seconds.
        assert int(before) <= _date_s(response) <= after, name


def test_answers_http_server_writes_itself_are_dated_by_the_emulator_clock(emulator):
    server = emulator(clock_offset_s=-30.0)
    before = time.time() - 30
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01 this is no HTTP request\r\n\r\n")
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 400 ")
    date = next(line for line in answer.split("\r\n") if line.startswith("Date: "))
    moment = email.utils.parsedate_to_datetime(date.removeprefix("Date: ")).timestamp()
    assert int(before) <= moment <= time.time() - 30


def test_the_clock_offset_moves_every_timestamp_a_write_makes(emulator, api_session):
    server = emulator(clock_offset_s=-30.0)
    url = server.url
    before_ms = int((time.time() - 30) * 1000)
    created = api_session.post(f"{url}{TICKETS}", json={"properties": _valid(api_session, url)})
    ticket_url = f"{url}{TICKETS}/{created.json()['id']}"
    api_session.patch(ticket_url, json={"properties": {"subject": "changed"}})
    ticket = api_session.get(ticket_url, params={"propertiesWithHistory": "subject"}).json()
    after_ms = int((time.time() - 30) * 1000) + 1
    stamps = {
        "createdate": ticket["properties"]["createdate"],
        "hs_lastmodifieddate": ticket["properties"]["hs_lastmodifieddate"],
        "createdAt": ticket["createdAt"],
        "updatedAt": ticket["updatedAt"],
    }
    for name, stamp in stamps.items():
        assert before_ms <= ms_from_iso(stamp) <= after_ms, name
    batch = api_session.post(
        f"{url}{BATCH_CREATE}", json={"inputs": [{"properties": _valid(api_session, url)}]}
    ).json()
    assert before_ms <= ms_from_iso(batch["startedAt"]) <= int((time.time() - 30) * 1000) + 1
    history = ticket["propertiesWithHistory"]["subject"]
    assert all(before_ms <= ms_from_iso(entry["timestamp"]) <= after_ms for entry in history)


def test_search_lag_runs_on_the_shifted_clock(emulator, api_session):
    server = emulator(clock_offset_s=-30.0, search_lag_ms=300)
    url = server.url
    api_session.post(f"{url}{TICKETS}", json={"properties": _valid(api_session, url)})
    search = {"filterGroups": [], "limit": 10}
    # Still lagging at once; visible once the lag has passed (not 30 s later).
    assert api_session.post(f"{url}{TICKETS}/search", json=search).json()["total"] == 0
    deadline = time.monotonic() + 10
    while api_session.post(f"{url}{TICKETS}/search", json=search).json()["total"] == 0:
        assert time.monotonic() < deadline, "the write never became searchable"
        time.sleep(0.05)


def test_the_clock_offset_has_a_flag():
    args = build_parser().parse_args(["--clock-offset-s", "-30"])
    assert config_from_args(args).clock_offset_s == -30.0
    assert config_from_args(build_parser().parse_args([])).clock_offset_s == 0.0


# -- connections ------------------------------------------------------------------------------
def test_connections_are_counted_even_when_no_request_arrives(emulator, api_session):
    server = emulator()
    for _ in range(3):
        api_session.get(f"{server.url}{TICKETS}")
    assert server.stats()["connections"] == 1  # keep-alive: one connection for three requests
    with socket.create_connection(("127.0.0.1", server.port), timeout=10):
        pass
    deadline = time.monotonic() + 5
    while server.stats()["connections"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert server.stats()["requests"] == 3
