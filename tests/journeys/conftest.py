"""Fixtures for user journeys: the target's real command line, in-process runs, `meltano run`.

A journey is what a data engineer does: pipe a file into `target-hubspot-tickets`, kill it and
start it again, run the write-back job twice. Every check reads the emulator's own state
(`server.portal`), never a mock.

- `module_emulator(**fields)`: like the suite's `emulator` factory, but its servers live for
  the whole module, for tests that share one run (each test then reads its own tickets).
- `run_once(key, make)`: returns `make()`, computed once per module for each `key`: several
  parametrized tests check their own record of one shared run.
- `singer_input(server)`: a `SingerInput` typed from `server`'s property definitions as the
  tap types them: `.schema(key_properties=...)`, `.record(rec)`, `.state(value)`, and
  `.text(lines)` joining lines into the bytes a pipe carries.
- `target_cli(server, lines, **settings)`: runs the `target-hubspot-tickets` command in a
  subprocess on `lines` (a list of lines, or raw bytes) with a config for `server` (a rejects
  file and a summary file in a fresh directory; `settings` override the config). Returns a
  `CLIRun`: exit status, stdout, stderr, and checked readings of what the run left behind.
  `target_cli.command(config_path)` is the command line, for tests that drive the process
  themselves (restarts).
- `target_in_process(server, text, **settings)`: the same, with the target running in this
  process (the fuzz: a subprocess per example is too slow); returns an `InProcessRun`.
- `journey_meltano`: one Meltano installation for the session (its own `.meltano` directory,
  so the project's own catalog cache and plugin venvs are untouched) with tap-jsonl,
  tap-postgres and target-hubspot-tickets. `journey_meltano.run(env, *args)` runs `meltano`
  with a system database of the test's own (`journey_meltano.database(tmp_path)`), returning a
  `MeltanoRun` (exit status, output); `start(env, output, *args)` starts one without waiting.
- `postgres`: the throwaway PostgreSQL server of tests/e2e, shared with them.

Readings are strict: `CLIRun.rejects` fails the test on any rejects line that is not strict JSON
(NaN, Infinity) or holds a lone UTF-16 surrogate; `CLIRun.states` likewise for stdout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from hubspot_api.properties import PropertyDefinition, json_schema_for
from hubspot_emulator.config import DEFAULT_TOKEN, EmulatorConfig
from hubspot_emulator.server import EmulatorServer
from target_hubspot_tickets.target import TargetHubSpotTickets

# The PostgreSQL server of the e2e tests, shared rather than copied.
from tests.e2e.conftest import postgres  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TARGET_NAME = "target-hubspot-tickets"
STREAM = "tickets"
CLI_TIMEOUT_S = 120
MELTANO_TIMEOUT_S = 300
MELTANO_PLUGINS = ("tap-jsonl", "tap-postgres", "target-hubspot-tickets")
# Outcomes of the summary that, with `rejected`, add up to `received` (issue #9, point G).
OUTCOME_KEYS = (
    "created",
    "updated",
    "upserted",
    "archived",
    "associated",
    "pinned",
    "unchanged",
    "superseded",
    "rejected",
)


# -- strict JSON ---------------------------------------------------------------------------------
def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _lone_surrogates(value: Any) -> list[str]:
    """Return every string in `value` (keys too) that holds a lone UTF-16 surrogate."""
    found: list[str] = []
    if isinstance(value, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            found.append(value[:80])
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found += _lone_surrogates(key) + _lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            found += _lone_surrogates(item)
    return found


def strict_json_lines(raw: bytes, what: str) -> list[Any]:
    """Parse JSON lines as strict JSON in UTF-8; fail the test on the first that is not."""
    out: list[Any] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line.decode("utf-8"), parse_constant=_refuse_constant)
        except ValueError as exc:
            pytest.fail(f"{what} line {number} is not strict JSON ({exc}): {line[:200]!r}")
        surrogates = _lone_surrogates(value)
        if surrogates:
            pytest.fail(f"{what} line {number} holds a lone surrogate: {surrogates[0]!r}")
        out.append(value)
    return out


def check_counts(summary: Mapping[str, Any], rejects: Sequence[Mapping[str, Any]]) -> None:
    """Fail unless the summary adds up and every rejected record is in the rejects file."""
    total = sum(int(summary.get(key, 0)) for key in OUTCOME_KEYS)
    assert summary.get("received") == total, f"summary does not add up: {summary}"
    assert summary.get("rejected", 0) == len(rejects), (
        f"{summary.get('rejected')} rejected but {len(rejects)} lines in the rejects file"
    )
    for line in rejects:
        reason = line.get("reason")
        assert isinstance(reason, str), f"a reject without a reason: {line}"
        assert reason.strip(), f"a reject with an empty reason: {line}"


# -- emulators and shared runs ------------------------------------------------------------------
@pytest.fixture(scope="module")
def module_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators from config fields; stop them when the module's tests are done."""
    servers: list[EmulatorServer] = []

    def start(**fields: Any) -> EmulatorServer:
        server = EmulatorServer(EmulatorConfig(**fields))
        servers.append(server.start())
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture(scope="module")
def run_once() -> Callable[[str, Callable[[], Any]], Any]:
    """Return a memo: `run_once(key, make)` calls `make` the first time `key` is asked for."""
    done: dict[str, Any] = {}

    def get(key: str, make: Callable[[], Any]) -> Any:
        if key not in done:
            done[key] = make()
        return done[key]

    return get


