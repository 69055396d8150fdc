"""The emulator's own endpoints: request counts by route and status, health, reset."""

from __future__ import annotations

import threading
import time

import requests

from hubspot_emulator.config import EmulatorConfig
from hubspot_emulator.server import EmulatorServer


def test_stats_count_answers_by_route_and_status(emulator, api_session):
    server = emulator(tickets=3, seed=1)
    url = server.url
    api_session.get(f"{url}/crm/v3/objects/tickets")
    api_session.get(f"{url}/crm/objects/2026-03/tickets")
    api_session.get(f"{url}/crm/v3/objects/tickets/404404404")
    api_session.get(f"{url}/nowhere")
    requests.get(f"{url}/crm/v3/properties/tickets", timeout=5)  # no token
    stats = requests.get(f"{url}/_emulator/stats", timeout=5).json()
    assert stats["requests"] == 5
    assert stats["by_route"] == {
        "GET tickets.list": {"200": 2},
        "GET tickets.read": {"404": 1},
        "GET unknown": {"404": 1},
        "GET properties.list": {"401": 1},
    }
    assert stats["dropped"] == 0
    assert server.stats()["by_route"] == stats["by_route"]


def test_stats_endpoints_are_not_counted_and_can_be_reset(emulator, api_session):
    server = emulator()
    api_session.get(f"{server.url}/crm/v3/pipelines/tickets")
    requests.get(f"{server.url}/_emulator/health", timeout=5)
    assert server.stats()["requests"] == 1
    reset = requests.post(f"{server.url}/_emulator/reset-stats", timeout=5)
    assert reset.status_code == 204
    assert server.stats()["requests"] == 0
    assert server.stats()["by_route"] == {}


def test_uri_too_long_is_counted(emulator, api_session):
    server = emulator(max_uri_length=50)
    api_session.get(f"{server.url}/crm/v3/objects/tickets?properties={'p' * 60}")
    assert server.stats()["by_route"] == {"GET uri_too_long": {"414": 1}}


def test_health(seeded_emulator):
    response = requests.get(f"{seeded_emulator.url}/_emulator/health", timeout=5)
    assert response.json() == {"status": "ok"}


def test_quiet_by_default_and_one_line_per_request_when_verbose(emulator, api_session, capsys):
    quiet = emulator()
    api_session.get(f"{quiet.url}/crm/v3/pipelines/tickets")
    assert capsys.readouterr().err == ""
    loud = emulator(verbose=True)
    api_session.get(f"{loud.url}/crm/v3/pipelines/tickets")
    # The server writes its line once the answer is sent, so it may trail the client a little.
    lines: list[str] = []
    deadline = time.monotonic() + 5
    while not lines and time.monotonic() < deadline:
        time.sleep(0.01)
        lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("GET /crm/v3/pipelines/tickets -> 200")


def test_serve_forever_blocks_until_stopped():
    server = EmulatorServer(EmulatorConfig())
    runner = threading.Thread(target=server.serve_forever)
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                url = server.url
                break
            except RuntimeError:
                time.sleep(0.01)
        assert requests.get(f"{url}/_emulator/health", timeout=5).status_code == 200
        assert runner.is_alive()
    finally:
        server.stop()
        runner.join(timeout=5)
    assert not runner.is_alive()
