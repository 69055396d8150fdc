"""meltano.yml declares exactly the settings each plugin's own config schema has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hubspot_api.config import settings_schema
from tap_hubspot_tickets.tap import TAP_SETTINGS
from target_hubspot_tickets.target import TARGET_SETTINGS

MELTANO_YML = Path(__file__).resolve().parents[2] / "meltano.yml"


def _plugin(name: str) -> dict[str, Any]:
    project = yaml.safe_load(MELTANO_YML.read_text(encoding="utf-8"))
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"].get(kind, []):
            if plugin["name"] == name:
                return dict(plugin)
    raise AssertionError(f"{name} is not declared in meltano.yml")


# Built from the declarations, not read off the plugin classes: singer-sdk adds its built-in
# settings (stream maps, flattening...) to a class's schema once the plugin has been run.
PLUGINS = [
    pytest.param("tap-hubspot-tickets", settings_schema(*TAP_SETTINGS), id="tap"),
    pytest.param("target-hubspot-tickets", settings_schema(*TARGET_SETTINGS), id="target"),
]


@pytest.mark.parametrize(("name", "config_schema"), PLUGINS)
def test_setting_names_match_config_schema(name: str, config_schema: dict[str, Any]) -> None:
    declared = [s["name"] for s in _plugin(name)["settings"]]
    schema = config_schema["properties"]
    assert len(declared) == len(set(declared)), "a setting is declared twice"
    assert set(declared) == set(schema)


@pytest.mark.parametrize(("name", "config_schema"), PLUGINS)
def test_secrets_are_sensitive_in_both(name: str, config_schema: dict[str, Any]) -> None:
    schema = config_schema["properties"]
    secret_in_schema = {k for k, v in schema.items() if v.get("secret")}
    sensitive = {s["name"] for s in _plugin(name)["settings"] if s.get("sensitive")}
    password_kind = {s["name"] for s in _plugin(name)["settings"] if s.get("kind") == "password"}
    assert secret_in_schema == sensitive == password_kind


@pytest.mark.parametrize(("name", "config_schema"), PLUGINS)
def test_declared_defaults_match_schema_defaults(name: str, config_schema: dict[str, Any]) -> None:
    schema = config_schema["properties"]
    for setting in _plugin(name)["settings"]:
        if "value" in setting and "default" in schema[setting["name"]]:
            assert setting["value"] == schema[setting["name"]]["default"], setting["name"]


def _kinds_for(schema: dict[str, Any]) -> set[str]:
    types = schema.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    types.discard("null")
    kind = {
        "integer": {"integer"},
        "number": {"decimal"},
        "boolean": {"boolean"},
        "array": {"array"},
        "object": {"object"},
    }
    if types == {"string"}:
        if schema.get("secret"):
            return {"password"}
        if schema.get("format") == "date-time":
            return {"date_iso8601"}
        return {"options"} if schema.get("enum") else {"string"}
    (only,) = types
    return kind[only]


@pytest.mark.parametrize(("name", "config_schema"), PLUGINS)
def test_setting_kinds_fit_schema_types(name: str, config_schema: dict[str, Any]) -> None:
    schema = config_schema["properties"]
    for setting in _plugin(name)["settings"]:
        assert setting["kind"] in _kinds_for(schema[setting["name"]]), setting["name"]


def test_meltano_plugins_run_our_console_scripts() -> None:
    for name in ("tap-hubspot-tickets", "target-hubspot-tickets"):
        plugin = _plugin(name)
        assert plugin["executable"] == name
        assert plugin["pip_url"] == "-e ."


def test_split_schedule_variants_cover_every_stream_of_the_tap() -> None:
    project = yaml.safe_load(MELTANO_YML.read_text(encoding="utf-8"))
    extractors = {p["name"]: p for p in project["plugins"]["extractors"]}
    variants = [p for p in extractors.values() if p.get("inherit_from") == "tap-hubspot-tickets"]
    assert variants, "no scheduled variants of the tap"
    selected = [rule for variant in variants for rule in variant["select"]]
    assert sorted(selected) == sorted(extractors["tap-hubspot-tickets"]["select"])
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    for schedule in project["schedules"]:
        assert schedule["job"] in jobs
