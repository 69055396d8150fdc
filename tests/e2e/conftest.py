"""Fixtures for end-to-end runs: a real PostgreSQL server owned by the test session."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
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
    stop = [*prefix, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    # If this test process dies without its teardown (killed, timed out), a watchdog stops the
    # server, so no PostgreSQL outlives the run that started it.
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(base), json.dumps(stop)],
        start_new_session=True,
    )
    try:
        yield PostgresServer(host="127.0.0.1", port=port, user="postgres", database="postgres")
    finally:
        watchdog.kill()
        watchdog.wait()
        run(*stop[len(prefix) :])
        shutil.rmtree(base, ignore_errors=True)


_WATCHDOG = """
import json, os, shutil, subprocess, sys, time
parent, base, stop = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(2)
subprocess.run(stop, check=False, capture_output=True, timeout=60)
shutil.rmtree(base, ignore_errors=True)
"""


ROOT = Path(__file__).resolve().parents[2]
MELTANO_PLUGINS = (
    "tap-hubspot-tickets",
    "target-hubspot-tickets",
    "target-postgres",
    "tap-postgres",
    "target-duckdb",
    "tap-jsonl",
)
MELTANO_TIMEOUT_S = 600

RunMeltano = Callable[..., str]


@pytest.fixture(scope="session")
def meltano() -> Iterator[RunMeltano]:
    """Install the project's Meltano plugins once; return a runner for meltano commands.

    Each session gets its own Meltano system database, so state from a developer's own runs
    (or `make demo`) never leaks into a test. The runner returns the command's output and fails
    the test with the output's tail when the command fails.
    """
    executable = Path(sys.executable).parent / "meltano"
    workdir = Path(tempfile.mkdtemp(prefix="hubspot-tickets-meltano-"))
    base_env = {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
        "MELTANO_ENVIRONMENT": "emulator",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }

    def run(env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [str(executable), *args],
            cwd=ROOT,
            env={**base_env, **env},
            capture_output=True,
            text=True,
            timeout=MELTANO_TIMEOUT_S,
            check=False,
        )
        output = done.stdout + done.stderr
        if done.returncode != 0:
            tail = "\n".join(output.splitlines()[-40:])
            pytest.fail(f"meltano {' '.join(args)} exited {done.returncode}:\n{tail}")
        return output

    run({}, "install", *MELTANO_PLUGINS)
    try:
        yield run
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


DBT_UTILITIES = ("dbt-duckdb", "dbt-postgres", "dbt-snowflake")


@pytest.fixture(scope="module")
def dbt_meltano(meltano: RunMeltano) -> RunMeltano:
    """Install the dbt utilities (transform/) beside the session's plugins; return the runner."""
    meltano({}, "install", *DBT_UTILITIES)
    return meltano
