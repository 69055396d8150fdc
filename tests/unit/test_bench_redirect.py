"""The benchmark redirect rewrites only the configured host, and nothing else."""

from __future__ import annotations

import pytest

from benchmarks.redirect.sitecustomize import rewrite_url
from hubspot_api.config import DEFAULT_API_URL

EMULATOR = "http://127.0.0.1:8765"
PLAIN_HTTP = DEFAULT_API_URL.replace("https://", "http://")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{DEFAULT_API_URL}/crm/v3/objects/tickets?limit=100",
         f"{EMULATOR}/crm/v3/objects/tickets?limit=100"),
        (f"{DEFAULT_API_URL}", EMULATOR),
        (f"{DEFAULT_API_URL}?a=1", f"{EMULATOR}?a=1"),
        (DEFAULT_API_URL.upper() + "/x", f"{EMULATOR}/x"),
        (f"{DEFAULT_API_URL}.example.org/crm", f"{DEFAULT_API_URL}.example.org/crm"),
        (f"{DEFAULT_API_URL}x/crm", f"{DEFAULT_API_URL}x/crm"),
        ("https://example.org/crm/v3/objects/tickets", "https://example.org/crm/v3/objects/tickets"),
        (PLAIN_HTTP + "/crm", PLAIN_HTTP + "/crm"),
    ],
    ids=["path-and-query", "bare-host", "query-only", "case", "longer-host", "host-prefix",
         "other-host", "other-scheme"],
)  # fmt: skip
def test_rewrites_only_the_configured_host(url, expected):
    assert rewrite_url(url, DEFAULT_API_URL, EMULATOR + "/") == expected


@pytest.mark.parametrize(
    ("real", "target"), [("", EMULATOR), (DEFAULT_API_URL, "")], ids=["no-host", "no-target"]
)
def test_unset_variables_change_nothing(real, target):
    url = f"{DEFAULT_API_URL}/crm/v3/objects/tickets"
    assert rewrite_url(url, real, target) == url
