"""Settings validation: one clear ConfigError line for every bad config."""

from __future__ import annotations

import pytest
from singer_sdk import typing as th

from hubspot_api.config import (
    COMMON_SETTINGS,
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    HubSpotSettings,
    is_loopback_host,
    settings_schema,
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
    assert len(list(COMMON_SETTINGS)) == 10
