"""The `hubspot-emulator` command: flags, the readiness line, clean exit on signals."""

from __future__ import annotations

import dataclasses
import re
import selectors
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from hubspot_emulator.cli import build_parser, config_from_args
from hubspot_emulator.config import EmulatorConfig

FLAGS = (
    "--host",
    "--port",
    "--portal-id",
    "--tickets",
    "--seed",
    "--load",
    "--token",
    "--latency-ms",
    "--jitter-ms",
    "--rate-limit-10s",
    "--search-rate-limit",
    "--fault-rate",
    "--drop-rate",
    "--apply-then-drop-rate",
    "--search-lag-ms",
    "--token-lifetime-s",
    "--daily-limit",
    "--retry-after",
    "--required-property",
    "--whole-batch-errors",
    "--clock-offset-s",
    "--list-cursor-fault",
    "--verbose",
)
# Config fields whose flag takes one item at a time.
REPEATED = {
    "fault_paths": "--fault-path",
    "fault_statuses": "--fault-status",
    "oauth_clients": "--oauth-client",
    "refresh_tokens": "--refresh-token",
    "required_properties": "--required-property",
    "search_hidden_ids": "--hide-from-search",
}
LISTENING = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)$")


def _command() -> list[str]:
    return [sys.executable, "-m", "hubspot_emulator"]


def _first_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            pytest.fail("the emulator printed nothing in time")
    return process.stdout.readline().rstrip("\n")


def _run_until_signal(command: list[str], signum: int) -> tuple[str, int, str]:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            line = _first_line(process)
            if not LISTENING.match(line):
                process.kill()
                pytest.fail(f"unexpected first line {line!r}; stderr: {process.communicate()[1]}")
            url = line.removeprefix("listening on ")
            health = requests.get(f"{url}/_emulator/health", timeout=5)
            assert health.json() == {"status": "ok"}
            with requests.Session() as session:
                session.headers["Authorization"] = "Bearer emulator-token"
                page = session.get(f"{url}/crm/v3/objects/tickets", params={"limit": 100})
                assert len(page.json()["results"]) == 4
            process.send_signal(signum)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return line, process.returncode, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_prints_listening_first_and_exits_cleanly(signum):
    line, code, err = _run_until_signal([*_command(), "--port", "0", "--tickets", "4"], signum)
    assert LISTENING.match(line)
    assert code == 0, err
    assert "Traceback" not in err


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("hubspot-emulator")
    if not script.exists():
        pytest.skip("package not installed as a distribution in this environment")
    line, code, _ = _run_until_signal([str(script), "--tickets", "4"], signal.SIGTERM)
    assert LISTENING.match(line)
    assert code == 0


def test_help_documents_every_flag():
    result = subprocess.run(
        [*_command(), "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    for flag in FLAGS:
        assert flag in result.stdout, flag


def test_every_config_field_has_a_flag():
    options = {option for action in build_parser()._actions for option in action.option_strings}
    for field in dataclasses.fields(EmulatorConfig):
        flag = REPEATED.get(field.name, "--" + field.name.replace("_", "-"))
        assert flag in options, field.name


def test_flags_fill_the_config(tmp_path):
    load = tmp_path / "tickets.jsonl"
    args = build_parser().parse_args(
        [
            "--host", "127.0.0.2",
            "--port", "8123",
            "--portal-id", "987654",
            "--tickets", "5",
            "--seed", "9",
            "--load", str(load),
            "--token", "pat",
            "--oauth-client", "app:secret",
            "--refresh-token", "r1",
            "--refresh-token", "r2",
            "--token-lifetime-s", "60",
            "--latency-ms", "100",
            "--jitter-ms", "20",
            "--rate-limit-10s", "190",
            "--search-rate-limit", "5",
            "--daily-limit", "1000",
            "--retry-after",
            "--fault-rate", "0.1",
            "--drop-rate", "0.02",
            "--apply-then-drop-rate", "0.03",
            "--search-lag-ms", "500",
            "--required-property", "hs_ticket_priority",
            "--required-property", "content",
            "--max-uri-length", "8000",
            "--whole-batch-errors",
        ]
    )  # fmt: skip
    assert config_from_args(args) == EmulatorConfig(
        host="127.0.0.2",
        port=8123,
        portal_id=987654,
        tickets=5,
        seed=9,
        load=str(load),
        token="pat",
        oauth_clients={"app": "secret"},
        refresh_tokens=("r1", "r2"),
        token_lifetime_s=60.0,
        latency_ms=100.0,
        jitter_ms=20.0,
        rate_limit_10s=190,
        search_rate_limit=5,
        daily_limit=1000,
        retry_after=True,
        fault_rate=0.1,
        drop_rate=0.02,
        apply_then_drop_rate=0.03,
        search_lag_ms=500.0,
        required_properties=("hs_ticket_priority", "content"),
        max_uri_length=8000,
        whole_batch_errors=True,
    )


def test_defaults_match_the_config():
    assert config_from_args(build_parser().parse_args([])) == EmulatorConfig()


def test_bad_oauth_client_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--oauth-client", "no-secret"])
    assert exit_info.value.code == 2
    assert "CLIENT_ID:CLIENT_SECRET" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-3", "abc"], ids=["zero", "negative", "word"])
def test_bad_portal_id_is_a_usage_error(capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--portal-id", value])
    assert exit_info.value.code == 2
    assert "--portal-id" in capsys.readouterr().err


def test_portal_id_reaches_account_details():
    with subprocess.Popen(
        [*_command(), "--portal-id", "4242"], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            url = _first_line(process).removeprefix("listening on ")
            details = requests.get(
                f"{url}/account-info/v3/details",
                headers={"Authorization": "Bearer emulator-token"},
                timeout=5,
            )
            assert details.json()["portalId"] == 4242
        finally:
            process.terminate()
            process.communicate(timeout=10)


def test_busy_port_is_a_clean_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*_command(), "--port", str(port)],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "cannot listen on 127.0.0.1" in result.stderr
    assert result.stdout == ""
