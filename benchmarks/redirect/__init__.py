"""Send a connector's HubSpot traffic to the emulator without touching its code.

The folder is put on `PYTHONPATH` of a peer connector's process, so Python imports
`sitecustomize` from here at start-up (see the `site` module's documentation).
"""
