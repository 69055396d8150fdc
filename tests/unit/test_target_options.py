"""The target settings: read once from the config, one clear ConfigError line for a bad value."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hubspot_api.errors import ConfigError
from target_hubspot_tickets.options import (
    DEFAULT_ASSOCIATION_TYPES,
    DEFAULT_UNKNOWN_OUTCOME_WAIT_S,
    TargetOptions,
)
from target_hubspot_tickets.validation import DROP, SKIP


def test_defaults():
    options = TargetOptions.from_config({})
    assert options.write.id_property is None
    assert options.write.source_id_property is None
    assert options.write.replace_associations is False
    assert options.write.association_types == DEFAULT_ASSOCIATION_TYPES
    assert options.write.unknown_outcome_wait_s == DEFAULT_UNKNOWN_OUTCOME_WAIT_S
    assert options.validator.read_only_columns == DROP
    assert options.validator.null_values == SKIP
    # Safe by default: blanks clear nothing, creates need a source id, no property is created.
    assert options.validator.empty_string_values == SKIP
    assert options.validator.allow_unkeyed_creates is False
    assert options.create_source_id_property is False
    assert (options.rejects_path, options.summary_path, options.max_rejects) == (None, None, 0)


def test_unique_properties_reach_the_writes_and_the_validator_alike():
    options = TargetOptions.from_config({"id_property": "ext_id", "source_id_property": "src"})
    assert (options.write.id_property, options.write.source_id_property) == ("ext_id", "src")
    assert (options.validator.id_property, options.validator.source_id_property) == (
        "ext_id",
        "src",
    )


def test_empty_texts_mean_unset_and_association_types_are_normalised():
    options = TargetOptions.from_config(
        {
            "id_property": "",
            "rejects_path": "",
            "association_types": ["Contact", "contacts", "deals"],
            "unknown_outcome_wait_s": 2,
        }
    )
    assert options.write.id_property is None
    assert options.rejects_path is None
    assert options.write.association_types == ("contacts", "deals")
    assert options.write.unknown_outcome_wait_s == 2.0


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"max_rejects": -1}, "max_rejects"),
        ({"max_rejects": 1.5}, "max_rejects"),
        ({"max_rejects": True}, "max_rejects"),
        ({"unknown_outcome_wait_s": -0.5}, "unknown_outcome_wait_s"),
        ({"unknown_outcome_wait_s": "30"}, "unknown_outcome_wait_s"),
        ({"read_only_columns": "keep"}, "read_only_columns"),
        ({"null_values": "erase"}, "null_values"),
        ({"empty_string_values": "erase"}, "empty_string_values"),
        ({"allow_unkeyed_creates": "yes"}, "allow_unkeyed_creates"),
        ({"create_source_id_property": True}, "source_id_property is not set"),
        ({"association_types": "contacts"}, "association_types"),
        ({"id_property": 7}, "id_property"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else None,
)
def test_a_bad_value_is_one_line_naming_the_setting(config: dict[str, Any], names: str):
    with pytest.raises(ConfigError) as caught:
        TargetOptions.from_config(config)
    message = str(caught.value)
    assert names in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "limit"),
    [(None, 100), (0, 0), (250, 250), (-1, None)],
    ids=["default", "none-allowed", "raised", "no-limit"],
)
def test_max_archives_limits_archives_unless_minus_one(value: Any, limit: int | None) -> None:
    config = {} if value is None else {"max_archives": value}
    assert TargetOptions.from_config(config).write.max_archives == limit


@pytest.mark.parametrize(
    "value", [-2, True, "100", 1.5], ids=["below-minus-one", "bool", "text", "float"]
)
def test_a_bad_max_archives_is_one_line(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"^max_archives must be a whole number >= 0, or -1"):
        TargetOptions.from_config({"max_archives": value})


def test_a_dry_run_keeps_its_plan_and_a_real_run_its_results_path() -> None:
    options = TargetOptions.from_config(
        {"dry_run": True, "plan_path": "plan.jsonl", "results_path": "results.jsonl"}
    )
    assert options.write.dry_run is True
    assert (options.plan_path, options.results_path) == ("plan.jsonl", "results.jsonl")


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"dry_runn": True}, "setting 'dry_runn' is not a setting; did you mean 'dry_run'?"),
        ({"dryrun": True}, "did you mean 'dry_run'?"),
        ({"max_archive": 5}, "did you mean 'max_archives'?"),
        ({"plan_path": "plan.jsonl"}, "plan_path is set but dry_run is not true"),
    ],
    ids=["dry-runn", "dryrun", "max-archive", "plan-without-dry-run"],
)
def test_a_guard_that_would_not_hold_stops_the_run(config: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        TargetOptions.from_config(config)


@pytest.mark.parametrize("name", ["rejects_path", "summary_path", "results_path", "plan_path"])
def test_a_directory_given_for_a_file_is_refused_before_any_write(tmp_path, name: str) -> None:
    config = {name: str(tmp_path), "dry_run": name == "plan_path"}
    with pytest.raises(ConfigError, match=rf"{name} .* is a directory"):
        TargetOptions.from_config(config)
