"""Singer target that writes tickets back into HubSpot."""