# -- Singer input --------------------------------------------------------------------------------
class SingerInput:
    """Build Singer lines for the `tickets` stream, typed like the tap's own output."""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self.properties = dict(properties)

    def schema(
        self,
        key_properties: Sequence[str] = (),
        stream: str = STREAM,
        overrides: Mapping[str, Any] | None = None,
    ) -> str:
        """Return the SCHEMA line; `overrides` replace columns' schemas (or add columns)."""
        props = dict(self.properties)
        props.update(
            {
                "id": {"type": ["string", "null"]},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "updated_at": {"type": ["string", "null"], "format": "date-time"},
                "archived": {"type": ["boolean", "null"]},
                "archived_at": {"type": ["string", "null"], "format": "date-time"},
                "associations": {"type": ["array", "null"], "items": {"type": "object"}},
                "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
            }
        )
        props.update(overrides or {})
        return json.dumps(
            {
                "type": "SCHEMA",
                "stream": stream,
                "schema": {"type": "object", "properties": props},
                "key_properties": list(key_properties),
            }
        )

    @staticmethod
    def record(
        record: Mapping[str, Any], stream: str = STREAM, raw: Mapping[str, str] | None = None
    ) -> str:
        """Return a RECORD line; `raw` sets fields to JSON text as given (`NaN`, `1e5000`)."""
        fields = dict(record)
        for name in raw or {}:
            fields[name] = f"@raw:{name}@"
        line = json.dumps({"type": "RECORD", "stream": stream, "record": fields})
        for name, text in (raw or {}).items():
            line = line.replace(json.dumps(f"@raw:{name}@"), text)
        return line

    @staticmethod
    def state(value: Mapping[str, Any]) -> str:
        return json.dumps({"type": "STATE", "value": dict(value)})

    @staticmethod
    def text(lines: Sequence[str]) -> bytes:
        return "".join(line + "\n" for line in lines).encode("utf-8")

    def numbered_creates(
        self, subject: Callable[[int], str], start: int, end: int, stage: str, state_every: int
    ) -> bytes:
        """Return creates `subject(start)` .. `subject(end - 1)`, a STATE after every few.

        The input a restarted run is fed from its last state on: the STATE after record n
        holds `{"records": n + 1}`.
        """
        lines = [self.schema()]
        for n in range(start, end):
            lines.append(self.record({"subject": subject(n), "hs_pipeline_stage": stage}))
            if (n + 1) % state_every == 0:
                lines.append(self.state({"records": n + 1}))
        return self.text(lines)


@pytest.fixture(scope="module")
def singer_input() -> Callable[[EmulatorServer], SingerInput]:
    """Return a factory: a `SingerInput` typed from `server`'s property definitions."""

    def build(server: EmulatorServer) -> SingerInput:
        properties: dict[str, Any] = {}
        for item in server.portal.list_properties()["results"]:
            defn = PropertyDefinition.from_api(item)
            properties[defn.name] = json_schema_for(defn)
        return SingerInput(properties)

    return build


