"""The connectors compared: ours and the published HubSpot taps, each with how to run it.

Every connector syncs one stream, `tickets`, in full. A connector's `prepare` runs once
against a small, fast emulator to build its config and catalog (not measured); `command`
is what the measured run executes. Peers get the emulator through the `redirect` folder on
`PYTHONPATH` (none of them has a base-URL setting); ours gets it as `api_url`. Every request a
peer makes reaches the emulator unchanged but for the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.redirect.sitecustomize import API_URL_ENV, REAL_HOST_ENV
from benchmarks.venvs import ROOT, Unavailable, ensure_venv
from hubspot_api.config import DEFAULT_API_URL

STREAM = "tickets"
REDIRECT_DIR = Path(__file__).resolve().parent / "redirect"
OUR_BIN = Path(sys.executable).parent
# Early enough that no peer filters a seeded ticket out by date.
START_DATE = "2000-01-01T00:00:00Z"
_PREPARE_TIMEOUT_S = 300


def base_env(api_url: str, *, redirect: bool) -> dict[str, str]:
    """A clean environment for a connector process, redirected to `api_url` when asked."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if redirect:
        env["PYTHONPATH"] = str(REDIRECT_DIR)
        env[REAL_HOST_ENV] = DEFAULT_API_URL
        env[API_URL_ENV] = api_url
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run a preparation step; return stdout or raise `Unavailable` with the error's last line."""
    try:
        done = subprocess.run(
            command,
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_PREPARE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{Path(command[0]).name}: {exc}") from exc
    if done.returncode != 0:
        raise Unavailable(f"{Path(command[0]).name} failed: {last_error(done.stderr)}")
    return done.stdout


def last_error(stderr: str) -> str:
    """The most telling line of a failed run's stderr, cut short."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for marker in ("Error", "error", "CRITICAL", "Exception", "FATAL"):
        hits = [line for line in lines if marker in line]
        if hits:
            return hits[-1][:240]
    return (lines[-1] if lines else "no output")[:240]


def select_singer_streams(catalog: dict[str, Any], stream: str) -> dict[str, Any]:
    """Select `stream` (and all its fields) in a Singer catalog; deselect every other stream."""
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] == stream
        for item in entry.get("metadata", []):
            if item["breadcrumb"] == [] or chosen:
                item["metadata"]["selected"] = chosen
    return catalog


class Connector:
    """A connector's identity and how to run it; subclasses fill in the specifics."""

    name: ClassVar[str]
    label: ClassVar[str]
    spec: ClassVar[str | None] = None  # the pinned PyPI package; None for ours
    redirect: ClassVar[bool] = True
    note: ClassVar[str] = ""

    def env(self, api_url: str) -> dict[str, str]:
        """The environment of this connector's processes."""
        return base_env(api_url, redirect=self.redirect)

    def install(self) -> Path:
        """Return the bin folder holding the connector, building its venv when needed."""
        if self.spec is None:
            return OUR_BIN
        return ensure_venv(self.name, self.spec)

    def prepare(self, bin_dir: Path, workdir: Path, api_url: str, token: str) -> None:
        """Write config and catalog files into `workdir` (against a small emulator)."""
        raise NotImplementedError

    def configure(self, workdir: Path, api_url: str, token: str) -> None:
        """Point the config at the measured run's emulator, where the config holds the URL."""

    def command(self, bin_dir: Path, workdir: Path) -> list[str]:
        """The measured command."""
        raise NotImplementedError


def _singer_tap(executable: Path, workdir: Path, *, catalog_flag: str = "--catalog") -> list[str]:
    """Return the command that runs a Singer tap on the config and catalog in `workdir`."""
    config, catalog = workdir / "config.json", workdir / "catalog.json"
    return [str(executable), "--config", str(config), catalog_flag, str(catalog)]


def _write(path: Path, payload: Any) -> Path:
    path.write_text(json.dumps(payload, indent=1))
    return path


class Ours(Connector):
    """tap-hubspot-tickets from this repository."""

    name = "ours"
    label = "tap-hubspot-tickets (ours)"
    redirect = False

    def configure(self, workdir: Path, api_url: str, token: str) -> None:
        _write(workdir / "config.json", {"api_url": api_url, "access_token": token})

    def prepare(self, bin_dir: Path, workdir: Path, api_url: str, token: str) -> None:
        self.configure(workdir, api_url, token)
        tap = str(bin_dir / "tap-hubspot-tickets")
        out = _run(
            [tap, "--config", str(workdir / "config.json"), "--discover"],
            self.env(api_url),
            workdir,
        )
        _write(workdir / "catalog.json", select_singer_streams(json.loads(out), STREAM))

    def command(self, bin_dir: Path, workdir: Path) -> list[str]:
        return _singer_tap(bin_dir / "tap-hubspot-tickets", workdir)


class MeltanoLabs(Connector):
    """MeltanoLabs' singer-sdk tap; private-app token as `access_token`."""

    name = "meltano-tap-hubspot"
    label = "meltano-tap-hubspot 0.10.1"
    spec = "meltano-tap-hubspot==0.10.1"
    note = "requests HubSpot's default properties only"

    def prepare(self, bin_dir: Path, workdir: Path, api_url: str, token: str) -> None:
        config = _write(workdir / "config.json", {"access_token": token, "start_date": START_DATE})
        out = _run(
            [str(bin_dir / "tap-hubspot"), "--config", str(config), "--discover"],
            self.env(api_url),
            workdir,
        )
        _write(workdir / "catalog.json", select_singer_streams(json.loads(out), STREAM))

    def command(self, bin_dir: Path, workdir: Path) -> list[str]:
        return _singer_tap(bin_dir / "tap-hubspot", workdir)


# The singer-io tap's `--discover` loads every stream's schema, and most call endpoints the
# emulator does not serve (contacts, companies, deals, ...), each retried for 40 s. This asks
# the installed package for the tickets schema and metadata alone, through its own functions.
_SINGER_IO_TICKETS_CATALOG = """
import json, sys
import tap_hubspot as tap
tap.CONFIG.update(json.load(open(sys.argv[1])))
stream = next(s for s in tap.STREAMS if s.tap_stream_id == "tickets")
schema, mdata = tap.load_discovered_schema(stream)
entry = {"stream": "tickets", "tap_stream_id": "tickets", "schema": schema, "metadata": mdata}
json.dump({"streams": [entry]}, sys.stdout)
"""


class SingerIO(Connector):
    """singer-io's tap-hubspot; a private-app token goes in `api_key` (sent as a bearer token)."""

    name = "tap-hubspot"
    label = "tap-hubspot 4.5.0 (singer-io)"
    spec = "tap-hubspot==4.5.0"
    note = "all ticket properties selected"

    def prepare(self, bin_dir: Path, workdir: Path, api_url: str, token: str) -> None:
        config = _write(workdir / "config.json", {"api_key": token, "start_date": START_DATE})
        out = _run(
            [str(bin_dir / "python"), "-c", _SINGER_IO_TICKETS_CATALOG, str(config)],
            self.env(api_url),
            workdir,
        )
        _write(workdir / "catalog.json", select_singer_streams(json.loads(out), STREAM))

    def command(self, bin_dir: Path, workdir: Path) -> list[str]:
        # singer-python's older flag: this tap reads the catalog from `--properties`.
        return _singer_tap(bin_dir / "tap-hubspot", workdir, catalog_flag="--properties")


class Airbyte(Connector):
    """Airbyte's source-hubspot, run through its own CLI (`source-hubspot read`)."""

    name = "airbyte-source-hubspot"
    label = "airbyte-source-hubspot 5.7.0"
    spec = "airbyte-source-hubspot==5.7.0"
    note = "full refresh"

    def prepare(self, bin_dir: Path, workdir: Path, api_url: str, token: str) -> None:
        credentials = {"credentials_title": "Private App Credentials", "access_token": token}
        _write(workdir / "config.json", {"credentials": credentials, "start_date": START_DATE})
        # A configured catalog needs only the stream's name and modes; the source builds the
        # schema itself when it reads.
        stream = {
            "name": STREAM,
            "json_schema": {},
            "supported_sync_modes": ["full_refresh", "incremental"],
        }
        catalog = {
            "streams": [
                {
                    "stream": stream,
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": "overwrite",
                }
            ]
        }
        _write(workdir / "catalog.json", catalog)

    def command(self, bin_dir: Path, workdir: Path) -> list[str]:
        return [
            str(bin_dir / "source-hubspot"),
            "read",
            "--config",
            str(workdir / "config.json"),
            "--catalog",
            str(workdir / "catalog.json"),
        ]


CONNECTORS: tuple[Connector, ...] = (Ours(), MeltanoLabs(), SingerIO(), Airbyte())

__all__ = ["CONNECTORS", "ROOT", "STREAM", "Connector", "Unavailable", "base_env", "last_error"]
