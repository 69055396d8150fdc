"""Run the emulator with `python -m hubspot_emulator`."""

from __future__ import annotations

import sys

from hubspot_emulator.cli import main

sys.exit(main())
