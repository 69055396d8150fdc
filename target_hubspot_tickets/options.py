"""The target's own settings, read from the config once and validated.

`TargetOptions.from_config` is the one place a target setting is parsed: the write steps get
`WriteOptions`, the validator `ValidatorSettings`, and the target the paths and `max_rejects`.
A bad value is a `ConfigError` of one line naming the setting, raised before any write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from hubspot_api.config_files import refuse_guard_near_misses
from hubspot_api.errors import ConfigError
from hubspot_api.objects import object_type_name
from hubspot_api.progress import DEFAULT_PROGRESS_INTERVAL_S, progress_interval
from target_hubspot_tickets.validation import (
    DROP,
    EMPTY_MODES,
    NULL_MODES,
    READ_ONLY_MODES,
    SKIP,
    ValidatorSettings,
)
from target_hubspot_tickets.writing import WriteOptions

DEFAULT_UNKNOWN_OUTCOME_WAIT_S = 30.0
DEFAULT_ASSOCIATION_TYPES = ("contacts", "companies")
# Archives one input may ask for before the run refuses them all (`max_archives`; -1: no limit).
DEFAULT_MAX_ARCHIVES = 100
NO_ARCHIVE_LIMIT = -1


@dataclass(frozen=True)
class TargetOptions:
    """The target settings, validated: what the writes, the validator and the run end use."""

    write: WriteOptions
    validator: ValidatorSettings
    rejects_path: str | None = None
    summary_path: str | None = None
    max_rejects: int = 0
    results_path: str | None = None
    plan_path: str | None = None
    # Consent to create `source_id_property` on the portal when it lacks it.
    create_source_id_property: bool = False
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL_S  # seconds; 0: no progress lines

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetOptions:
        """Validate the target settings; raise `ConfigError` with one clear line."""
        _refuse_near_misses(config)
        _refuse_sdk_settings(config)
        dry_run = bool(config.get("dry_run", False))
        if _optional_text(config, "plan_path") and not dry_run:
            raise ConfigError(
                "plan_path is set but dry_run is not true, so this run would write to HubSpot; "
                "set dry_run: true for a plan, or remove plan_path"
            )
        id_property = _optional_text(config, "id_property")
        source_id_property = _optional_text(config, "source_id_property")
        wait, max_rejects, max_archives = _numbers(config)
        create_source = _create_source(config, source_id_property)
        types = config.get("association_types") or DEFAULT_ASSOCIATION_TYPES
        if isinstance(types, str) or not all(isinstance(t, str) for t in types):
            raise ConfigError("association_types must be a list of object type names")
        return cls(
            write=WriteOptions(
                id_property=id_property,
                source_id_property=source_id_property,
                replace_associations=bool(config.get("replace_associations", False)),
                association_types=tuple(dict.fromkeys(object_type_name(t) for t in types)),
                unknown_outcome_wait_s=float(wait),
                dry_run=dry_run,
                max_archives=None if max_archives == NO_ARCHIVE_LIMIT else max_archives,
            ),
            validator=ValidatorSettings(
                id_property=id_property,
                source_id_property=source_id_property,
                read_only_columns=_choice(config, "read_only_columns", READ_ONLY_MODES, DROP),
                null_values=_choice(config, "null_values", NULL_MODES, SKIP),
                empty_string_values=_choice(config, "empty_string_values", EMPTY_MODES, SKIP),
                allow_unkeyed_creates=_flag(config, "allow_unkeyed_creates"),
            ),
            rejects_path=_output_path(config, "rejects_path"),
            summary_path=_output_path(config, "summary_path"),
            max_rejects=max_rejects,
            results_path=_output_path(config, "results_path"),
            plan_path=_output_path(config, "plan_path"),
            create_source_id_property=create_source,
            progress_interval=progress_interval(config),
        )


def _numbers(config: Mapping[str, Any]) -> tuple[float, int, int]:
    """Return `unknown_outcome_wait_s`, `max_rejects` and `max_archives`, checked."""
    wait = config.get("unknown_outcome_wait_s")
    if wait is None:
        wait = DEFAULT_UNKNOWN_OUTCOME_WAIT_S
    # singer-sdk reads a config file's decimals as Decimal, and Meltano writes a decimal
    # setting's value as one (30.0).
    if isinstance(wait, bool) or not isinstance(wait, int | float | Decimal) or wait < 0:
        raise ConfigError(f"unknown_outcome_wait_s must be a number of seconds >= 0, got {wait}")
    max_rejects = config.get("max_rejects") or 0
    if isinstance(max_rejects, bool) or not isinstance(max_rejects, int) or max_rejects < 0:
        raise ConfigError("max_rejects must be a whole number >= 0")
    max_archives = config.get("max_archives")
    if max_archives is None:
        max_archives = DEFAULT_MAX_ARCHIVES
    if (
        isinstance(max_archives, bool)
        or not isinstance(max_archives, int)
        or max_archives < NO_ARCHIVE_LIMIT
    ):
        raise ConfigError("max_archives must be a whole number >= 0, or -1 for no limit")
    return float(wait), max_rejects, max_archives


# Settings whose misspelling must not pass as a mere warning, each with what the run would do
# without it: write, or archive, what the user meant to hold back.
GUARD_SETTINGS: Mapping[str, str] = {
    "dry_run": "write to HubSpot",
    "max_archives": f"archive up to {DEFAULT_MAX_ARCHIVES} tickets whatever limit was meant",
}

# singer-sdk settings every target advertises that mean nothing to a writer of HubSpot records:
# each with its default (the only value that applies) and why another does not.
# The target declares them itself (`sdk_defaults_only_settings`), so that their descriptions
# say so; singer-sdk adds only the settings a target has not declared.
SDK_DEFAULTS_ONLY: Mapping[str, tuple[str | bool, str]] = {
    "load_method": (
        "append-only",
        "this target writes each record to HubSpot as a create, update, upsert or archive",
    ),
    "add_record_metadata": (
        False,
        "HubSpot tickets have no columns for singer-sdk's _sdc_ metadata",
    ),
}


def sdk_defaults_only_settings() -> list[th.Property[Any]]:
    """Declare the `SDK_DEFAULTS_ONLY` settings with their default and why no other applies."""
    return [
        th.Property(
            name,
            th.BooleanType if isinstance(default, bool) else th.StringType,
            default=default,
            description=(
                f"singer-sdk's setting; only {json.dumps(default)} applies: {why}. Another "
                "value stops the run."
            ),
        )
        for name, (default, why) in SDK_DEFAULTS_ONLY.items()
    ]


def _refuse_near_misses(config: Mapping[str, Any]) -> None:
    """Stop on a setting that is a misspelling of a guard setting (`dry_runn`, `max_archive`)."""
    refuse_guard_near_misses(config, GUARD_SETTINGS)


def _refuse_sdk_settings(config: Mapping[str, Any]) -> None:
    """Stop on a singer-sdk setting that does not apply here, given a value but its default."""
    for name, (default, why) in SDK_DEFAULTS_ONLY.items():
        value = config.get(name)
        if value is not None and value != default:
            shown = json.dumps(value) if isinstance(value, bool) else repr(value)
            raise ConfigError(f"{name} {shown} does not apply: {why}; remove the setting")


def _output_path(config: Mapping[str, Any], name: str) -> str | None:
    """Return a file setting the run writes, refusing a directory before any write."""
    value = _optional_text(config, name)
    if value is not None and Path(value).is_dir():
        raise ConfigError(f"{name} {value!r} is a directory; give the path of a file")
    return value


def _optional_text(config: Mapping[str, Any], name: str) -> str | None:
    """Return a text setting, or None when it is absent or empty."""
    value = config.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    return value


def _create_source(config: Mapping[str, Any], source_id_property: str | None) -> bool:
    """Return `create_source_id_property`, refusing it without a property to create."""
    create = _flag(config, "create_source_id_property")
    if create and source_id_property is None:
        raise ConfigError(
            "create_source_id_property is true but source_id_property is not set; name the "
            "unique ticket property to create there (e.g. source_row_id)"
        )
    return create


def _flag(config: Mapping[str, Any], name: str) -> bool:
    """Return a boolean setting (absent: false); refuse anything but true or false."""
    value = config.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def _choice(config: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    """Return a setting that takes one of `allowed`, or `default` when it is absent or empty."""
    value = config.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(value)
