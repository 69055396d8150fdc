"""The account the emulator stands for, as HubSpot's account information API describes it.

`GET /account-info/v3/details` (dated: `/account-info/2026-03/details`) tells a token's holder
which portal it reaches, its time zone and currencies
(https://developers.hubspot.com/docs/api-reference/latest/account/account-information/guide).
"""

from __future__ import annotations

from typing import Any

# The emulated portal keeps its clock in UTC and its money in US dollars, hosted in HubSpot's
# North American data centre, signed in to on HubSpot's usual domain.
TIME_ZONE = "UTC"
CURRENCY = "USD"
DATA_HOSTING_LOCATION = "na1"
UI_DOMAIN = "app.hubspot.com"


def account_details(portal_id: int) -> dict[str, Any]:
    """Render the account details of the portal with this id."""
    return {
        "portalId": portal_id,
        "accountType": "STANDARD",
        "timeZone": TIME_ZONE,
        "companyCurrency": CURRENCY,
        "additionalCurrencies": [],
        "utcOffset": "+00:00",
        "utcOffsetMilliseconds": 0,
        "uiDomain": UI_DOMAIN,
        "dataHostingLocation": DATA_HOSTING_LOCATION,
    }
