"""Run a connector's command line so that HubSpot problems end in one clear line.

A wrong token, an unreachable `api_url` or a DAILY rate limit is not a bug in the connector: the
person running it needs the reason, not a traceback. `run_cli` turns every `HubSpotError` (whose
messages are already short and redacted) into one line on stderr and exit status 1; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from hubspot_api.errors import HubSpotError

EXIT_HUBSPOT_ERROR = 1


def run_cli(command: Callable[[], object], name: str) -> None:
    """Run `command` (a plugin's click entry point); report HubSpot errors in one line."""
    try:
        command()
    except HubSpotError as exc:
        sys.stderr.write(f"{name}: error: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_HUBSPOT_ERROR) from None
