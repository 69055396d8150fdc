"""The fault benchmark's own calls to the emulator, as an OAuth app of its own.

Another app has its own budgets and no daily limit, as on HubSpot, so the driver's calls (changes,
counts, the truth) never spend the connectors' budget; they are retried until answered.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from benchmarks.emulator import EmulatorProcess
from hubspot_api.config import LEGACY_API_VERSION
from hubspot_api.paths import Call, path_for

OAUTH = {
    "client_id": "emulator-client",
    "client_secret": "emulator-secret",
    "refresh_token": "emulator-refresh-token",
}
_TRIES = 200


class Driver:
    """The benchmark's own calls to the emulator, as an OAuth app, retried until answered."""

    def __init__(self, emulator: EmulatorProcess, *, private_app: bool = False) -> None:
        """`private_app`: use the emulator's private-app token instead (when a row breaks OAuth)."""
        self.emulator = emulator
        self._token = emulator.token if private_app else ""
        self._expires = float("inf") if private_app else 0.0

    def _bearer(self) -> str:
        if time.monotonic() < self._expires:
            return self._token
        form = urllib.parse.urlencode({"grant_type": "refresh_token", **OAUTH}).encode()
        answer = self._send("POST", path_for(Call.TOKEN, LEGACY_API_VERSION), form, form=True)
        self._token = answer["access_token"]
        self._expires = time.monotonic() + min(float(answer.get("expires_in", 60)) / 2, 60)
        return self._token

    def _send(self, method: str, path: str, data: bytes | None, *, form: bool = False) -> Any:
        for _ in range(_TRIES):
            request = urllib.request.Request(self.emulator.url + path, data=data, method=method)
            if form:
                request.add_header("Content-Type", "application/x-www-form-urlencoded")
            else:
                request.add_header("Authorization", f"Bearer {self._bearer()}")
                if data is not None:
                    request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    self._expires = 0.0
                elif exc.code not in (423, 429, 502, 503, 504):
                    raise
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{method} {path}: no answer after {_TRIES} tries")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one JSON call (idempotent ones only), retrying faults."""
        return self._send(method, path, None if body is None else json.dumps(body).encode())

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket, live and archived, with `subject` and `content`."""
        found: list[dict[str, Any]] = []
        path = path_for(Call.LIST_TICKETS, LEGACY_API_VERSION)
        for archived in ("false", "true"):
            after = ""
            while True:
                query = f"?limit=100&archived={archived}&properties=subject,content"
                page = self.call("GET", path + query + (f"&after={after}" if after else ""))
                found += page["results"]
                after = ((page.get("paging") or {}).get("next") or {}).get("after") or ""
                if not after:
                    break
        return found

    def change(self, ids: list[str]) -> None:
        """Set a new subject on each ticket (idempotent, so safe to resend)."""
        path = path_for(Call.BATCH_UPDATE, LEGACY_API_VERSION)
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            inputs = [{"id": i, "properties": {"subject": f"changed {i}"}} for i in chunk]
            self.call("POST", path, {"inputs": inputs})

    def archive(self, ids: list[str]) -> None:
        """Archive each ticket (archiving an archived ticket changes nothing, so safe to resend)."""
        path = path_for(Call.BATCH_ARCHIVE, LEGACY_API_VERSION)
        for start in range(0, len(ids), 100):
            self.call("POST", path, {"inputs": [{"id": i} for i in ids[start : start + 100]]})
