"""Settings validation: one clear ConfigError line for every bad config."""

from __future__ import annotations

import json

import pytest
from singer_sdk import typing as th

from hubspot_api.cli import config_paths
from hubspot_api.config import (
    COMMON_SETTINGS,
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    SECRET_SETTINGS,
    HubSpotSettings,
    is_loopback_host,
    settings_schema,
)
from hubspot_api.config_files import (
    check_settings,
    read_config_file,
    secret_setting_names,
    settings_problems,
    unknown_settings,
)
from hubspot_api.errors import ConfigError

TOKEN = {"access_token": "pat-abc-123"}
OAUTH = {"client_id": "cid", "client_secret": "csecret", "refresh_token": "rtoken"}


def test_defaults_with_a_token():
    settings = HubSpotSettings.from_config(TOKEN)
    assert settings.api_url == DEFAULT_API_URL
    assert settings.api_version == DEFAULT_API_VERSION
    assert settings.requests_per_10_seconds == 190
    assert settings.search_requests_per_second == 5
    assert not settings.uses_oauth


def test_oauth_trio_is_accepted():
    settings = HubSpotSettings.from_config(OAUTH)
    assert settings.uses_oauth
    assert settings.secrets == ("csecret", "rtoken")


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({}, "no credentials"),
        ({"access_token": "  "}, "no credentials"),
        ({**TOKEN, **OAUTH}, "not both"),
        ({**TOKEN, "client_id": "cid"}, "not both"),
        ({"client_id": "cid", "client_secret": "s"}, "missing refresh_token"),
        ({**TOKEN, "api_url": "ftp://api.example.com"}, "must start with https://"),
        ({**TOKEN, "api_url": "http://api.example.com"}, "plain http://"),
        ({**TOKEN, "api_url": "http://10.0.0.1:8080"}, "plain http://"),
        ({**TOKEN, "api_url": "https://"}, "must start with https://"),
        ({**TOKEN, "api_url": "https://host:99999"}, "not a valid URL"),
        ({**TOKEN, "api_url": "https://host/?x=1"}, "query"),
        ({**TOKEN, "api_url": "https://user:pw@host"}, "credentials"),
        ({**TOKEN, "api_url": 5}, "non-empty URL"),
        ({**TOKEN, "api_version": "v4"}, "not supported"),
        ({**TOKEN, "api_version": "2025-09"}, "not supported"),
        ({**TOKEN, "request_timeout": 0}, "request_timeout"),
        ({**TOKEN, "requests_per_10_seconds": "lots"}, "must be a number"),
        ({**TOKEN, "requests_per_10_seconds": 1.5}, "whole number"),
        ({**TOKEN, "max_concurrency": 0}, "max_concurrency"),
        ({**TOKEN, "max_concurrency": True}, "max_concurrency"),
        ({"access_token": 123}, "must be a string"),
    ],
    ids=[
        "no-auth",
        "blank-token",
        "token-and-oauth",
        "token-and-client-id",
        "partial-oauth",
        "ftp-scheme",
        "http-public-host",
        "http-private-ip",
        "no-host",
        "bad-port",
        "query-string",
        "userinfo",
        "not-a-string",
        "unknown-version",
        "unknown-dated-version",
        "zero-timeout",
        "non-numeric-budget",
        "fractional-budget",
        "zero-concurrency",
        "bool-concurrency",
        "non-string-token",
    ],
)
def test_bad_config_gives_one_clear_line(config, fragment):
    with pytest.raises(ConfigError) as info:
        HubSpotSettings.from_config(config)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.5.6.7",
        "http://localhost:9000/",
        "http://[::1]:8000",
        "https://api.example.com/proxy/hubspot",
    ],
    ids=["ipv4-loopback", "loopback-range", "localhost", "ipv6-loopback", "https-with-prefix"],
)
def test_allowed_urls(url):
    settings = HubSpotSettings.from_config({**TOKEN, "api_url": url})
    assert settings.api_url == url.rstrip("/")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("LOCALHOST", True),
        ("128.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
    ids=["v4", "v6", "name-any-case", "outside-range", "public-name", "lookalike"],
)
def test_loopback_detection(host, expected):
    assert is_loopback_host(host) is expected


def test_numbers_given_as_strings_are_read():
    settings = HubSpotSettings.from_config(
        {**TOKEN, "requests_per_10_seconds": "30", "request_timeout": "2.5"}
    )
    assert settings.requests_per_10_seconds == 30
    assert settings.request_timeout == 2.5


def test_repr_hides_secrets():
    settings = HubSpotSettings.from_config({**OAUTH})
    text = repr(settings)
    assert "csecret" not in text
    assert "rtoken" not in text
    assert "cid" in text


