"""Bad settings, bad config files, bad credentials and TLS mistakes end both command lines in
one clear line, no traceback, and never show a secret in any spelling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_api.cli import EXIT_HUBSPOT_ERROR
from hubspot_api.config import DEFAULT_API_URL
from hubspot_api.errors import spellings
from hubspot_emulator.config import DEFAULT_TOKEN

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

# The host of the default api_url, written without its scheme.
HUBSPOT_HOST = DEFAULT_API_URL.removeprefix("https://")


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
        # Without a scheme: the emulator's loopback address takes http://, HubSpot https://.
        pytest.param(
            "localhost:8080", "has no scheme: write 'http://localhost:8080'", id="no-scheme-local"
        ),
        pytest.param(HUBSPOT_HOST, f"has no scheme: write '{DEFAULT_API_URL}'", id="no-scheme"),
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


# -- config file problems -------------------------------------------------------------------------
def _invoke(
    command: str,
    args: list[str],
    stdin: str,
    tmp_path: Path,
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """Run a command line with stdin from a small file; return (status, stdout, stderr)."""
    messages = tmp_path / "input.jsonl"
    messages.write_text(stdin)
    with messages.open() as source:
        done = subprocess.run(
            [str(Path(sys.executable).parent / command), *args],
            stdin=source,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **(env or {})},
        )
    return done.returncode, done.stdout, done.stderr


def _only_line(command: str, code: int, stderr: str) -> str:
    """Assert the run failed with exactly one line on stderr, no traceback; return the line."""
    assert code == EXIT_HUBSPOT_ERROR, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"{command}: error: ")
    return lines[0]


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(None, "does not exist", id="missing"),
        pytest.param("{not json", "is not valid JSON", id="not-json"),
        pytest.param(
            '{"access_token": "cut\n"}',
            "is not valid JSON: Invalid control character at line 1, column 22",
            id="cut-inside-a-string",
        ),
        pytest.param("", "is empty", id="empty"),
        pytest.param('[{"access_token": "x"}]', "holds a JSON array", id="array"),
        pytest.param('"just text"', "holds a string alone", id="string"),
    ],
)
def test_config_file_problems_are_one_line_naming_the_file(
    command, stdin, content, fragment, tmp_path
):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    code, _, stderr = _invoke(command, ["--config", str(path)], stdin, tmp_path)
    line = _only_line(command, code, stderr)
    assert line.startswith(f"{command}: error: config file {path} {fragment}")


@pytest.mark.parametrize("option", ["--state", "--catalog"])
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(None, "does not exist", id="missing"),
        pytest.param("{not json", "is not valid JSON", id="not-json"),
        pytest.param("[1]", "holds a JSON array", id="array"),
    ],
)
def test_the_taps_state_and_catalog_files_are_checked_in_one_line(
    option, content, fragment, emulator, tmp_path
):
    server = emulator()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN}))
    path = tmp_path / "input-file.json"
    if content is not None:
        path.write_text(content)
    args = ["--config", str(config), option, str(path)]
    code, stdout, stderr = _invoke("tap-hubspot-tickets", args, "", tmp_path)
    line = _only_line("tap-hubspot-tickets", code, stderr)
    kind = "state file" if option == "--state" else "catalog file"
    assert line.startswith(f"tap-hubspot-tickets: error: {kind} {path} {fragment}")
    assert stdout == ""
    assert server.stats()["requests"] == 0


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        pytest.param(
            {"max_concurrency": "eight"},
            'max_concurrency must be a whole number, got "eight"',
            id="integer",
        ),
        pytest.param(
            {"request_timeout": [1]}, "request_timeout must be a number, got [1]", id="number"
        ),
    ],
)
def test_settings_of_the_wrong_type_are_one_line_naming_them(  # noqa: PLR0917 - fixtures + params
    command, stdin, settings, fragment, emulator, tmp_path
):
    server = emulator()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": server.url, "access_token": CANARY, **settings}))
    code, _, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    assert fragment in _only_line(command, code, stderr)
    assert server.stats()["requests"] == 0


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
@pytest.mark.parametrize("name", ["access_token", "client_secret", "refresh_token"])
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param([CANARY], "a list", id="list"),
        pytest.param(73_219_004_518, "a whole number", id="number"),
        pytest.param({"token": CANARY}, "an object", id="object"),
    ],
)
def test_a_secret_of_the_wrong_type_is_named_and_never_shown(  # noqa: PLR0917 - fixtures + params
    command, stdin, name, value, kind, tmp_path
):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": "http://127.0.0.1:1", name: value}))
    code, stdout, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    line = _only_line(command, code, stderr)
    assert f"{name} must be a string, got {kind}" in line
    for shown in (CANARY, "73219004518"):
        assert shown not in stdout + stderr


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
def test_a_mistyped_setting_name_without_credentials_is_one_line_with_the_hint(
    command, stdin, tmp_path
):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": "http://127.0.0.1:1", "acess_token": CANARY}))
    code, stdout, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    line = _only_line(command, code, stderr)
    assert "no credentials" in line
    assert f"unknown setting 'acess_token' in {config} is ignored" in line
    assert "did you mean 'access_token'?" in line
    assert CANARY not in stdout + stderr


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
def test_a_mistyped_optional_setting_is_a_warning_and_the_run_goes_on(
    command, stdin, emulator, tmp_path
):
    server = emulator()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN, "max_concurency": 2})
    )
    code, _, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith(f"{command}: warning:")]
    assert warnings == [
        f"{command}: warning: unknown setting 'max_concurency' in {config} is ignored; "
        "did you mean 'max_concurrency'?"
    ]


def test_a_singer_sdk_setting_is_never_taken_for_a_typo(emulator, tmp_path):
    # The target has no BATCH capability: its batch_config is ignored, and said so, but it is
    # no misspelt faker_config.
    server = emulator()
    config = tmp_path / "config.json"
    batch = {"encoding": {"format": "jsonl"}, "storage": {"root": tmp_path.as_uri()}}
    config.write_text(
        json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN, "batch_config": batch})
    )
    command, stdin = "target-hubspot-tickets", COMMANDS[1].values[1]
    code, _, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith(f"{command}: warning:")]
    assert warnings == [
        f"{command}: warning: setting 'batch_config' in {config} is ignored: a singer-sdk "
        "setting of a capability this connector does not have"
    ]


def test_an_integer_setting_from_the_environment_is_checked(tmp_path):
    code, _, stderr = _invoke(
        "tap-hubspot-tickets",
        ["--config", "ENV"],
        "",
        tmp_path,
        env={"TAP_HUBSPOT_TICKETS_MAX_CONCURRENCY": "eight"},
    )
    line = _only_line("tap-hubspot-tickets", code, stderr)
    assert "environment variable TAP_HUBSPOT_TICKETS_MAX_CONCURRENCY" in line
    assert "must be a whole number" in line


PREFIXES = {
    "tap-hubspot-tickets": "TAP_HUBSPOT_TICKETS_",
    "target-hubspot-tickets": "TARGET_HUBSPOT_TICKETS_",
}


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
def test_a_misspelt_setting_variable_is_a_warning_and_meltanos_own_are_not(
    command, stdin, emulator, tmp_path
):
    server = emulator()
    prefix = PREFIXES[command]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN}))
    env = {
        f"{prefix}MAX_CONCURENCY": "2",
        # What Meltano and singer-sdk set beside it: a known setting, the extras, the
        # variables of a plugin inheriting from this one, a nested key, the SDK's log level.
        f"{prefix}MAX_CONCURRENCY": "2",
        f"{prefix}_SELECT": '["tickets.*"]',
        f"{prefix}_LOAD_SCHEMA": "tickets",
        f"{prefix}_CHANGES_API_URL": server.url,
        f"{prefix}EU_API_URL": server.url,
        f"{prefix}STREAM_MAPS_TICKETS": "{}",
        f"{prefix}LOGLEVEL": "INFO",
    }
    code, _, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path, env=env)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith(f"{command}: warning:")]
    assert warnings == [
        f"{command}: warning: environment variable {prefix}MAX_CONCURENCY names no setting and "
        f"is ignored; did you mean {prefix}MAX_CONCURRENCY (max_concurrency)?"
    ]


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
def test_a_misspelt_setting_meltano_also_exports_as_a_variable_is_one_warning(
    command, stdin, emulator, tmp_path
):
    # Meltano writes a setting of meltano.yml into the config file and exports it as
    # <PREFIX>_<NAME> too: one typo, one warning, not a second one blaming a variable.
    server = emulator()
    prefix = PREFIXES[command]
    config = tmp_path / "config.json"
    settings = {"api_url": server.url, "access_token": DEFAULT_TOKEN, "max_concurency": 2}
    config.write_text(json.dumps(settings))
    env = {f"{prefix}MAX_CONCURENCY": "2"}
    code, _, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path, env=env)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith(f"{command}: warning:")]
    assert len(warnings) == 1, warnings
    assert "unknown setting 'max_concurency'" in warnings[0]
    assert "did you mean 'max_concurrency'?" in warnings[0]


TARGET = "target-hubspot-tickets"
TARGET_INPUT = COMMANDS[1].values[1] + (
    '{"type":"RECORD","stream":"tickets","record":{"id":"1","subject":"kept back"}}\n'
)


@pytest.mark.parametrize(
    ("setting", "guard", "what"),
    [
        pytest.param("dry_runn", "dry_run", "write to HubSpot", id="dry_run"),
        pytest.param(
            "max_archive",
            "max_archives",
            "archive up to 100 tickets whatever limit was meant",
            id="max_archives",
        ),
    ],
)
@pytest.mark.parametrize("where", ["config", "environment"])
def test_a_misspelt_guard_setting_stops_the_target_in_one_line(  # noqa: PLR0917 - params
    setting, guard, what, where, emulator, tmp_path
):
    server = emulator()
    settings: dict[str, object] = {"api_url": server.url, "access_token": DEFAULT_TOKEN}
    env = {}
    if where == "config":
        settings[setting] = 0 if guard == "max_archives" else True
        said, meant = f"setting {setting!r}", repr(guard)
    else:
        variable = f"TARGET_HUBSPOT_TICKETS_{setting.upper()}"
        env[variable] = "0" if guard == "max_archives" else "true"
        said, meant = f"environment variable {variable}", f"TARGET_HUBSPOT_TICKETS_{guard.upper()}"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(settings))
    before = server.portal.snapshot()
    code, stdout, stderr = _invoke(TARGET, ["--config", str(config)], TARGET_INPUT, tmp_path, env)
    line = _only_line(TARGET, code, stderr)
    assert line == (
        f"{TARGET}: error: {said} is not a setting; did you mean {meant}? A misspelt {guard} "
        f"would let this run {what}, so it stops before reading any input"
    )
    assert stdout == ""
    assert server.portal.snapshot() == before


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        pytest.param(
            "load_method",
            "overwrite",
            "load_method 'overwrite' does not apply: this target writes each record to HubSpot "
            "as a create, update, upsert or archive; remove the setting",
            id="load_method",
        ),
        pytest.param(
            "add_record_metadata",
            True,
            "add_record_metadata true does not apply: HubSpot tickets have no columns for "
            "singer-sdk's _sdc_ metadata; remove the setting",
            id="add_record_metadata",
        ),
    ],
)
def test_a_singer_sdk_setting_that_does_not_apply_stops_the_target(
    setting, value, message, emulator, tmp_path
):
    server = emulator()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_url": server.url, "access_token": DEFAULT_TOKEN, setting: value})
    )
    before = server.portal.snapshot()
    code, _, stderr = _invoke(TARGET, ["--config", str(config)], TARGET_INPUT, tmp_path)
    assert code == EXIT_HUBSPOT_ERROR, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(f"{TARGET}: error:")]
    assert errors == [f"{TARGET}: error: {message}"]
    assert server.portal.snapshot() == before


@pytest.mark.parametrize(
    "refusing",
    [
        pytest.param({"load_method": "overwrite"}, id="setting-that-does-not-apply"),
        pytest.param({"dry_runn": True}, id="misspelt-guard"),
        pytest.param({"api_url": "http://example.com"}, id="unusable-api-url"),
    ],
)
def test_a_run_refused_at_start_replaces_an_earlier_runs_summary(refusing, emulator, tmp_path):
    server = emulator()
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"status": "succeeded", "error": None, "created": 3}))
    settings = {"api_url": server.url, "access_token": DEFAULT_TOKEN, "summary_path": str(summary)}
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**settings, **refusing}))

    code, _, stderr = _invoke(TARGET, ["--config", str(config)], TARGET_INPUT, tmp_path)

    assert code == EXIT_HUBSPOT_ERROR, stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith(f"{TARGET}: error:")]
    written = json.loads(summary.read_text())
    # Not the earlier run's "succeeded": this run failed, for the reason its error line gives.
    assert written["status"] == "failed"
    assert line == f"{TARGET}: error: {written['error']}"
    assert (written["received"], written["created"]) == (0, 0)


# -- TLS ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
def test_https_to_a_plain_http_server_is_one_tls_line_without_retries(
    command, stdin, emulator, tmp_path
):
    server = emulator()
    config = tmp_path / "config.json"
    api_url = server.url.replace("http://", "https://")
    config.write_text(json.dumps({"api_url": api_url, "access_token": DEFAULT_TOKEN}))
    code, _, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    assert code == EXIT_HUBSPOT_ERROR
    assert "Traceback" not in stderr
    assert "retrying" not in stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith(f"{command}: error:")]
    assert f"TLS handshake with 127.0.0.1:{server.port} failed" in line
    assert "the server does not speak TLS (is api_url http:// ?)" in line
    # Every connection the run opened failed its handshake once; none was tried again.
    assert server.stats()["connections"] == 1
    assert server.stats()["requests"] == 0


# -- secrets in every spelling --------------------------------------------------------------------
AWKWARD_SECRET = 'c/s+e=c&r%e"t\\9'
AWKWARD_REFRESH = "r/t+k=n&%1"


@pytest.mark.parametrize(("command", "stdin"), COMMANDS)
@pytest.mark.parametrize("where", ["emulator", "echoing-server"])
def test_a_refused_oauth_refresh_shows_no_secret_in_any_spelling(  # noqa: PLR0917 - fixtures + params
    command, stdin, where, emulator, echo_server, tmp_path
):
    url = emulator().url if where == "emulator" else echo_server(400)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "api_url": url,
                "client_id": "emulator-client",
                "client_secret": AWKWARD_SECRET,
                "refresh_token": AWKWARD_REFRESH,
            }
        )
    )
    code, stdout, stderr = _invoke(command, ["--config", str(config)], stdin, tmp_path)
    assert code == EXIT_HUBSPOT_ERROR, stderr
    assert "Traceback" not in stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith(f"{command}: error:")]
    assert "OAuth token refresh refused" in line
    leaks = [
        form
        for secret in (AWKWARD_SECRET, AWKWARD_REFRESH)
        for form in spellings(secret)
        if form in stdout + stderr
    ]
    assert leaks == []
