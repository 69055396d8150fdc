"""A local, stateful stand-in for HubSpot's CRM ticket APIs.

It speaks HubSpot's legacy (`/crm/v3`, `/crm/v4`, `/oauth/v1`) and date-versioned
(`/crm/objects/2026-03`, ...) paths over real HTTP on loopback, so connectors and tests can run
offline against behaviour that follows HubSpot's public documentation. It imports nothing from
the connectors.
"""
