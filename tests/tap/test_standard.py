"""singer-sdk's standard tap tests, against a seeded emulator started for this module.

The SDK builds its test class at import time and discovers the streams then, so the emulator
serving it starts at import and stops when the interpreter exits.

Curated: every standard test runs. `ignore_no_records` stays off, so each stream must return
records from the seeded portal.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from hubspot_emulator.config import DEFAULT_TOKEN, EmulatorConfig
from hubspot_emulator.server import EmulatorServer
from tap_hubspot_tickets.tap import TapHubSpotTickets

_SERVER = EmulatorServer(EmulatorConfig(tickets=120, seed=31)).start()
atexit.register(_SERVER.stop)

TestTapHubSpotTickets = get_tap_test_class(
    TapHubSpotTickets,
    config={
        "api_url": _SERVER.url,
        "access_token": DEFAULT_TOKEN,
        "search_lag_margin_seconds": 0,
    },
    suite_config=SuiteConfig(max_records_limit=150),
)
