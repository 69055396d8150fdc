"""Run a connector's command line so that config and HubSpot problems end in one clear line.

A wrong token, an unreachable `api_url`, a DAILY rate limit or a config file with a typo is not
a bug in the connector: the person running it needs the reason, not a traceback. `run_cli`
turns every `HubSpotError` (whose messages are already short and redacted) into one line on
stderr, `<command>: error: <reason>`; anything else is a bug and keeps its traceback.

Before the SDK reads the `--config` files, `check_config` reads them itself, because the SDK
answers a missing file or one that is not a JSON object with a traceback, and a setting of the
wrong type with a message that quotes the value, secrets included. It names:

- a file that does not exist, cannot be read, is not JSON, or is not a JSON object;
- each setting whose value has the wrong type, and what it expects; a secret setting's value is
  never shown, only its kind;
- each unknown setting, with the closest known name (`acess_token`: did you mean
  `access_token`?). That alone is a warning (`<command>: warning: ...`, and the run goes on);
  when the config is then unusable (no credentials), the hint joins the error line instead;
- each environment variable under the command's prefix (`TARGET_HUBSPOT_TICKETS_`) that names
  no setting, likewise: Meltano passes only known settings into the config file, but the
  process inherits every variable, so a misspelt one would otherwise vanish without a word;
- a misspelling of one of the plugin's `guard_settings` (the target's `dry_run`), in the config
  or as a variable: that one stops the run in one line before any input is read;
- settings that cannot work together or are missing (`HubSpotSettings.from_config`).

`--state` and `--catalog` files (the tap's) are checked the same way: a file that does not exist,
is not JSON or is not a JSON object is named in one line (`check_input_files`).

Settings taken from the environment (`--config ENV`, variables `<COMMAND>_<SETTING>`) are
parsed by the SDK, which ends an integer setting that is not a whole number in a traceback: that
one is checked here, naming the variable; the other type and completeness checks are left to
the SDK and the connector. `--about` skips the settings checks (it shows no settings), and
`--help` and `--version` skip every check.

Exit status: 0 when the run finished; 1 (`EXIT_HUBSPOT_ERROR`) for a HubSpot or config
problem, always reported in one line; 2 (`EXIT_USAGE_ERROR`) when the command line itself is
wrong (an unknown option, an option without its value), which click reports in its own short
usage message; 128 + the signal's number (143, 130) when SIGTERM or SIGINT stopped the run,
with its state written (`stopping`), in one line `<command>: stopped: ...`.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from singer_sdk.plugin_base import PluginBase

from hubspot_api.config import HubSpotSettings
from hubspot_api.config_files import (
    check_settings,
    read_config_file,
    read_json_object_file,
    refuse_guard_near_misses,
    secret_setting_names,
    unknown_settings,
    unknown_variable_names,
    unknown_variables,
    variable_prefix,
)
from hubspot_api.errors import ConfigError, HubSpotError
from hubspot_api.stopping import Stopped

EXIT_HUBSPOT_ERROR = 1
EXIT_USAGE_ERROR = 2  # click's own status for a wrong command line

CONFIG_OPTION = "--config"
STATE_OPTION = "--state"
CATALOG_OPTION = "--catalog"
ENV_CONFIG = "ENV"  # the SDK's `--config ENV`: settings from environment variables
_NO_CHECKS = frozenset({"--help", "--version"})
_NO_SETTINGS_CHECKS = frozenset({"--about"})


def config_paths(argv: Sequence[str]) -> list[str]:
    """Return the values of every `--config` option in `argv`, in order."""
    return option_values(argv, CONFIG_OPTION)


def option_values(argv: Sequence[str], option: str) -> list[str]:
    """Return the values of every `option` (`--config`, `--state`, ...) in `argv`, in order."""
    values: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            break
        if arg == option and index + 1 < len(argv):
            values.append(argv[index + 1])
            index += 2
            continue
        if arg.startswith(option + "="):
            values.append(arg.partition("=")[2])
        index += 1
    return values


def check_input_files(argv: Sequence[str]) -> None:
    """Refuse, in one line, a `--state` or `--catalog` file that is not a JSON object.

    The SDK reads both with a traceback for a file that is not JSON, and a `TypeError` for one
    that holds an array. A catalog must list its `streams`.
    """
    if _NO_CHECKS.intersection(argv):
        return
    for path in option_values(argv, STATE_OPTION):
        read_json_object_file(path, "state file", "stream states")
    for path in option_values(argv, CATALOG_OPTION):
        catalog = read_json_object_file(path, "catalog file", "streams")
        if not isinstance(catalog.get("streams"), list):
            raise ConfigError(f"catalog file {path} has no list of 'streams'")


def config_schema(plugin: type[PluginBase]) -> dict[str, Any]:
    """Return the full config schema the SDK validates against: the plugin's plus built-ins."""
    schema: dict[str, Any] = copy.deepcopy(plugin.config_jsonschema)
    plugin.append_builtin_config(schema)
    return schema


