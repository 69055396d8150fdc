"""The one HubSpot layer both connectors use: config, auth, HTTP, rate limits, retries, paging."""
