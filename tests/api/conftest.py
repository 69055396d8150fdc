"""Fixtures for the API layer's tests against the emulator: clients that close themselves.

- `make_client(server, **config)`: a `HubSpotClient` for an emulator, configured like a
  connector config (private-app token by default; pass `access_token=None` plus the OAuth trio
  for OAuth). Each client gets its own rate limiter, so tests never share budgets through the
  process-wide registry. `fast=True` shortens every retry and throttle sleep twentyfold, for
  tests about outcomes rather than timing; throttling tests leave it off.
- `echo_server(status)`: a plain HTTP server on loopback that answers every request with
  `status` and an error body whose message repeats the request body it received, as a careless
  proxy or gateway does. Returns its base URL. For proving that secrets sent in a body never
  come back out through an error; the emulator itself never echoes a body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hubspot_api.client import HubSpotClient
from hubspot_api.config import HubSpotSettings
from hubspot_api.ratelimit import RateLimiter
from hubspot_emulator.config import DEFAULT_TOKEN

SPEED_UP = 20.0


def _fast_sleep(seconds: float) -> None:
    time.sleep(seconds / SPEED_UP)


@pytest.fixture
def make_client() -> Iterator[Callable[..., HubSpotClient]]:
    """Build clients for emulators; close them all when the test ends."""
    clients: list[HubSpotClient] = []

    def build(server: Any, *, fast: bool = False, **config: Any) -> HubSpotClient:
        merged = {"api_url": server.url, "access_token": DEFAULT_TOKEN, **config}
        settings = HubSpotSettings.from_config({k: v for k, v in merged.items() if v is not None})
        sleep = _fast_sleep if fast else time.sleep
        limiter = RateLimiter(
            settings.requests_per_10_seconds, settings.search_requests_per_second, sleep=sleep
        )
        client = HubSpotClient(settings, limiter=limiter, sleep=sleep)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 400

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_POST(self) -> None:
        received = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {
                "status": "error",
                "message": f"cannot process request body: {received.decode('latin-1')}",
                "category": "BAD_REQUEST",
            }
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST


@pytest.fixture
def echo_server() -> Iterator[Callable[[int], str]]:
    """Start servers that echo request bodies in their error answers; stop them at the end."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int) -> str:
        handler = type("Handler", (_EchoHandler,), {"status": status})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
