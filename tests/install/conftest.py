"""Fixtures for the installed distribution: built once, installed into fresh virtualenvs.

- `distributions`: the sdist and wheel `uv build` makes from this tree, built once per session
  into a temporary folder (`.wheel`, `.sdist`).
- `git_checkout`: a git repository holding this tree's files (tracked and new, not ignored),
  one commit; `.url` is its `git+file://` URL.
- `fresh_venv(name)`: an empty virtualenv (`uv venv`) outside the repository; `.install(spec)`
  installs into it with `uv pip install`, `.bin(name)` is the path of one of its commands.
- `postgres`: the throwaway PostgreSQL server of tests/e2e, shared with them.

uv reuses the user's package cache (the suite points XDG_CACHE_HOME at a directory of its own,
which would make every session download everything again); PyPI is the only index needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The PostgreSQL server of the e2e tests, shared rather than copied.
from tests.e2e.conftest import postgres  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
INSTALL_TIMEOUT_S = 600
# Read at import, before the session's own XDG_CACHE_HOME is set.
UV_CACHE_DIR = os.environ.get("UV_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "uv"
)


def uv_env() -> dict[str, str]:
    """Return the environment for uv (and Meltano, which installs with it)."""
    return {**os.environ, "UV_CACHE_DIR": UV_CACHE_DIR}


def run_checked(args: list[str], *, cwd: Path | None = None, timeout: float = 120) -> str:
    """Run a command; fail the test with its output's tail when it fails."""
    done = subprocess.run(
        args, cwd=cwd, env=uv_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-30:])
        pytest.fail(f"{Path(args[0]).name} {' '.join(args[1:3])} exited {done.returncode}:\n{tail}")
    return output


@dataclass(frozen=True)
class Distributions:
    """The sdist and the wheel built from this tree."""

    sdist: Path
    wheel: Path


@pytest.fixture(scope="session")
def distributions() -> Iterator[Distributions]:
    """Build the sdist and the wheel once (the wheel from the sdist, as `python -m build`)."""
    out = Path(tempfile.mkdtemp(prefix="hubspot-tickets-dist-"))
    # Build from a copy: setuptools writes build/ and *.egg-info beside the sources.
    source = out / "source"
    _copy_tree(source)
    try:
        run_checked([str(UV), "build", "--out-dir", str(out / "dist"), str(source)])
        (sdist,) = (out / "dist").glob("*.tar.gz")
        (wheel,) = (out / "dist").glob("*.whl")
        yield Distributions(sdist=sdist, wheel=wheel)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _copy_tree(dest: Path) -> list[str]:
    """Copy this tree's files (tracked and new, not ignored) to `dest`; return their paths."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    files = [name for name in listed.split("\0") if name and (ROOT / name).is_file()]
    for name in files:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    return files


@dataclass(frozen=True)
class GitCheckout:
    """A git repository of this tree."""

    path: Path

    @property
    def url(self) -> str:
        return f"git+file://{self.path}"


@pytest.fixture(scope="session")
def git_checkout() -> Iterator[GitCheckout]:
    """Commit this tree's files to a repository of their own (uncommitted changes included)."""
    path = Path(tempfile.mkdtemp(prefix="hubspot-tickets-git-")) / "repo"
    _copy_tree(path)
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "tree"]):
        run_checked(["git", *args], cwd=path)
    try:
        yield GitCheckout(path)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@dataclass(frozen=True)
class FreshVenv:
    """An empty virtualenv, filled with `install`."""

    path: Path

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def install(self, spec: str) -> str:
        python = str(self.bin("python"))
        return run_checked(
            [str(UV), "pip", "install", "--python", python, spec], timeout=INSTALL_TIMEOUT_S
        )

    def packages(self) -> set[str]:
        """Return the names of the distributions installed, normalised (lower case, dashes)."""
        listed = run_checked([str(UV), "pip", "freeze", "--python", str(self.bin("python"))])
        names = set()
        for line in listed.splitlines():
            name = line.split("==")[0].split(" @ ")[0].strip()
            names.add(name.lower().replace("_", "-"))
        return names


@pytest.fixture
def fresh_venv() -> Iterator[FreshVenv]:
    """Create an empty virtualenv outside the repository (with this Python's version)."""
    path = Path(tempfile.mkdtemp(prefix="hubspot-tickets-venv-")) / "venv"
    run_checked([str(UV), "venv", "--quiet", "--python", sys.executable, str(path)])
    try:
        yield FreshVenv(path)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
