"""Under Meltano, the tap's warnings and errors show at their level, as the target's do.

Meltano reads a plugin's log lines as structured records when the plugin declares
`structured-logging`; without it, every line of the tap showed as `[info]`, its one-line error
among them.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.journeys


def test_the_taps_warning_and_error_keep_their_level_under_meltano(emulator, tap_meltano, tmp_path):
    server = emulator(tickets=5, seed=66)
    env = {
        **tap_meltano.database(tmp_path),
        "TAP_HUBSPOT_TICKETS_API_URL": server.url,
        "TAP_HUBSPOT_TICKETS_ACCESS_TOKEN": "not-the-emulators-token",
        "TAP_HUBSPOT_TICKETS_MAX_CONCURENCY": "2",
        "COLUMNS": "400",
    }
    done = tap_meltano.run(env, "invoke", "tap-hubspot-tickets")
    assert done.returncode != 0, done.tail()
    lines = done.output.splitlines()
    warning = re.compile(r"\[warning\s*\] tap-hubspot-tickets .*MAX_CONCURENCY names no setting")
    error = re.compile(r"\[error\s*\] tap-hubspot-tickets tap-hubspot-tickets: error: .*401")
    assert any(warning.search(line) for line in lines), done.tail()
    assert any(error.search(line) for line in lines), done.tail()
