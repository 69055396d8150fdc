"""The target's own settings, read from the config once and validated.

`TargetOptions.from_config` is the one place a target setting is parsed: the write steps get
`WriteOptions`, the validator `ValidatorSettings`, and the target the paths and `max_rejects`.
A bad value is a `ConfigError` of one line naming the setting, raised before any write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_api.errors import ConfigError
from hubspot_api.objects import object_type_name
from target_hubspot_tickets.validation import (
    DROP,
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

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetOptions:
        """Validate the target settings; raise `ConfigError` with one clear line."""
        id_property = _optional_text(config, "id_property")
        source_id_property = _optional_text(config, "source_id_property")
        wait = config.get("unknown_outcome_wait_s")
        if wait is None:
            wait = DEFAULT_UNKNOWN_OUTCOME_WAIT_S
        if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
            raise ConfigError("unknown_outcome_wait_s must be a number of seconds >= 0")
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
                dry_run=bool(config.get("dry_run", False)),
                max_archives=None if max_archives == NO_ARCHIVE_LIMIT else max_archives,
            ),
            validator=ValidatorSettings(
                id_property=id_property,
                source_id_property=source_id_property,
                read_only_columns=_choice(config, "read_only_columns", READ_ONLY_MODES, DROP),
                null_values=_choice(config, "null_values", NULL_MODES, SKIP),
            ),
            rejects_path=_optional_text(config, "rejects_path"),
            summary_path=_optional_text(config, "summary_path"),
            max_rejects=max_rejects,
            results_path=_optional_text(config, "results_path"),
            plan_path=_optional_text(config, "plan_path"),
        )


def _optional_text(config: Mapping[str, Any], name: str) -> str | None:
    """Return a text setting, or None when it is absent or empty."""
    value = config.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    return value


def _choice(config: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    """Return a setting that takes one of `allowed`, or `default` when it is absent or empty."""
    value = config.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(value)
