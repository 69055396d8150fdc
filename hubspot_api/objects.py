"""HubSpot's standard CRM object types, and the one spelling of each that this project uses.

HubSpot's association and object paths accept an object type by its plural name (`contacts`),
its singular (`contact`) or its type id (`0-1`; HubSpot's CRM guide lists the ids). Rows that
name an object type must spell it one way, or one warehouse table holds `contact` and
`contacts` side by side: `object_type_name` turns any accepted spelling of a standard type
into its plural. Custom object types (`2-1234567`, `p1234567_cars`) are left as given.
"""

from __future__ import annotations

# Plural name -> type id, for HubSpot's standard objects a ticket can be associated with.
STANDARD_OBJECT_TYPES: dict[str, str] = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "tickets": "0-5",
    "products": "0-7",
    "line_items": "0-8",
    "quotes": "0-14",
    "communications": "0-18",
    "feedback_submissions": "0-19",
    "tasks": "0-27",
    "notes": "0-46",
    "meetings": "0-47",
    "calls": "0-48",
    "emails": "0-49",
    "postal_mail": "0-116",
}

# The HUBSPOT_DEFINED association type id of an unlabeled ticket -> X link (docs/hubspot-api.md).
TICKET_DEFAULT_ASSOCIATION_TYPE_IDS: dict[str, int] = {
    "contacts": 16,
    "companies": 339,
    "deals": 28,
    "tickets": 452,
    "calls": 219,
    "emails": 223,
    "meetings": 225,
    "notes": 227,
    "tasks": 229,
}

_SINGULARS = {"companies": "company", "postal_mail": "postal_mail"}


def _singular(plural: str) -> str:
    return _SINGULARS.get(plural, plural[:-1])


_SPELLINGS: dict[str, str] = {
    **{plural: plural for plural in STANDARD_OBJECT_TYPES},
    **{_singular(plural): plural for plural in STANDARD_OBJECT_TYPES},
    **{type_id: plural for plural, type_id in STANDARD_OBJECT_TYPES.items()},
}


def object_type_name(name: str) -> str:
    """Return the plural of a standard object type given in any spelling; others unchanged.

    Case and surrounding blanks do not matter for standard types (`Contact `, `CONTACTS`).
    """
    text = name.strip()
    return _SPELLINGS.get(text.lower(), text)


def is_standard_object_type(name: str) -> bool:
    """Tell whether `name` spells one of HubSpot's standard object types."""
    return name.strip().lower() in _SPELLINGS


def known_object_type_names() -> list[str]:
    """Return the plural names of the standard object types (for "did you mean" hints)."""
    return list(STANDARD_OBJECT_TYPES)
