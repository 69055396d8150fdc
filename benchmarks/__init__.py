"""Side-by-side benchmarks of the HubSpot ticket connectors on the local emulator.

`python -m benchmarks` (or `make bench`) runs them; see `benchmarks/__main__.py`.
"""
