"""Config files as the command line reads them, checked before the SDK sees them.

`read_config_file` names the file that is missing or not a JSON object, `settings_problems`
names each setting whose value has the wrong type without ever showing a secret's value (the
SDK's own message quotes the value), and `unknown_settings` names each setting the connector
does not know, with the closest known name. `unknown_variables` does the same for environment
variables under the connector's prefix (the plugin process inherits the whole environment, and
the SDK reads only the variables of known settings), and `refuse_guard_near_misses` stops on a
misspelling of a setting that holds a run back (the target's `dry_run`). The settings themselves
are declared in `config`.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from singer_sdk import typing as th
from singer_sdk.helpers import capabilities as sdk_capabilities

from hubspot_api.config import SECRET_SETTINGS
from hubspot_api.errors import ConfigError, closest, json_error_at, json_kind


def read_config_file(path: str) -> dict[str, Any]:
    """Read one config file; raise `ConfigError` naming the file unless it holds a JSON object."""
    return read_json_object_file(path, "config file", "settings")


def read_json_object_file(path: str, kind: str, of: str) -> dict[str, Any]:
    """Read a JSON file given on the command line (`kind`: "config file", "state file", ...).

    Raise `ConfigError` naming the file unless it holds a JSON object (of `of`); the message
    names the position of a syntax error, never the file's content.
    """
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"{kind} {path} does not exist")
    if file.is_dir():
        raise ConfigError(f"{kind} {path} is a directory, not a JSON file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{kind} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{kind} {path} cannot be read: {exc.strerror or exc}") from None
    if not text.strip():
        raise ConfigError(f"{kind} {path} is empty; it must hold a JSON object of {of}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{kind} {path} is not valid JSON: "
            f"{json_error_at(exc, f'line {exc.lineno}, column {exc.colno}')}"
        ) from None
    if not isinstance(value, dict):
        what = "a JSON array" if isinstance(value, list) else f"{json_kind(value)} alone"
        raise ConfigError(f"{kind} {path} holds {what}, not a JSON object of {of}")
    return value


def secret_setting_names(schema: Mapping[str, Any]) -> frozenset[str]:
    """Return the settings of a config schema whose values must never be shown."""
    properties = schema.get("properties") or {}
    marked = {
        name
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and (spec.get("secret") or spec.get("writeOnly"))
    }
    return frozenset(marked | set(SECRET_SETTINGS))


@functools.cache
def sdk_setting_names() -> frozenset[str]:
    """Return every setting singer-sdk defines for one of its capabilities (`batch_config`...).

    Read from the SDK's own capability schemas, so a setting it adds is known here too.
    """
    names: set[str] = set()
    for name, value in vars(sdk_capabilities).items():
        if name.endswith("_CONFIG") and isinstance(value, Mapping):
            names.update(value.get("properties") or {})
    return frozenset(names)


def unknown_settings(
    config: Mapping[str, Any], schema: Mapping[str, Any], source: str | None = None
) -> list[str]:
    """Describe each setting `schema` does not declare, with the closest declared name.

    Only names are shown, never values: a mistyped `acess_token` still holds a token.
    """
    known = list(schema.get("properties") or {})
    where = f" in {_config_source(source)}" if source else ""
    found: list[str] = []
    for name in config:
        if name in known:
            continue
        if name in sdk_setting_names():
            # Close to another SDK setting by spelling only (batch_config, faker_config).
            found.append(
                f"setting {name!r}{where} is ignored: a singer-sdk setting of a capability "
                "this connector does not have"
            )
            continue
        close = closest(str(name), known)
        hint = f"; did you mean {close!r}?" if close else ""
        found.append(f"unknown setting {name!r}{where} is ignored{hint}")
    return found


# singer-sdk reads `<PLUGIN>_LOGLEVEL` beside the settings (plugin_base._plugin_log_level).
SDK_VARIABLES = frozenset({"LOGLEVEL"})
# How close a name must be to a guard setting to count as its misspelling.
GUARD_NEAR_MISS_RATIO = 0.8


def variable_prefix(plugin_name: str) -> str:
    """Return the prefix of a connector's variables, as the SDK spells it (`TAP_HUBSPOT_...`)."""
    return f"{plugin_name.upper().replace('-', '_')}_"


def unknown_variable_names(
    environ: Mapping[str, str], schema: Mapping[str, Any], prefix: str
) -> dict[str, str]:
    """Return `{variable: setting name it spells}` for each variable under `prefix` naming none.

    Left alone, as Meltano and the SDK set them: Meltano's extras (`<PREFIX>_SELECT` with a
    double underscore, `__LOAD_SCHEMA`...) and the variables of a plugin named after this one
    (`tap-hubspot-tickets--changes`: `TAP_HUBSPOT_TICKETS__CHANGES_API_URL`; an own name
    such as `tap-hubspot-tickets-eu`: `..._EU_API_URL`), the nested keys Meltano flattens out
    of an object setting (`..._BATCH_CONFIG_ENCODING_FORMAT`), and the SDK's `LOGLEVEL`.
    """
    properties = schema.get("properties") or {}
    known = {name.upper().replace("-", "_") for name in properties}
    objects = {
        name.upper().replace("-", "_")
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and "object" in _types(spec)
    }
    found: dict[str, str] = {}
    for variable in sorted(environ):
        if not variable.startswith(prefix):
            continue
        suffix = variable[len(prefix) :]
        if (
            not suffix
            or "__" in variable[len(prefix) - 1 :]
            or suffix in known
            or suffix in SDK_VARIABLES
            or any(suffix.startswith(name + "_") for name in objects)
            or any(suffix.endswith("_" + name) for name in known | SDK_VARIABLES)
        ):
            continue
        found[variable] = suffix.lower()
    return found


