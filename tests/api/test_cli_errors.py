"""Bad settings and bad credentials end both command lines in one clear line, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "canary-secret-7f3a9c"
COMMANDS = [
    pytest.param("tap-hubspot-tickets", "", id="tap"),
    pytest.param(
        "target-hubspot-tickets",
        '{"type":"SCHEMA","stream":"tickets","schema":{"properties":{"id":{"type":"string"}}},'
        '"key_properties":["id"]}\n',
        id="target",
    ),
]


def _run(command: str, config: dict[str, object], stdin: str, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [str(Path(sys.executable).parent / command), "--config", str(path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
def test_wrong_token_is_one_line_and_never_shows_the_token(
    command, stdin, emulator, tmp_path
) -> None:
    server = emulator()
    code, output = _run(command, {"api_url": server.url, "access_token": CANARY}, stdin, tmp_path)
    assert code == 1
    assert "Traceback" not in output
    assert CANARY not in output
    errors = [line for line in output.splitlines() if line.startswith(f"{command}: error:")]
    assert len(errors) == 1
    assert "401 INVALID_AUTHENTICATION" in errors[0]


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
@pytest.mark.parametrize(
    ("api_url", "reason"),
    [
        pytest.param("http://example.com", "plain http://", id="http-non-loopback"),
        pytest.param("ftp://127.0.0.1", "must start with https://", id="bad-scheme"),
        pytest.param("http://127.0.0.1:1", "cannot reach", id="unreachable"),
    ],
)
def test_bad_api_url_is_one_line(command, stdin, api_url, reason, tmp_path) -> None:
    code, output = _run(command, {"api_url": api_url, "access_token": CANARY}, stdin, tmp_path)
    assert code == 1
    assert "Traceback" not in output
    assert CANARY not in output
    (line,) = [ln for ln in output.splitlines() if ln.startswith(f"{command}: error:")]
    assert reason in line