def test_schema_marks_secrets_and_merges_extra_settings():
    schema = settings_schema(th.Property("start_date", th.DateTimeType))
    props = schema["properties"]
    assert {"api_url", "access_token", "api_version", "start_date"} <= props.keys()
    for name in ("access_token", "client_secret", "refresh_token"):
        assert props[name].get("secret") is True
    assert not props["client_id"].get("secret")
    assert props["api_url"]["default"] == DEFAULT_API_URL
    assert len(list(COMMON_SETTINGS)) == 13


# -- reading config files -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("{not json", "is not valid JSON: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "holds a JSON array, not a JSON object of settings"),
        ('"pat-abc"', "holds a string alone"),
        ("null", "holds null alone"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
    ],
    ids=["missing", "empty", "not-json", "array", "string", "null", "not-utf8"],
)
def test_config_file_problems_name_the_file(tmp_path, content, fragment):
    path = tmp_path / "config.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path))
    assert str(caught.value).startswith(f"config file {path} ")
    assert fragment in str(caught.value)


def test_a_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        read_config_file(str(tmp_path))


def test_a_config_file_with_an_object_is_read(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TOKEN))
    assert read_config_file(str(path)) == TOKEN


def test_json_errors_never_quote_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"access_token": "pat-very-secret" oops}')
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path))
    assert "pat-very-secret" not in str(caught.value)


# -- setting types, secrets hidden --------------------------------------------------------------
SCHEMA = settings_schema(th.Property("names", th.ArrayType(th.StringType)))
CANARY = "canary-7f3a9c-secret"


@pytest.mark.parametrize("name", SECRET_SETTINGS)
@pytest.mark.parametrize(
    ("value", "kind"),
    [([CANARY], "a list"), (12345678, "a whole number"), ({"v": CANARY}, "an object")],
    ids=["list", "number", "object"],
)
def test_a_secret_of_the_wrong_type_is_named_but_never_shown(name, value, kind):
    problems = settings_problems({name: value}, SCHEMA)
    assert problems == [f"{name} must be a string, got {kind} (not shown: {name} is secret)"]
    with pytest.raises(ConfigError) as caught:
        check_settings({name: value}, SCHEMA)
    assert CANARY not in str(caught.value)
    assert "12345678" not in str(caught.value)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"max_concurrency": "eight"}, 'max_concurrency must be a whole number, got "eight"'),
        ({"request_timeout": [1]}, "request_timeout must be a number, got [1]"),
        ({"api_version": "v9"}, 'api_version must be one of v3, 2026-03, 2026-09, got "v9"'),
        ({"names": ["a", 2]}, "names[1] must be a string, got 2"),
        ({"names": "a"}, 'names must be a list, got "a"'),
    ],
    ids=["integer", "number", "enum", "array-item", "array"],
)
def test_settings_of_the_wrong_type_are_named_with_what_they_expect(config, expected):
    assert settings_problems(config, SCHEMA) == [expected]


def test_several_problems_make_one_line():
    with pytest.raises(ConfigError) as caught:
        check_settings({"max_concurrency": "eight", "request_timeout": [1]}, SCHEMA)
    message = str(caught.value)
    assert message.startswith("2 invalid settings: ")
    assert "max_concurrency" in message
    assert "request_timeout" in message
    assert "\n" not in message


def test_valid_settings_have_no_problems():
    assert settings_problems({**TOKEN, "max_concurrency": 4, "names": ["a"]}, SCHEMA) == []


def test_secret_names_come_from_the_schema_and_the_common_list():
    schema = settings_schema(th.Property("webhook_key", th.StringType, secret=True))
    assert secret_setting_names(schema) == {*SECRET_SETTINGS, "webhook_key"}


# -- unknown settings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("acess_token", "access_token"),
        ("max_concurency", "max_concurrency"),
        ("client_secert", "client_secret"),
        ("zzz", None),
    ],
)
def test_unknown_settings_suggest_the_closest_known_name(name, suggestion):
    (note,) = unknown_settings({name: CANARY, **TOKEN}, SCHEMA, source="meltano.json")
    assert note.startswith(f"unknown setting {name!r} in meltano.json is ignored")
    if suggestion:
        assert note.endswith(f"; did you mean {suggestion!r}?")
    else:
        assert "did you mean" not in note
    assert CANARY not in note


@pytest.mark.parametrize(
    ("argv", "paths"),
    [
        (["--config", "a.json"], ["a.json"]),
        (["--config=a.json", "--config", "ENV"], ["a.json", "ENV"]),
        (["--discover", "--config", "a.json", "--config", "b.json"], ["a.json", "b.json"]),
        (["--about"], []),
        (["--", "--config", "a.json"], []),
    ],
    ids=["one", "equals-and-env", "several", "none", "after-double-dash"],
)
def test_config_paths_are_read_from_the_command_line(argv, paths):
    assert config_paths(argv) == paths
