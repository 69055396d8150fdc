"""Singer tap for HubSpot CRM tickets."""
