"""One virtual environment per peer connector, built on first use under `.bench/venvs/`.

Each holds exactly one pinned, published package; a marker file records the spec it was built
for, so changing a pin rebuilds it. A failed build raises `Unavailable` with the reason, which
the report shows instead of numbers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
VENVS = CACHE / "venvs"
_MARKER = ".bench-installed"
_INSTALL_TIMEOUT_S = 900


class Unavailable(Exception):
    """A connector cannot run here; the message says why, in one line."""


def ensure_venv(name: str, spec: str, *, python: str = "python3") -> Path:
    """Return the `bin` folder of a venv holding `spec`, creating it when missing or stale."""
    home = VENVS / name
    marker = home / _MARKER
    if marker.is_file() and marker.read_text().strip() == spec:
        return home / "bin"
    if home.exists():
        shutil.rmtree(home)
    VENVS.mkdir(parents=True, exist_ok=True)
    log = VENVS / f"{name}.log"
    print(f"  installing {spec} into {home.relative_to(ROOT)} (log: {log.relative_to(ROOT)})")
    steps = [
        [python, "-m", "venv", str(home)],
        [str(home / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         "--quiet", spec],
    ]  # fmt: skip
    with log.open("w") as out:
        for step in steps:
            try:
                done = subprocess.run(
                    step,
                    check=False,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=_INSTALL_TIMEOUT_S,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise Unavailable(f"{step[0]} {step[1]}: {exc}") from exc
            if done.returncode != 0:
                raise Unavailable(f"install failed ({_last_error(log)})")
    marker.write_text(spec + "\n")
    return home / "bin"


def _last_error(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    useful = [line for line in lines if line.startswith("ERROR")] or [
        line for line in lines if line
    ]
    return (useful[-1] if useful else "no output")[:200]


def python_version() -> str:
    """The driver's Python, which also builds the peer venvs."""
    return ".".join(map(str, sys.version_info[:3]))