def check_config(
    plugin: type[PluginBase], argv: Sequence[str], warn: Callable[[str], None]
) -> None:
    """Check the `--config` files in `argv` as the module docstring says; raise `ConfigError`."""
    paths = config_paths(argv)
    if not paths or _NO_CHECKS.intersection(argv):
        return
    schema = config_schema(plugin)
    properties = schema.get("properties") or {}
    # Settings whose misspelling stops the run: {setting: what the misspelling would let happen}.
    guards: Mapping[str, str] = getattr(plugin, "guard_settings", {})
    merged: dict[str, Any] = {}
    notes: list[str] = []
    for path in paths:
        if path == ENV_CONFIG:
            continue
        config = read_config_file(path)
        refuse_guard_near_misses(config, guards)
        notes += unknown_settings(config, schema, source=path)
        merged.update(config)  # later files win, as in the SDK
    if not _NO_SETTINGS_CHECKS.intersection(argv):
        prefix = variable_prefix(plugin.name)
        refuse_guard_near_misses(
            unknown_variable_names(os.environ, schema, prefix).values(), guards, prefix
        )
        # Meltano exports each setting of a plugin's config as a variable too: a name the
        # config files already misspell was named above, once is enough.
        misspelt = {str(name).lower() for name in merged if name not in properties}
        notes += unknown_variables(os.environ, schema, prefix, named=misspelt)
    if ENV_CONFIG in paths:
        check_environment(plugin, schema)
    elif not _NO_SETTINGS_CHECKS.intersection(argv):
        try:
            check_settings(merged, schema)
            HubSpotSettings.from_config(merged)
        except ConfigError as exc:
            if notes:
                raise ConfigError(f"{exc} ({'; '.join(notes)})") from None
            raise
    for note in notes:
        warn(note)


def check_environment(plugin: type[PluginBase], schema: dict[str, Any]) -> None:
    """Refuse, in one line, an integer setting from the environment that is not a number."""
    prefix = variable_prefix(plugin.name)
    secret = secret_setting_names(schema)
    for name, spec in (schema.get("properties") or {}).items():
        variable = prefix + name.upper().replace("-", "_")
        value = os.environ.get(variable)
        kinds = spec.get("type") if isinstance(spec, dict) else None
        if value is None or "integer" not in (kinds if isinstance(kinds, list) else [kinds]):
            continue
        try:
            int(value)
        except ValueError:
            shown = "" if name in secret else f", got {json.dumps(value)[:60]}"
            raise ConfigError(
                f"environment variable {variable} (setting {name}) must be a whole number{shown}"
            ) from None


def _plugin_of(command: object) -> type[PluginBase] | None:
    """Return the tap or target class behind an SDK command (its callback is `cls.invoke`)."""
    owner = getattr(getattr(command, "callback", None), "__self__", None)
    return owner if isinstance(owner, type) and issubclass(owner, PluginBase) else None


def _say(name: str, level: str, message: str) -> None:
    line = f"{name}: {level}: {message}"
    if _structured_logging():
        # Meltano reads a plugin's log lines as JSON when it declares `structured-logging`;
        # a plain line would show there at info level, an error among them.
        record = {
            "level": _LEVELS.get(level, "info"),
            "pid": os.getpid(),
            "logger_name": name,
            "ts": time.time(),
            "thread_name": threading.current_thread().name,
            "app_name": name,
            "message": line,
        }
        line = json.dumps(record)
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# The log level Meltano shows for each kind of line `_say` writes.
_LEVELS = {"error": "error", "warning": "warning", "stopped": "error"}
# Meltano names, in this variable, the logging configuration it wrote for a singer-sdk plugin.
SDK_LOG_CONFIG_VARIABLE = "SINGER_SDK_LOG_CONFIG"


def _structured_logging() -> bool:
    """Tell whether the plugin runs with JSON log lines (Meltano's `structured-logging`)."""
    path = os.environ.get(SDK_LOG_CONFIG_VARIABLE)
    if not path:
        return False
    try:
        with open(path, encoding="utf-8") as file:
            return "StructuredFormatter" in file.read(64_000)
    except OSError:
        return False


def run_cli(
    command: Callable[[], object],
    name: str,
    on_error: Callable[[str], None] | None = None,
) -> None:
    """Run `command` (a plugin's click entry point); report config and HubSpot errors in a line.

    `on_error` receives that line's reason first (the target records a refused run in its
    summary file with it).
    """
    try:
        plugin = _plugin_of(command)
        if plugin is not None:
            check_config(plugin, sys.argv[1:], lambda note: _say(name, "warning", note))
            check_input_files(sys.argv[1:])
        command()
    except HubSpotError as exc:
        if on_error is not None:
            on_error(str(exc))
        _say(name, "error", str(exc))
        raise SystemExit(EXIT_HUBSPOT_ERROR) from None
    except Stopped as stop:
        _say(name, "stopped", f"{stop.name} stopped the run; {stop.outcome}")
        stop.reported()
        raise SystemExit(stop.exit_status) from None
