"""The target settings: read once from the config, one clear ConfigError line for a bad value."""

from __future__ import annotations

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
