"""meltano.yml, the plugin definitions in plugins/ and `--about` agree on every setting.

The settings schema is the source: `scripts/plugin_definitions.py` generates the definitions
from it, and meltano.yml's plugin blocks must declare the same settings with the same kinds
and `sensitive` flags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hubspot_api.config import settings_schema
from scripts.plugin_definitions import PLUGINS as DEFINITIONS
from scripts.plugin_definitions import PluginSpec, render
from tap_hubspot_tickets.tap import TAP_SETTINGS
from target_hubspot_tickets.target import TARGET_SETTINGS

MELTANO_YML = Path(__file__).resolve().parents[2] / "meltano.yml"
BIN = Path(sys.executable).parent
# Meltano's setting kinds a definition may use (no date_iso8601: see below).
KINDS = {"string", "password", "options", "integer", "decimal", "boolean", "array", "object"}


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


SPECS = [pytest.param(spec, id=spec.plugin_type) for spec in DEFINITIONS]


def _definition(spec: PluginSpec) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(spec.path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("spec", SPECS)
def test_definitions_are_generated_from_the_settings_schema(spec: PluginSpec) -> None:
    assert spec.path.exists(), f"{spec.path.name} is missing: run `make plugins`"
    committed = spec.path.read_text(encoding="utf-8")
    assert committed == render(spec), f"{spec.path.name} is out of date: run `make plugins`"


@pytest.mark.parametrize("spec", SPECS)
def test_meltano_yml_declares_settings_as_the_definition_does(spec: PluginSpec) -> None:
    defined = {s["name"]: s for s in _definition(spec)["settings"]}
    for setting in _plugin(spec.plugin.name)["settings"]:
        name = setting["name"]
        assert name in defined, f"meltano.yml declares {name!r}, the definition does not"
        want = defined[name]
        assert setting["kind"] == want["kind"], f"{name}: kind {setting['kind']!r}"
        assert bool(setting.get("sensitive")) == want["sensitive"], f"{name}: sensitive"


def _about(executable: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / executable), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("spec", SPECS)
def test_definition_matches_about(spec: PluginSpec) -> None:
    about = _about(spec.plugin.name)
    definition = _definition(spec)
    properties = about["settings"]["properties"]
    assert definition["capabilities"] == sorted(about["capabilities"])
    # Hub spells an object of fixed keys as its dotted leaves (faker_config.seed).
    assert {s["name"].split(".")[0] for s in definition["settings"]} == set(properties)
    for setting in definition["settings"]:
        prop = properties[setting["name"].split(".")[0]]
        if "." in setting["name"]:
            continue
        assert setting["sensitive"] == bool(prop.get("secret")), setting["name"]
        assert setting["description"] == " ".join(prop["description"].split()), setting["name"]
        assert setting.get("value") == prop.get("default"), setting["name"]
        if prop.get("enum"):
            assert [o["value"] for o in setting["options"]] == prop["enum"], setting["name"]


@pytest.mark.parametrize("spec", SPECS)
def test_every_setting_has_a_kind_and_a_description(spec: PluginSpec) -> None:
    for setting in _definition(spec)["settings"]:
        assert setting["description"].strip(), setting["name"]
        # Meltano rewrites a date_iso8601 value before the plugin sees it (01/02/2024 becomes
        # 2024-01-02): a date-time setting is a string the plugin itself checks.
        assert setting["kind"] in KINDS, setting["name"]
    for setting in _plugin(spec.plugin.name)["settings"]:
        assert setting["kind"] != "date_iso8601", setting["name"]


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
