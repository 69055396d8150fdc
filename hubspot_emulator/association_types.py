"""The association types from tickets this portal knows: HubSpot's defaults plus its labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
USER_DEFINED = "USER_DEFINED"


@dataclass(frozen=True)
class AssociationType:
    """One association type from tickets to another object type (and its reverse id)."""

    to_type: str
    type_id: int
    category: str
    label: str | None
    name: str  # the `type` string of v3 inline associations
    reverse_id: int

    def to_json(self) -> JSON:
        """Render HubSpot's v4 association type shape."""
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


def _catalog() -> list[AssociationType]:
    """List the portal's association types from tickets: HubSpot's defaults plus labels."""
    hubspot = [
        ("contacts", 16, None, "ticket_to_contact", 15),
        ("companies", 339, None, "ticket_to_company_unlabeled", 340),
        ("companies", 26, "Primary", "ticket_to_company", 25),
        ("deals", 28, None, "ticket_to_deal", 27),
        ("tickets", 452, None, "ticket_to_ticket", 452),
        ("calls", 219, None, "ticket_to_call", 220),
        ("emails", 223, None, "ticket_to_email", 224),
        ("meetings", 225, None, "ticket_to_meeting", 226),
        ("notes", 227, None, "ticket_to_note", 228),
        ("tasks", 229, None, "ticket_to_task", 230),
    ]
    # Labels an admin made in this portal; HubSpot gives inline associations their type id.
    user = [
        ("contacts", 87, "Reporter", 88),
        ("companies", 89, "Billing account", 90),
        ("deals", 91, "Renewal opportunity", 92),
    ]
    return [
        AssociationType(to_type, type_id, HUBSPOT_DEFINED, label, name, reverse)
        for to_type, type_id, label, name, reverse in hubspot
    ] + [
        AssociationType(to_type, type_id, USER_DEFINED, label, str(type_id), reverse)
        for to_type, type_id, label, reverse in user
    ]


ASSOCIATION_TYPES = _catalog()
TYPES_BY_ID = {kind.type_id: kind for kind in ASSOCIATION_TYPES}
TYPES_BY_NAME = {kind.name: kind for kind in ASSOCIATION_TYPES}
# The unlabeled type of each pair: present whenever any label of the pair is.
DEFAULT_TYPE = {
    kind.to_type: kind.type_id
    for kind in ASSOCIATION_TYPES
    if kind.label is None and kind.category == HUBSPOT_DEFINED
}
PRIMARY_COMPANY_TYPE = 26


def default_first(type_id: int) -> tuple[bool, int]:
    """Order association types as HubSpot lists them: the unlabeled default first."""
    kind = TYPES_BY_ID[type_id]
    return (kind.label is not None, type_id)
