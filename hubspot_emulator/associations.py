"""A portal's associations: tickets linked to other records, read and written as v3 and v4 do.

Links live on the ticket (`Ticket.associations`); links from another record to tickets are
found by reverse lookup. The unlabeled type of a pair is always present when any label of it is.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left
from typing import Any

from hubspot_emulator.association_types import (
    ASSOCIATION_TYPES,
    DEFAULT_TYPE,
    HUBSPOT_DEFINED,
    PRIMARY_COMPANY_TYPE,
    TYPES_BY_ID,
    AssociationType,
    default_first,
)
from hubspot_emulator.errors import not_found, validation_error
from hubspot_emulator.objects import singular_name
from hubspot_emulator.portal_state import (
    JSON,
    OBJECT_TYPE_IDS,
    TICKETS,
    PortalState,
    Ticket,
    batch_inputs,
    resolve_object_type,
)
from hubspot_emulator.properties import ASSOCIATION_COUNTS, iso_from_ms

MAX_ASSOCIATION_BATCH_INPUTS = 1_000
DEFAULT_ASSOCIATION_PAGE = 500
# Links per record in one answer of the v4 association batch read; a record with more carries
# `paging.next.after` in its own result. HubSpot does not document this page size; 500 is the
# page of the per-record association GET.
ASSOCIATION_BATCH_PAGE = 500


class PortalAssociations(PortalState):
    """Link tickets to records and read the links back, one type or page at a time."""

    def _parse_create_associations(self, raw: Any) -> list[tuple[str, int, list[int]]]:
        """Read create's `associations`; 400 for bad types, 404 for records that do not exist."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise validation_error("associations must be a list")
        links: list[tuple[str, int, list[int]]] = []
        for item in raw:
            target = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(target, dict) or not isinstance(types, list) or not types:
                raise validation_error("Each association needs to: {id} and a non-empty types list")
            kinds = [_association_type(spec) for spec in types]
            to_types = {kind.to_type for kind in kinds}
            if len(to_types) != 1:
                raise validation_error("All types of one association must target one object type")
            to_type = to_types.pop()
            object_id = self._existing_object(to_type, str(target.get("id")))
            links.append((to_type, object_id, [kind.type_id for kind in kinds]))
        return links

    def _existing_object(self, to_type: str, object_id: str) -> int:
        try:
            number = int(object_id)
        except ValueError:
            number = -1
        if number not in self._objects.get(to_type, set()):
            raise not_found(
                f"No {to_type[:-1] if to_type != 'companies' else 'company'} with ID "
                f"{object_id} exists",
                sub_category="crm.associations.OBJECT_NOT_FOUND",
                context={"id": [object_id]},
            )
        return number

    def _link(self, ticket: Ticket, to_type: str, object_id: int, type_ids: list[int]) -> None:
        """Add association types between a ticket and a record (always with the default one)."""
        linked = ticket.associations.setdefault(to_type, {})
        types = linked.setdefault(object_id, set())
        types.add(DEFAULT_TYPE[to_type])
        types.update(type_ids)
        if PRIMARY_COMPANY_TYPE in type_ids:
            # A ticket has one primary company: labelling another one moves the label.
            for other_id, other_types in linked.items():
                if other_id != object_id:
                    other_types.discard(PRIMARY_COMPANY_TYPE)
        if to_type == TICKETS:
            other = self._tickets[object_id]
            other.associations.setdefault(TICKETS, {}).setdefault(ticket.id, set()).add(
                DEFAULT_TYPE[TICKETS]
            )
            self._count_associations(other)
        self._count_associations(ticket)

    def _unlink(self, ticket: Ticket, to_type: str, object_id: int, type_id: int | None) -> None:
        linked = ticket.associations.get(to_type)
        if not linked or object_id not in linked:
            return
        if type_id is None or type_id == DEFAULT_TYPE[to_type]:
            # Removing the unlabeled type removes the whole association, labels included.
            del linked[object_id]
            if to_type == TICKETS and object_id in self._tickets:
                other = self._tickets[object_id]
                other.associations.get(TICKETS, {}).pop(ticket.id, None)
                self._count_associations(other)
        else:
            linked[object_id].discard(type_id)
        if not linked:
            del ticket.associations[to_type]
        self._count_associations(ticket)

    def _count_associations(self, ticket: Ticket, *, publish: bool = True) -> None:
        # Association counts follow associations without a write: no history, no new
        # hs_lastmodifieddate (association changes do not bump the ticket in HubSpot).
        changed = False
        for name, kind in ASSOCIATION_COUNTS.items():
            count = len(ticket.associations.get(kind, ()))
            value = str(count) if count else None
            if ticket.values.get(name) == value:
                continue
            changed = True
            if value is None:
                del ticket.values[name]
            else:
                ticket.values[name] = value
        if changed and publish and ticket.archived_ms is None:
            self._publish(ticket)

    def associate(self, ticket_id: str, to_type: str, to_id: str, types: list[JSON]) -> JSON:
        """PUT v4 .../tickets/{id}/associations/{toType}/{toId} with [{category, typeId}]."""
        with self._lock:
            plural = resolve_object_type(to_type)
            ticket = self._find(ticket_id, None, archived=False)
            if not isinstance(types, list):
                raise validation_error("The body must be a list of association types")
            kinds = [_association_type(spec) for spec in types]
            for kind in kinds:
                if kind.to_type != plural:
                    raise validation_error(
                        f"Association type {kind.type_id} links tickets to {kind.to_type}, "
                        f"not {plural}",
                        sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
                    )
            object_id = self._existing_object(plural, to_id)
            if plural == TICKETS and object_id == ticket.id:
                raise validation_error("A ticket cannot be associated with itself")
            self._link(ticket, plural, object_id, [kind.type_id for kind in kinds])
            labels = [
                TYPES_BY_ID[type_id].label
                for type_id in sorted(ticket.associations[plural][object_id], key=default_first)
            ]
            return {
                "fromObjectTypeId": OBJECT_TYPE_IDS[TICKETS],
                "fromObjectId": ticket.id,
                "toObjectTypeId": OBJECT_TYPE_IDS[plural],
                "toObjectId": object_id,
                "labels": [label for label in labels if label is not None],
            }

    def dissociate(self, ticket_id: str, to_type: str, to_id: str, type_id: int | None) -> None:
        """DELETE one association (type_id None = every type between the two records)."""
        with self._lock:
            plural = resolve_object_type(to_type)
            ticket = self._find(ticket_id, None, archived=False)
            try:
                object_id = int(to_id)
            except ValueError:
                return
            self._unlink(ticket, plural, object_id, type_id)

    def associate_default(
        self, from_type: str, from_id: str, to_type: str, to_id: str
    ) -> list[JSON]:
        """PUT .../associations/default/...: link two records with their unlabeled type.

        Either side may be the ticket. Answers one result per direction, each with the type id
        of that direction (ticket to contact 16, contact to ticket 15), as HubSpot does.
        """
        with self._lock:
            source, target = resolve_object_type(from_type), resolve_object_type(to_type)
            if source == TICKETS:
                linked = self.associate(from_id, target, to_id, [])
                kind = TYPES_BY_ID[DEFAULT_TYPE[target]]
                forward, backward = kind.type_id, kind.reverse_id
                from_key, to_key = linked["fromObjectId"], linked["toObjectId"]
            elif target == TICKETS:
                linked = self.associate(to_id, source, from_id, [])
                kind = TYPES_BY_ID[DEFAULT_TYPE[source]]
                forward, backward = kind.reverse_id, kind.type_id
                from_key, to_key = linked["toObjectId"], linked["fromObjectId"]
            else:
                raise validation_error(
                    f"This portal only knows associations with tickets, not {source} to {target}"
                )
            return [
                _default_association(from_key, to_key, forward),
                _default_association(to_key, from_key, backward),
            ]

    def _association_results(self, ticket: Ticket, to_type: str) -> list[JSON]:
        linked = ticket.associations.get(to_type, {})
        return [
            {
                "toObjectId": object_id,
                "associationTypes": [
                    TYPES_BY_ID[type_id].to_json()
                    for type_id in sorted(linked[object_id], key=default_first)
                ],
            }
            for object_id in sorted(linked)
        ]

    def list_ticket_associations(
        self, ticket_id: str, to_type: str, *, limit: int, after: str | None
    ) -> JSON:
        """GET v4 /crm/v4/objects/tickets/{id}/associations/{toType} -> {results, paging?}."""
        with self._lock:
            plural = resolve_object_type(to_type)
            ticket = self._find(ticket_id, None, archived=False)
            results = self._association_results(ticket, plural)
            try:
                offset = int(after) if after else 0
            except ValueError:
                raise validation_error(f"after {after!r} is not a valid paging cursor") from None
            limit = limit or DEFAULT_ASSOCIATION_PAGE
            out: JSON = {"results": results[offset : offset + limit]}
            if offset + limit < len(results):
                cursor = str(offset + limit)
                out["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
            return out

    def association_labels(self, from_type: str, to_type: str) -> JSON:
        """GET /crm/v4/associations/{from}/{to}/labels -> {results}."""
        source, target = resolve_object_type(from_type), resolve_object_type(to_type)
        if source == TICKETS:
            kinds = [kind.to_json() for kind in ASSOCIATION_TYPES if kind.to_type == target]
        elif target == TICKETS:
            kinds = [
                {"category": kind.category, "typeId": kind.reverse_id, "label": kind.label}
                for kind in ASSOCIATION_TYPES
                if kind.to_type == source
            ]
        else:
            raise validation_error(
                f"This portal only knows associations with tickets, not {source} to {target}"
            )
        return {"results": kinds}

    def batch_read_associations(self, from_type: str, to_type: str, body: JSON) -> tuple[int, JSON]:
        """POST /crm/v4/associations/{from}/{to}/batch/read -> (200 or 207, body)."""
        with self._lock:
            started = iso_from_ms(self._clock())
            source, target = resolve_object_type(from_type), resolve_object_type(to_type)
            if TICKETS not in (source, target):
                raise validation_error(
                    f"This portal only knows associations with tickets, not {source} to {target}"
                )
            inputs = batch_inputs(body, MAX_ASSOCIATION_BATCH_INPUTS)
            results: list[JSON] = []
            errors: list[JSON] = []
            reverse = self._reverse_associations(source) if source != TICKETS else {}
            for item in inputs:
                key = str(item.get("id"))
                start = _association_cursor_start(item.get("after"), target)
                found = self._associations_of(source, target, key, reverse)
                if start is not None:
                    ids = [link["toObjectId"] for link in found]
                    found = found[bisect_left(ids, start) :]
                if found:
                    result: JSON = {"from": {"id": key}, "to": found[:ASSOCIATION_BATCH_PAGE]}
                    if len(found) > ASSOCIATION_BATCH_PAGE:
                        following = found[ASSOCIATION_BATCH_PAGE]["toObjectId"]
                        cursor = _association_cursor(target, following)
                        result["paging"] = {"next": {"after": cursor}}
                    results.append(result)
                else:
                    # HubSpot reports each id without associations as an error, not as [];
                    # the message and context name both object types in the singular.
                    errors.append(_no_associations(source, target, key))
            return self._batch_answer(200, results, errors, started)

    def _reverse_associations(self, source: str) -> dict[int, list[tuple[int, set[int]]]]:
        """Index which tickets each record of `source` is associated with (for X -> tickets)."""
        reverse: dict[int, list[tuple[int, set[int]]]] = {}
        for ticket_id in self._active:
            for object_id, type_ids in (
                self._tickets[ticket_id].associations.get(source, {}).items()
            ):
                reverse.setdefault(object_id, []).append((ticket_id, type_ids))
        return reverse

    def _associations_of(
        self,
        source: str,
        target: str,
        key: str,
        reverse: dict[int, list[tuple[int, set[int]]]],
    ) -> list[JSON]:
        try:
            number = int(key)
        except ValueError:
            return []
        if source == TICKETS:
            ticket = self._tickets.get(number)
            if ticket is None or ticket.archived_ms is not None:
                return []
            return self._association_results(ticket, target)
        return [
            {
                "toObjectId": ticket_id,
                "associationTypes": [
                    {
                        "category": TYPES_BY_ID[type_id].category,
                        "typeId": TYPES_BY_ID[type_id].reverse_id,
                        "label": TYPES_BY_ID[type_id].label,
                    }
                    for type_id in sorted(type_ids, key=default_first)
                ],
            }
            for ticket_id, type_ids in reverse.get(number, [])
        ]


def _no_associations(source: str, target: str, key: str) -> JSON:
    """Render the batch-read error for a record without associations of the target type."""
    return not_found(
        f"No {singular_name(target)} is associated with {singular_name(source)} {key}.",
        sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
        context={
            "fromObjectId": [key],
            "fromObjectType": [singular_name(source)],
            "toObjectType": [singular_name(target)],
        },
    ).entry()


def _default_association(from_id: int, to_id: int, type_id: int) -> JSON:
    """Render one result of a default association: the pair and the type that links them."""
    return {
        "from": {"id": str(from_id)},
        "to": {"id": str(to_id)},
        "associationSpec": {"associationCategory": HUBSPOT_DEFINED, "associationTypeId": type_id},
    }


def _association_cursor(to_type: str, object_id: int) -> str:
    """Return the opaque `after` of a batch-read result: where its next page starts.

    HubSpot's cursors are base64 of the target's objectTypeId and an object id ("0-2-1597..."
    in its changelog's example); this one names the first record of the next page, so links
    added or removed between two pages neither repeat nor skip the others.
    """
    text = f"{OBJECT_TYPE_IDS[to_type]}-{object_id}"
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii")


def _association_cursor_start(after: Any, to_type: str) -> int | None:
    """Decode an input's `after` into the first object id of its page (None: from the start)."""
    if after is None or after == "":
        return None
    prefix = f"{OBJECT_TYPE_IDS[to_type]}-"
    try:
        text = base64.urlsafe_b64decode(str(after).encode("ascii")).decode("ascii")
        if not text.startswith(prefix):
            raise ValueError(text)
        return int(text.removeprefix(prefix))
    except (ValueError, UnicodeError, binascii.Error):
        raise validation_error(
            f"after {str(after)[:100]!r} is not a paging cursor of these associations",
            context={"after": [str(after)[:100]]},
        ) from None


def _association_type(spec: Any) -> AssociationType:
    if not isinstance(spec, dict):
        raise validation_error("Each association type must be {associationCategory, typeId}")
    type_id = spec.get("associationTypeId", spec.get("typeId"))
    category = spec.get("associationCategory", spec.get("category"))
    try:
        kind = TYPES_BY_ID[int(str(type_id))]
    except (KeyError, TypeError, ValueError):
        raise validation_error(
            f"{type_id!r} is not a valid association type id from tickets",
            sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
        ) from None
    if category is not None and category != kind.category:
        raise validation_error(
            f"Association type {kind.type_id} has category {kind.category}, not {category}",
            sub_category="crm.associations.INVALID_ASSOCIATION_TYPE",
        )
    return kind
