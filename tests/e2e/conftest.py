"""Fixtures for end-to-end runs: a real PostgreSQL server owned by the test session."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class PostgresServer:
    """A throwaway PostgreSQL server on loopback, trusted local auth."""

    host: str
    port: int
    user: str
    database: str

    @property
    def url(self) -> str:
        """Return a libpq connection URL."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.fail("PostgreSQL server binaries not found: run scripts/ensure-postgres.sh")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server in a temporary directory and stop it after the session."""
    pg_bin = _pg_bin()
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # the postgres user when the tests run as root.
    base = Path(tempfile.mkdtemp(prefix="hubspot-tickets-pg-"))
    data = base / "data"
    port = _free_port()
    # initdb refuses to run as root; the tests run as root in CI, so run the server as postgres.
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres", group="postgres")
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        done = subprocess.run(
            [*prefix, *args], check=False, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            pytest.fail(f"{Path(args[0]).name} failed: {done.stderr.strip()[-500:]}")

    run(str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(pg_bin / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(base / "log"),
        "-o",
        options,
        "-w",
        "start",
    )
    try:
        yield PostgresServer(host="127.0.0.1", port=port, user="postgres", database="postgres")
    finally:
        run(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