# -- the target ----------------------------------------------------------------------------------
def _config(server: EmulatorServer, where: Path, settings: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "api_url": server.url,
        "access_token": server.config.token or DEFAULT_TOKEN,
        "rejects_path": str(where / "rejects.jsonl"),
        "summary_path": str(where / "summary.json"),
        "requests_per_10_seconds": 10_000,
        "search_requests_per_second": 100,
        "max_concurrency": 4,
        "max_rejects": 1_000_000,
        "unknown_outcome_wait_s": 3,
        # Most tests create tickets without a source id and check what happens then (search
        # reconciliation, validation, checkpoints); the refusal that is the default is tested
        # with `allow_unkeyed_creates=False`.
        "allow_unkeyed_creates": True,
    }
    config.update(settings)
    return config


@dataclass
class CLIRun:
    """What one run of the target's command line left behind."""

    returncode: int
    stdout: bytes
    stderr: str
    config: dict[str, Any]

    @property
    def error_line(self) -> str:
        """Return the last non-empty line on stderr."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def states(self) -> list[Any]:
        """Return the states the target emitted, in order (strict JSON).

        A Singer target writes each state's value on a line of its own, which Meltano stores.
        """
        return strict_json_lines(self.stdout, "stdout")

    @property
    def summary(self) -> dict[str, Any] | None:
        path = Path(self.config.get("summary_path") or "")
        if not self.config.get("summary_path") or not path.exists():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    @property
    def rejects(self) -> list[dict[str, Any]]:
        """Return the rejects file's lines (strict JSON, no lone surrogates)."""
        path = Path(self.config.get("rejects_path") or "")
        if not self.config.get("rejects_path") or not path.exists():
            return []
        return strict_json_lines(path.read_bytes(), "rejects file")

    def describe(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-15:])
        return f"exit {self.returncode}; stderr ends:\n{tail}"

    def assert_one_line_error(self, *needles: str) -> str:
        """Fail unless the run failed with one `<name>: error: ...` line naming `needles`."""
        assert self.returncode != 0, f"expected a failure; {self.describe()}"
        assert "Traceback" not in self.stderr, f"a traceback on stderr; {self.describe()}"
        line = self.error_line
        assert line.startswith(f"{TARGET_NAME}: error: "), (
            f"stderr does not end with the one-line error; {self.describe()}"
        )
        for needle in needles:
            assert needle.lower() in line.lower(), f"{needle!r} not named in: {line}"
        return line

    def assert_clean_success(self) -> dict[str, Any]:
        """Fail unless the run exited 0 without a traceback and its counts add up."""
        assert self.returncode == 0, self.describe()
        assert "Traceback" not in self.stderr, self.describe()
        summary = self.summary
        assert summary is not None, f"no summary written; {self.describe()}"
        check_counts(summary, self.rejects)
        return summary


