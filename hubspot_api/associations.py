"""Reading associations in bulk: the v4 batch read, 1,000 records a request, paged per record.

`POST /crm/v4/associations/{from}/{to}/batch/read` (dated:
`/crm/associations/{v}/{from}/{to}/batch/read`) takes at most 1,000 inputs
(https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api).
A record with more links than one answer holds carries `paging.next.after` inside its own result;
its next page comes from sending its id again with that cursor, `{inputs: [{id, after}]}`
(https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/batch/get-associations).
HubSpot does not document how many links one result holds; 500 is the per-record GET's page.
Records without any link come back among a 207's `errors` (OBJECT_NOT_FOUND, subcategory
NO_ASSOCIATIONS_FOUND), not as an empty list. Only that error means "no links": any other error
of a batch read, or an answer that leaves an input id out of both its results and its errors,
says nothing about that record's links, and reading it as "none" would delete them downstream;
it is an unknown outcome (`_check_accounted`). See docs/endpoints.md.

`read_associations` is the one reader of these answers; the tap's associations stream and the
target's association replacement both call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubspot_api.errors import HubSpotError, UnusableAnswerError, shorten
from hubspot_api.paging import PagingLoopError, chunked, next_after
from hubspot_api.paths import TICKETS, Call

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient

ASSOCIATION_BATCH_LIMIT = 1_000
# Who defined an association type: HubSpot (the unlabeled default links), a user (labels), or an
# app. A link is written as a list of `{associationCategory, associationTypeId}`
# (docs/endpoints.md).
HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
ASSOCIATION_CATEGORIES = (HUBSPOT_DEFINED, "USER_DEFINED", "INTEGRATOR_DEFINED")


def association_types_json(category: str, type_id: int) -> list[dict[str, Any]]:
    """Render the `types` list of one link in a create or associate body."""
    return [{"associationCategory": category, "associationTypeId": type_id}]


@dataclass(frozen=True)
class AssociationLink:
    """One association type between a record and another, as the v4 API lists it."""

    from_id: str
    to_type: str
    to_id: str
    type_id: int
    category: str | None
    label: str | None


def read_associations(
    client: HubSpotClient,
    to_type: str,
    ids: Iterable[str],
    *,
    from_type: str = TICKETS,
) -> list[AssociationLink]:
    """Return every link of the records `ids` (of `from_type`) to records of `to_type`.

    Ids go out in requests of at most 1,000; a record whose links span several pages is read
    to its last page. Links of one record come together, records in the order of `ids`
    (repeated ids are read once). Raises `PagingLoopError` if a record's cursor repeats and
    `HubSpotError` for an answer that is not the documented shape.
    """
    wanted = list(dict.fromkeys(str(key) for key in ids))
    links: list[AssociationLink] = []
    for chunk in chunked(wanted, ASSOCIATION_BATCH_LIMIT):
        found: dict[str, list[AssociationLink]] = {key: [] for key in chunk}
        seen: dict[str, set[str]] = {key: set() for key in chunk}
        inputs: list[dict[str, str]] = [{"id": key} for key in chunk]
        while inputs:
            answer = client.post_json(
                Call.BATCH_READ_ASSOCIATIONS,
                {"inputs": inputs},
                from_type=from_type,
                to_type=to_type,
            )
            _check_accounted([item["id"] for item in inputs], answer, to_type)
            inputs = []
            for result in _results(answer):
                from_id, page = _parse_result(result, to_type)
                found.setdefault(from_id, []).extend(page)
                after = next_after(result)
                if after is None:
                    continue
                cursors = seen.setdefault(from_id, set())
                if after in cursors:
                    raise PagingLoopError(
                        f"associations of {from_id} to {to_type} repeated the cursor {after!r}"
                    )
                cursors.add(after)
                inputs.append({"id": from_id, "after": after})
        for page in found.values():
            links.extend(page)
    return links


NO_LINKS_CATEGORY = "OBJECT_NOT_FOUND"


def _check_accounted(sent: list[str], answer: Mapping[str, Any], to_type: str) -> None:
    """Raise `UnusableAnswerError` unless the answer says, of every id sent, its links or none.

    An error other than OBJECT_NOT_FOUND (no links, or no such record) leaves its records'
    links unknown. Ids an error's `context` lists are accounted for; when no error lists any,
    ids left out of the results are taken as named by the errors, if there are errors at all.
    """
    errors = [e for e in answer.get("errors") or [] if isinstance(e, Mapping)]
    for error in errors:
        if error.get("category") != NO_LINKS_CATEGORY:
            raise UnusableAnswerError(
                f"association batch read to {to_type}: an error other than 'no links' leaves "
                f"links unknown: {_cut(error)}"
            )
    listed = {str(v) for e in errors for values in _context_lists(e) for v in values}
    answered = {
        str(result["from"]["id"])
        for result in _results(answer)
        if isinstance(result.get("from"), Mapping) and "id" in result["from"]
    }
    missing = [key for key in sent if key not in answered and key not in listed]
    if missing and (listed or not errors):
        raise UnusableAnswerError(
            f"association batch read to {to_type}: the answer says nothing of {len(missing)} of "
            f"{len(sent)} ids sent (first {missing[0]}), neither links nor 'no links'"
        )


def _context_lists(error: Mapping[str, Any]) -> list[list[Any]]:
    context = error.get("context")
    if not isinstance(context, Mapping):
        return []
    return [value for value in context.values() if isinstance(value, list)]


def _results(answer: Any) -> list[Mapping[str, Any]]:
    """Return the `results` of a batch-read answer, a list of objects (checked by the client)."""
    results: list[Mapping[str, Any]] = answer["results"]
    return results


def _parse_result(result: Mapping[str, Any], to_type: str) -> tuple[str, list[AssociationLink]]:
    """Turn one result `{from: {id}, to: [{toObjectId, associationTypes}]}` into links."""
    source = result.get("from")
    from_id = source.get("id") if isinstance(source, Mapping) else None
    targets = result.get("to")
    if from_id is None or not isinstance(targets, list):
        raise HubSpotError(f"association batch read result without from and to: {_cut(result)}")
    links: list[AssociationLink] = []
    for target in targets:
        to_id = target.get("toObjectId") if isinstance(target, Mapping) else None
        kinds = target.get("associationTypes") if isinstance(target, Mapping) else None
        if to_id is None or not isinstance(kinds, list) or not kinds:
            raise HubSpotError(f"association without an object id or types: {_cut(target)}")
        for kind in kinds:
            links.append(_link(str(from_id), to_type, str(to_id), kind))
    return str(from_id), links


def _link(from_id: str, to_type: str, to_id: str, kind: Any) -> AssociationLink:
    type_id = kind.get("typeId") if isinstance(kind, Mapping) else None
    if isinstance(type_id, bool) or not isinstance(type_id, int | str):
        raise HubSpotError(f"association type without a type id: {_cut(kind)}")
    try:
        number = int(type_id)
    except ValueError:
        raise HubSpotError(f"association type id {_cut(type_id)} is not a number") from None
    category, label = kind.get("category"), kind.get("label")
    return AssociationLink(
        from_id=from_id,
        to_type=to_type,
        to_id=to_id,
        type_id=number,
        category=category if isinstance(category, str) else None,
        label=label if isinstance(label, str) else None,
    )


def _cut(value: Any) -> str:
    return shorten(repr(value))