def unknown_variables(
    environ: Mapping[str, str],
    schema: Mapping[str, Any],
    prefix: str,
    named: Iterable[str] = (),
) -> list[str]:
    """Describe each variable under `prefix` that names no setting, with the closest setting.

    Variables spelling a name of `named` (settings already reported) are left out.
    """
    known = list(schema.get("properties") or {})
    already = set(named)
    found: list[str] = []
    for variable, name in unknown_variable_names(environ, schema, prefix).items():
        if name in already:
            continue
        if name in sdk_setting_names():
            found.append(
                f"environment variable {variable} is ignored: {name!r} is a singer-sdk setting "
                "of a capability this connector does not have"
            )
            continue
        close = closest(name, known)
        hint = f"; did you mean {prefix}{close.upper()} ({close})?" if close else ""
        found.append(f"environment variable {variable} names no setting and is ignored{hint}")
    return found


def refuse_guard_near_misses(
    names: Iterable[str], guards: Mapping[str, str], prefix: str | None = None
) -> None:
    """Raise `ConfigError` for a name that misspells a guard setting (`dry_runn`).

    `guards` maps each guard setting to what its misspelling would let the run do ("write to
    HubSpot"). The names are settings of a config, or with `prefix` the setting names of
    environment variables (`dry_runn` for `TARGET_HUBSPOT_TICKETS_DRY_RUNN`).
    """
    for name in names:
        guard = guard_misspelt(str(name), guards)
        if guard is None:
            continue
        if prefix is None:
            said, meant = f"setting {name!r}", repr(guard)
        else:
            said = f"environment variable {prefix}{str(name).upper()}"
            meant = f"{prefix}{guard.upper()}"
        raise ConfigError(
            f"{said} is not a setting; did you mean {meant}? A misspelt {guard} would let this "
            f"run {guards[guard]}, so it stops before reading any input"
        )


def guard_misspelt(name: str, guards: Iterable[str]) -> str | None:
    """Return the guard setting `name` is a near miss of (not the setting itself), or None."""
    for guard in guards:
        ratio = difflib.SequenceMatcher(None, name.lower(), guard).ratio()
        if name != guard and ratio >= GUARD_NEAR_MISS_RATIO:
            return guard
    return None


def _types(spec: Mapping[str, Any]) -> list[Any]:
    kinds = spec.get("type")
    return kinds if isinstance(kinds, list) else [kinds]


def _config_source(path: str) -> str:
    """Name where a config file's settings come from: Meltano writes its own under .meltano/run."""
    parts = Path(path).parts
    if ".meltano" in parts and "run" in parts[parts.index(".meltano") :]:
        return "this plugin's Meltano settings (meltano.yml or its environment variables)"
    return path


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _expected(error: Any) -> str:
    """Say what a JSON Schema error expected, without quoting the value it saw."""
    kind, rule = error.validator, error.validator_value
    if kind == "type":
        names = [rule] if isinstance(rule, str) else list(rule)
        words = [_TYPE_WORDS.get(n, n) for n in names if n != "null"] or ["null"]
        return "must be " + " or ".join(words)
    if kind == "enum":
        return "must be one of " + ", ".join(str(v) for v in rule if v is not None)
    if kind == "const":
        return f"must be {rule!r}"
    if kind in {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"}:
        bound = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }
        return f"must be {bound[kind]} {rule}"
    if kind == "format":
        return f"must be a {rule} value"
    if kind in {"minLength", "maxLength", "minItems", "maxItems", "pattern"}:
        return f"does not meet {kind} {rule}"
    return "does not have the expected form"


def settings_problems(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Describe each setting whose value does not match `schema`, one phrase per setting.

    Each names the setting and what it expects; the value is shown only when the setting is not
    secret (the JSON Schema validator's own messages quote it, so they are never used).
    """
    secret = secret_setting_names(schema)
    validator = th.DEFAULT_JSONSCHEMA_VALIDATOR(schema)
    problems: dict[str, str] = {}
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: [str(p) for p in e.path])
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "required" and not path:
            missing = [n for n in error.validator_value if n not in config]
            for name in missing:
                problems.setdefault(str(name), f"{name} is required")
            continue
        if not path:
            continue  # the whole config is an object (read_config_file made sure)
        name = str(path[0])
        where = name + "".join(f"[{p}]" if isinstance(p, int) else f"[{p!r}]" for p in path[1:])
        if name in secret:
            seen = f"got {json_kind(error.instance)} (not shown: {name} is secret)"
        else:
            seen = f"got {_shown(error.instance)}"
        problems.setdefault(name, f"{where} {_expected(error)}, {seen}")
    return list(problems.values())


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_settings(config: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """Raise one `ConfigError` line for every setting of the wrong type, secrets hidden."""
    problems = settings_problems(config, schema)
    if len(problems) == 1:
        raise ConfigError(f"invalid setting: {problems[0]}")
    if problems:
        raise ConfigError(f"{len(problems)} invalid settings: " + "; ".join(problems))