class TargetCLI:
    """Run `target-hubspot-tickets` as a subprocess, each run in a directory of its own."""

    def __init__(self, base: Path) -> None:
        self._base = base

    @staticmethod
    def command(config_path: Path) -> list[str]:
        return [str(BIN / TARGET_NAME), "--config", str(config_path)]

    def config_file(self, server: EmulatorServer, **settings: Any) -> tuple[Path, dict[str, Any]]:
        """Write a config for `server` into a fresh directory; return its path and content."""
        where = Path(tempfile.mkdtemp(prefix="run-", dir=self._base))
        config = _config(server, where, settings)
        path = where / "config.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path, config

    def __call__(
        self,
        server: EmulatorServer,
        lines: Sequence[str] | bytes,
        *,
        timeout: float = CLI_TIMEOUT_S,
        **settings: Any,
    ) -> CLIRun:
        path, config = self.config_file(server, **settings)
        return self.run_with(path, config, lines, timeout=timeout)

    def run_with(
        self,
        config_path: Path,
        config: dict[str, Any],
        lines: Sequence[str] | bytes,
        *,
        timeout: float = CLI_TIMEOUT_S,
    ) -> CLIRun:
        data = lines if isinstance(lines, bytes) else SingerInput.text(lines)
        try:
            done = subprocess.run(
                self.command(config_path),
                input=data,
                capture_output=True,
                timeout=timeout,
                check=False,
                cwd=config_path.parent,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = (exc.stderr or b"").decode("utf-8", "replace")[-2000:]
            pytest.fail(f"the target ran over {timeout:.0f} s (stuck or pinned):\n{stderr}")
        return CLIRun(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"), config)


@pytest.fixture(scope="module")
def target_cli(tmp_path_factory: pytest.TempPathFactory) -> TargetCLI:
    """Return a runner of the target's command line (see `TargetCLI`)."""
    return TargetCLI(tmp_path_factory.mktemp("target-cli"))


@dataclass
class InProcessRun:
    """What one in-process run of the target left behind."""

    error: BaseException | None
    stdout: str
    summary: dict[str, Any] | None
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def assert_counts_add_up(self) -> None:
        """Fail unless the summary adds up and every reject is in the file with a reason."""
        assert self.summary is not None, "the run wrote no summary"
        check_counts(self.summary, self.rejects)


@pytest.fixture(scope="module")
def target_in_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., InProcessRun]:
    """Return a function running `TargetHubSpotTickets` in this process on some input text."""
    base = tmp_path_factory.mktemp("target-in-process")

    def run(server: EmulatorServer, text: str, **settings: Any) -> InProcessRun:
        where = Path(tempfile.mkdtemp(prefix="run-", dir=base))
        config = _config(server, where, settings)
        out = io.StringIO()
        error: BaseException | None = None
        with contextlib.redirect_stdout(out):
            try:
                target = TargetHubSpotTickets(config=config)
                target.listen(file_input=io.StringIO(text))
            except BaseException as exc:  # the fuzz judges whatever escaped
                error = exc
        summary_path = Path(config["summary_path"])
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
        rejects_path = Path(config["rejects_path"])
        rejects = (
            strict_json_lines(rejects_path.read_bytes(), "rejects file")
            if rejects_path.exists()
            else []
        )
        shutil.rmtree(where, ignore_errors=True)
        return InProcessRun(error, out.getvalue(), summary, rejects)

    return run


# -- Meltano -------------------------------------------------------------------------------------
@dataclass
class MeltanoRun:
    """The exit status and combined output of one `meltano` command."""

    returncode: int
    output: str

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


class JourneyMeltano:
    """The project's meltano.yml, run with a `.meltano` directory of the session's own."""

    def __init__(self, sys_dir: Path) -> None:
        self.sys_dir = sys_dir
        self._env = {
            **os.environ,
            "MELTANO_SYS_DIR_ROOT": str(sys_dir),
            "MELTANO_DATABASE_URI": f"sqlite:///{sys_dir / 'install.db'}",
            "MELTANO_ENVIRONMENT": "emulator",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    @staticmethod
    def database(where: Path) -> dict[str, str]:
        """Return the env giving a test its own system database (its own state)."""
        return {"MELTANO_DATABASE_URI": f"sqlite:///{where / 'meltano.db'}"}

    def run(self, env: Mapping[str, str], *args: str) -> MeltanoRun:
        try:
            done = subprocess.run(
                [str(BIN / "meltano"), *args],
                cwd=ROOT,
                env={**self._env, **env},
                capture_output=True,
                text=True,
                timeout=MELTANO_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"meltano {' '.join(args)} ran over {MELTANO_TIMEOUT_S} s: {exc}")
        return MeltanoRun(done.returncode, done.stdout + done.stderr)

    def start(
        self, env: Mapping[str, str], output: IO[bytes], *args: str
    ) -> subprocess.Popen[bytes]:
        """Start a `meltano` command writing its output to `output`; return the process."""
        return subprocess.Popen(
            [str(BIN / "meltano"), *args],
            cwd=ROOT,
            env={**self._env, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="session")
def journey_meltano() -> Iterator[JourneyMeltano]:
    """Install the write-back plugins once, into a `.meltano` directory of the session's own."""
    sys_dir = Path(tempfile.mkdtemp(prefix="hubspot-tickets-journeys-"))
    project = JourneyMeltano(sys_dir)
    try:
        installed = project.run({}, "install", *MELTANO_PLUGINS)
        if installed.returncode != 0:
            pytest.fail(f"meltano install failed:\n{installed.tail()}")
        yield project
    finally:
        shutil.rmtree(sys_dir, ignore_errors=True)


# -- the tap's command line and the warehouses it feeds ------------------------------------------
# Fixtures for tests/journeys/test_tap_reads.py:
# - `tap_cli(server, **settings)`: runs `tap-hubspot-tickets` in a subprocess against `server`
#   (a config with the emulator's token, a zero search-lag margin and generous budgets;
#   `settings` override it). `state=`, `catalog=` (dicts) and `discover=True` pass the options of
#   the same names; `options` adds more (`["--test"]`). Returns a `TapCLIRun`: exit status,
#   stdout parsed as strict JSON messages, stderr, and readings (`records(stream)`,
#   `schema(stream)`, `state`, `warnings`).
# - `warehouse_meltano`: a Meltano installation of tap-hubspot-tickets, target-postgres and
#   target-duckdb, with a `.meltano` directory of the session's own (a `JourneyMeltano`);
#   `tap_meltano` the same with the tap alone.
TAP_NAME = "tap-hubspot-tickets"
WAREHOUSE_PLUGINS = ("tap-hubspot-tickets", "target-postgres", "target-duckdb")


@dataclass
class TapCLIRun:
    """What one run of the tap's command line wrote."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Return the Singer messages on stdout (strict JSON, no lone surrogates)."""
        return strict_json_lines(self.stdout, "tap stdout")

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def schema(self, stream: str) -> dict[str, Any]:
        found = [m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream]
        assert found, f"no SCHEMA for {stream}"
        schema: dict[str, Any] = found[0]["schema"]
        return schema

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        assert states, "the tap emitted no state"
        last: dict[str, Any] = states[-1]
        return last

    @property
    def warnings(self) -> list[str]:
        """Return the text of every warning line on stderr (log records and one-line notes)."""
        found: list[str] = []
        for line in self.stderr.splitlines():
            if "| WARNING " in line:
                found.append(line.split(" | ", 3)[-1])
            elif line.startswith(f"{TAP_NAME}: warning: "):
                found.append(line.partition(": warning: ")[2])
        return found

    def describe(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-20:])
        return f"exit {self.returncode}; stderr ends:\n{tail}"


class TapCLI:
    """Run `tap-hubspot-tickets` as a subprocess, each run in a directory of its own."""

    def __init__(self, base: Path) -> None:
        self._base = base

    def __call__(
        self,
        server: EmulatorServer,
        *,
        state: Mapping[str, Any] | None = None,
        catalog: Mapping[str, Any] | None = None,
        discover: bool = False,
        options: Sequence[str] = (),
        timeout: float = CLI_TIMEOUT_S,
        **settings: Any,
    ) -> TapCLIRun:
        where = Path(tempfile.mkdtemp(prefix="tap-", dir=self._base))
        config = {
            "api_url": server.url,
            "access_token": server.config.token or DEFAULT_TOKEN,
            "search_lag_margin_seconds": 0,
            "requests_per_10_seconds": 10_000,
            "search_requests_per_second": 100,
            **settings,
        }
        args = [str(BIN / TAP_NAME), "--config", str(where / "config.json")]
        (where / "config.json").write_text(json.dumps(config), encoding="utf-8")
        for option, value in (("--state", state), ("--catalog", catalog)):
            if value is not None:
                path = where / f"{option[2:]}.json"
                path.write_text(json.dumps(value), encoding="utf-8")
                args += [option, str(path)]
        if discover:
            args.append("--discover")
        args += options
        try:
            done = subprocess.run(
                args, capture_output=True, timeout=timeout, check=False, cwd=where
            )
        except subprocess.TimeoutExpired as exc:
            stderr = (exc.stderr or b"").decode("utf-8", "replace")[-2000:]
            pytest.fail(f"the tap ran over {timeout:.0f} s:\n{stderr}")
        return TapCLIRun(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def tap_cli(tmp_path_factory: pytest.TempPathFactory) -> TapCLI:
    """Return a runner of the tap's command line (see `TapCLI`)."""
    return TapCLI(tmp_path_factory.mktemp("tap-cli"))


@pytest.fixture(scope="session")
def tap_meltano() -> Iterator[JourneyMeltano]:
    """Install the tap alone, once, into a `.meltano` directory of the session's own."""
    sys_dir = Path(tempfile.mkdtemp(prefix="hubspot-tickets-tap-"))
    project = JourneyMeltano(sys_dir)
    try:
        installed = project.run({}, "install", TAP_NAME)
        if installed.returncode != 0:
            pytest.fail(f"meltano install failed:\n{installed.tail()}")
        yield project
    finally:
        shutil.rmtree(sys_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_meltano() -> Iterator[JourneyMeltano]:
    """Install the tap and the warehouse loaders once, into a `.meltano` of the session's own."""
    sys_dir = Path(tempfile.mkdtemp(prefix="hubspot-tickets-warehouses-"))
    project = JourneyMeltano(sys_dir)
    try:
        installed = project.run({}, "install", *WAREHOUSE_PLUGINS)
        if installed.returncode != 0:
            pytest.fail(f"meltano install failed:\n{installed.tail()}")
        yield project
    finally:
        shutil.rmtree(sys_dir, ignore_errors=True)
