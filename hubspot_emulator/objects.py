"""HubSpot's standard object types: the names a path may use, and the others' property lists.

HubSpot resolves an object type in a path from its name or its objectTypeId ("0-5" is tickets;
https://developers.hubspot.com/docs/guides/crm/using-object-apis), and in practice from the
singular name too (`/crm/v3/objects/ticket`, which Airbyte's source-hubspot sends in
production). The emulator keeps records for tickets only; for the other standard types it
serves the metadata connectors read at start-up: a small, realistic set of HubSpot-defined
properties per type, in the same property shape as tickets'.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspot_emulator.properties import PropertyDef, options


@dataclass(frozen=True)
class ObjectType:
    """One standard object type and the names a request path may give it."""

    name: str  # the plural name HubSpot's docs use, e.g. "tickets"
    singular: str
    type_id: str  # HubSpot's objectTypeId, e.g. "0-5"
    group: str  # the group its standard properties belong to

    @property
    def aliases(self) -> tuple[str, ...]:
        """Return every name a path may use for this type, the canonical one first."""
        return tuple(dict.fromkeys((self.name, self.singular, self.type_id)))


TICKET_TYPE = ObjectType("tickets", "ticket", "0-5", "ticketinformation")

# (name, label, type, fieldType, read-only value) per type, beside the ones every type has.
_Spec = tuple[str, str, str, str, bool]
_OTHER_TYPES: tuple[tuple[ObjectType, tuple[_Spec, ...]], ...] = (
    (
        ObjectType("contacts", "contact", "0-1", "contactinformation"),
        (
            ("email", "Email", "string", "text", False),
            ("firstname", "First Name", "string", "text", False),
            ("lastname", "Last Name", "string", "text", False),
            ("phone", "Phone Number", "string", "phonenumber", False),
            ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", False),
            ("lastmodifieddate", "Last Modified Date", "datetime", "date", True),
        ),
    ),
    (
        ObjectType("companies", "company", "0-2", "companyinformation"),
        (
            ("name", "Company name", "string", "text", False),
            ("domain", "Company Domain Name", "string", "text", False),
            ("industry", "Industry", "enumeration", "select", False),
            ("numberofemployees", "Number of Employees", "number", "number", False),
        ),
    ),
    (
        ObjectType("deals", "deal", "0-3", "dealinformation"),
        (
            ("dealname", "Deal Name", "string", "text", False),
            ("amount", "Amount", "number", "number", False),
            ("pipeline", "Pipeline", "enumeration", "select", False),
            ("dealstage", "Deal Stage", "enumeration", "radio", False),
            ("closedate", "Close Date", "datetime", "date", False),
        ),
    ),
    (
        ObjectType("leads", "lead", "0-136", "lead_information"),
        (
            ("hs_lead_name", "Lead name", "string", "text", False),
            ("hs_pipeline", "Lead pipeline", "enumeration", "select", False),
            ("hs_pipeline_stage", "Lead stage", "enumeration", "select", False),
            ("hs_lead_type", "Lead type", "enumeration", "select", False),
        ),
    ),
    (
        ObjectType("products", "product", "0-7", "productinformation"),
        (
            ("name", "Name", "string", "text", False),
            ("price", "Unit price", "number", "number", False),
            ("hs_sku", "SKU", "string", "text", False),
        ),
    ),
    (
        ObjectType("line_items", "line_item", "0-8", "lineiteminformation"),
        (
            ("name", "Name", "string", "text", False),
            ("quantity", "Quantity", "number", "number", False),
            ("price", "Unit price", "number", "number", False),
            ("hs_product_id", "Product ID", "number", "number", False),
        ),
    ),
    (
        ObjectType("calls", "call", "0-48", "call"),
        (
            ("hs_timestamp", "Activity date", "datetime", "date", False),
            ("hs_call_title", "Call Title", "string", "text", False),
            ("hs_call_body", "Call notes", "string", "html", False),
            ("hs_call_direction", "Call direction", "enumeration", "select", False),
            ("hs_call_duration", "Call duration", "number", "number", False),
        ),
    ),
    (
        ObjectType("emails", "email", "0-49", "email"),
        (
            ("hs_timestamp", "Activity date", "datetime", "date", False),
            ("hs_email_subject", "Email subject", "string", "text", False),
            ("hs_email_text", "Email body", "string", "textarea", False),
            ("hs_email_direction", "Email direction", "enumeration", "select", False),
        ),
    ),
    (
        ObjectType("meetings", "meeting", "0-47", "meeting"),
        (
            ("hs_timestamp", "Activity date", "datetime", "date", False),
            ("hs_meeting_title", "Meeting name", "string", "text", False),
            ("hs_meeting_body", "Meeting description", "string", "html", False),
            ("hs_meeting_start_time", "Start Time", "datetime", "date", False),
            ("hs_meeting_end_time", "End Time", "datetime", "date", False),
        ),
    ),
    (
        ObjectType("notes", "note", "0-46", "note"),
        (
            ("hs_timestamp", "Activity date", "datetime", "date", False),
            ("hs_note_body", "Note body", "string", "html", False),
        ),
    ),
    (
        ObjectType("tasks", "task", "0-27", "task"),
        (
            ("hs_timestamp", "Due date", "datetime", "date", False),
            ("hs_task_subject", "Task Title", "string", "text", False),
            ("hs_task_body", "Notes", "string", "html", False),
            ("hs_task_status", "Task Status", "enumeration", "select", False),
            ("hs_task_priority", "Priority", "enumeration", "select", False),
        ),
    ),
    (
        ObjectType("communications", "communication", "0-18", "communication"),
        (
            ("hs_timestamp", "Activity date", "datetime", "date", False),
            ("hs_communication_channel_type", "Channel type", "enumeration", "select", False),
            ("hs_communication_body", "Communication body", "string", "html", False),
        ),
    ),
    (
        ObjectType("postal_mail", "postal_mail", "0-116", "postal_mail"),
        (
            ("hs_timestamp", "Activity date", "datetime", "date", False),
            ("hs_postal_mail_body", "Postal mail body", "string", "html", False),
        ),
    ),
    (
        ObjectType("goal_targets", "goal_target", "0-74", "goal_target_information"),
        (
            ("hs_goal_name", "Goal name", "string", "text", False),
            ("hs_target_amount", "Target", "number", "number", False),
            ("hs_start_datetime", "Start date", "datetime", "date", False),
            ("hs_end_datetime", "End date", "datetime", "date", False),
        ),
    ),
)
OTHER_TYPES: tuple[ObjectType, ...] = tuple(kind for kind, _ in _OTHER_TYPES)
STANDARD_TYPES: tuple[ObjectType, ...] = (TICKET_TYPE, *OTHER_TYPES)

# Every type has these; activities name their create date `hs_createdate`, records `createdate`.
_ACTIVITY_GROUPS = frozenset(
    {"call", "email", "meeting", "note", "task", "communication", "postal_mail"}
)


def _common(kind: ObjectType) -> tuple[_Spec, ...]:
    created = "hs_createdate" if kind.group in _ACTIVITY_GROUPS else "createdate"
    return (
        ("hs_object_id", "Record ID", "number", "number", True),
        (created, "Create Date", "datetime", "date", True),
        ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", True),
    )


def other_type_properties(created_ms: int) -> dict[str, list[PropertyDef]]:
    """Return the standard properties of each non-ticket type, by the type's canonical name."""
    out: dict[str, list[PropertyDef]] = {}
    for kind, specs in _OTHER_TYPES:
        defs: list[PropertyDef] = []
        for order, (name, label, type_, field_type, read_only) in enumerate(_common(kind) + specs):
            defn = PropertyDef(
                name,
                label,
                type_,
                field_type,
                group_name=kind.group,
                display_order=order,
                read_only_value=read_only,
                created_ms=created_ms,
                updated_ms=created_ms,
            )
            if type_ == "enumeration":
                # Each portal defines its own choices; one keeps the shape realistic.
                defn.options = options([("OTHER", "Other")])
            defs.append(defn)
        out[kind.name] = defs
    return out


def canonical_name(alias: str) -> str | None:
    """Return the canonical name of the type a path names, or None when it is unknown."""
    for kind in STANDARD_TYPES:
        if alias in kind.aliases:
            return kind.name
    return None


def singular_name(name: str) -> str:
    """Return the singular of a type's canonical name ("companies" -> "company")."""
    return next(kind.singular for kind in STANDARD_TYPES if kind.name == name)
