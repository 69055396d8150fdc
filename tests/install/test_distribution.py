"""The distribution builds, holds what it should, and installs into a fresh virtualenv.

Installed from the wheel, from the sdist and from a git URL, with nothing else: the three
commands are on the path, the emulator serves on loopback, and the tap discovers against it.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest

from hubspot_emulator.config import DEFAULT_TOKEN

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"hubspot_api", "hubspot_emulator", "tap_hubspot_tickets", "target_hubspot_tickets"}
COMMANDS = ("tap-hubspot-tickets", "target-hubspot-tickets", "hubspot-emulator")
DEFINITIONS = (
    "plugins/extractors/tap-hubspot-tickets.yml",
    "plugins/loaders/target-hubspot-tickets.yml",
)
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CLI_TIMEOUT_S = 60


def _name(requirement: str) -> str:
    """Return a requirement's distribution name, normalised."""
    for stop in "[<>=~!; ":
        requirement = requirement.split(stop, maxsplit=1)[0]
    return requirement.strip().lower().replace("_", "-")


def _git_files(*paths: str) -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {line for line in listed.splitlines() if (ROOT / line).is_file()}


def test_wheel_holds_the_four_packages_and_nothing_else(distributions: Any) -> None:
    with zipfile.ZipFile(distributions.wheel) as wheel:
        names = wheel.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = wheel.read(entry_points).decode()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == PACKAGES
    modules = {n for n in names if n.endswith(".py")}
    assert modules == {n for n in _git_files(*sorted(PACKAGES)) if n.endswith(".py")}
    for command in COMMANDS:
        assert f"{command} = " in scripts, command


def test_wheel_requires_only_the_runtime_libraries(distributions: Any) -> None:
    with zipfile.ZipFile(distributions.wheel) as wheel:
        (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(wheel.read(metadata).decode())
    requires = message.get_all("Requires-Dist") or []
    base = {_name(r) for r in requires if "extra ==" not in r}
    assert base == {_name(r) for r in PROJECT["dependencies"]}
    # Test and benchmark tools are extras, never installed by a plain install.
    tools = {_name(r) for extra in PROJECT["optional-dependencies"].values() for r in extra}
    assert not base & (tools - {"singer-sdk"}), base & tools
    assert set(message.get_all("Provides-Extra") or []) == set(PROJECT["optional-dependencies"])


def test_sdist_holds_the_sources_docs_and_plugin_definitions(distributions: Any) -> None:
    with tarfile.open(distributions.sdist) as sdist:
        # Every member sits under the <name>-<version>/ folder.
        names = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    wanted = {"README.md", "pyproject.toml", *DEFINITIONS} | _git_files("docs", *sorted(PACKAGES))
    assert not wanted - names, sorted(wanted - names)
    assert not {n for n in names if n.startswith(("tests/", "benchmarks/", ".venv/"))}


def _run(command: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(command), *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, f"{command.name} {' '.join(args)}:\n{done.stderr[-2000:]}"
    return done


def _check_commands(venv: Any, tmp_path: Path) -> None:
    """Run the three commands of `venv`: about, help, an emulator and a discovery against it."""
    for command in COMMANDS:
        assert command in _run(venv.bin(command), "--help").stdout
    for command in COMMANDS[:2]:
        about = json.loads(_run(venv.bin(command), "--about", "--format", "json").stdout)
        assert about["name"] == command
    with subprocess.Popen(
        [str(venv.bin("hubspot-emulator")), "--port", "0", "--tickets", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as emulator:
        try:
            assert emulator.stdout is not None
            first = emulator.stdout.readline().strip()
            assert first.startswith("listening on http://127.0.0.1:"), first
            config = tmp_path / "config.json"
            url = first.removeprefix("listening on ")
            config.write_text(json.dumps({"api_url": url, "access_token": DEFAULT_TOKEN}))
            discovered = _run(venv.bin(COMMANDS[0]), "--config", str(config), "--discover")
        finally:
            emulator.terminate()
    catalog = json.loads(discovered.stdout)
    assert "tickets" in {stream["tap_stream_id"] for stream in catalog["streams"]}


SOURCES = ["wheel", "sdist", "git"]


@pytest.mark.parametrize("source", SOURCES)
def test_installs_into_a_fresh_virtualenv_and_runs(
    source: str, distributions: Any, git_checkout: Any, fresh_venv: Any, tmp_path: Path
) -> None:
    spec = {
        "wheel": str(distributions.wheel),
        "sdist": str(distributions.sdist),
        "git": git_checkout.url,
    }[source]
    fresh_venv.install(spec)
    _check_commands(fresh_venv, tmp_path)
    installed = fresh_venv.packages()
    tools = {_name(r) for extra in PROJECT["optional-dependencies"].values() for r in extra}
    assert not installed & (tools - {"singer-sdk"}), sorted(installed & tools)
