"""The handlers: each reads one routed `Call`, asks the `Portal`, and answers (status, body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from hubspot_emulator.account import account_details
from hubspot_emulator.calls import Call, Result
from hubspot_emulator.errors import JSON, ApiError, batch_answer, validation_error
from hubspot_emulator.faults import misdirect_list_cursor
from hubspot_emulator.objects import TICKET_TYPE, canonical_name

DEFAULT_PAGE_SIZE = 10  # HubSpot's default `limit` on list calls
DEFAULT_ASSOCIATIONS_PAGE_SIZE = 500  # the v4 association list's default page
TICKETS = TICKET_TYPE.name


def list_tickets(call: Call) -> Result:
    limit = call.integer("limit", DEFAULT_PAGE_SIZE)
    after = call.text("after")
    archived = call.flag("archived")
    page = call.portal.list_tickets(
        limit=limit,
        after=after,
        properties=call.words("properties"),
        properties_with_history=call.words("propertiesWithHistory"),
        associations=call.words("associations"),
        archived=archived,
    )
    fault = call.emulator.config.list_cursor_fault
    if fault is not None:
        first = call.portal.list_tickets(
            limit=limit,
            after=None,
            properties=["hs_object_id"],
            properties_with_history=None,
            associations=None,
            archived=archived,
        )
        second = (first.get("paging") or {}).get("next", {}).get("after")
        page = misdirect_list_cursor(page, after, fault, second)
    return 200, call.with_next_link(page)


def read_ticket(call: Call) -> Result:
    return 200, call.portal.get_ticket(
        call.params["ticketId"],
        id_property=call.text("idProperty"),
        properties=call.words("properties"),
        properties_with_history=call.words("propertiesWithHistory"),
        associations=call.words("associations"),
        archived=call.flag("archived"),
    )


def create_ticket(call: Call) -> Result:
    return 201, call.portal.create_ticket(call.json_object(), api_version=call.api_version)


def update_ticket(call: Call) -> Result:
    return 200, call.portal.update_ticket(
        call.params["ticketId"],
        call.json_object(),
        id_property=call.text("idProperty"),
        api_version=call.api_version,
    )


def archive_ticket(call: Call) -> Result:
    call.portal.archive_ticket(call.params["ticketId"])
    return 204, None


def batch_read(call: Call) -> Result:
    return call.portal.batch_read(call.json_object(), archived=call.flag("archived"))


def batch_create(call: Call) -> Result:
    return call.portal.batch_create(call.json_object(), api_version=call.api_version)


def batch_update(call: Call) -> Result:
    return call.portal.batch_update(call.json_object(), api_version=call.api_version)


def batch_upsert(call: Call) -> Result:
    return call.portal.batch_upsert(call.json_object(), api_version=call.api_version)


def batch_archive(call: Call) -> Result:
    call.portal.batch_archive(call.json_object())
    return 204, None


def search(call: Call) -> Result:
    return 200, call.portal.search(call.json_object())


def merge(call: Call) -> Result:
    return 200, call.portal.merge(call.json_object())


def list_properties(call: Call) -> Result:
    return 200, call.portal.list_properties(archived=call.flag("archived"))


def read_property(call: Call) -> Result:
    return 200, call.portal.get_property(call.params["propertyName"])


def update_property(call: Call) -> Result:
    return 200, call.portal.update_property(call.params["propertyName"], call.json_object())


def batch_read_properties(call: Call) -> Result:
    return call.portal.batch_read_properties(call.json_object())


def list_property_groups(call: Call) -> Result:
    return 200, call.portal.list_property_groups()


def read_property_group(call: Call) -> Result:
    return 200, call.portal.get_property_group(call.params["groupName"])


def list_legacy_properties(call: Call) -> Result:
    return 200, call.portal.list_legacy_properties()


def _other_type(call: Call) -> str:
    name = canonical_name(call.params["objectType"])
    assert name is not None, "the route pattern admits known types only"
    return name


def list_other_properties(call: Call) -> Result:
    return 200, call.portal.list_other_properties(_other_type(call), archived=call.flag("archived"))


def read_other_property(call: Call) -> Result:
    return 200, call.portal.get_other_property(_other_type(call), call.params["propertyName"])


def list_schemas(call: Call) -> Result:
    call.flag("archived")  # validated as HubSpot does; a portal without custom objects has none
    return 200, call.portal.list_schemas()


def create_property(call: Call) -> Result:
    return 201, call.portal.create_property(call.json_object())


def list_pipelines(call: Call) -> Result:
    return 200, call.portal.list_pipelines()


def read_pipeline(call: Call) -> Result:
    return 200, call.portal.get_pipeline(call.params["pipelineId"])


def list_stages(call: Call) -> Result:
    return 200, call.portal.list_stages(call.params["pipelineId"])


def read_stage(call: Call) -> Result:
    return 200, call.portal.get_stage(call.params["pipelineId"], call.params["stageId"])


def read_account_details(call: Call) -> Result:
    return 200, account_details(call.emulator.config.portal_id)


def list_ticket_associations(call: Call) -> Result:
    page = call.portal.list_ticket_associations(
        call.params["ticketId"],
        call.params["toObjectType"],
        limit=call.integer("limit", DEFAULT_ASSOCIATIONS_PAGE_SIZE),
        after=call.text("after"),
    )
    return 200, call.with_next_link(page)


def associate(call: Call) -> Result:
    # HubSpot documents 201 with the labels now between the two records.
    return 201, call.portal.associate(
        call.params["ticketId"],
        call.params["toObjectType"],
        call.params["toObjectId"],
        call.json_array(),
    )


def associate_default(call: Call) -> Result:
    """Link a ticket to a record with the unlabeled type; no body, both directions answered."""
    clock = call.emulator.clock
    started = clock.iso_now()
    results = call.portal.associate_default(
        TICKETS, call.params["ticketId"], call.params["toObjectType"], call.params["toObjectId"]
    )
    return batch_answer(200, results, [], started, clock.iso_now())


def dissociate(call: Call) -> Result:
    call.portal.dissociate(
        call.params["ticketId"], call.params["toObjectType"], call.params["toObjectId"], None
    )
    return 204, None


def _type_id(call: Call) -> int:
    raw = call.params["associationTypeId"]
    try:
        return int(raw)
    except ValueError:
        raise validation_error(
            f"Invalid association type id '{raw}': not an integer",
            context={"associationTypeId": [raw]},
        ) from None


def associate_v3(call: Call) -> Result:
    """Associate with one type id; answer the ticket with that association, as v3 does."""
    ticket_id, to_type = call.params["ticketId"], call.params["toObjectType"]
    type_id = _type_id(call)
    labels = call.portal.association_labels(TICKETS, to_type).get("results", [])
    # The v3 path names only a type id; its category comes from the portal's label list.
    category = next(
        (label["category"] for label in labels if label.get("typeId") == type_id),
        "HUBSPOT_DEFINED",
    )
    types = [{"associationCategory": category, "associationTypeId": type_id}]
    call.portal.associate(ticket_id, to_type, call.params["toObjectId"], types)
    return 200, call.portal.get_ticket(
        ticket_id,
        id_property=None,
        properties=None,
        properties_with_history=None,
        associations=[to_type],
        archived=False,
    )


def dissociate_v3(call: Call) -> Result:
    call.portal.dissociate(
        call.params["ticketId"],
        call.params["toObjectType"],
        call.params["toObjectId"],
        _type_id(call),
    )
    return 204, None


def association_labels(call: Call) -> Result:
    return 200, call.portal.association_labels(
        call.params["fromObjectType"], call.params["toObjectType"]
    )


def batch_read_associations(call: Call) -> Result:
    return call.portal.batch_read_associations(
        call.params["fromObjectType"], call.params["toObjectType"], call.json_object()
    )


def _inputs(call: Call) -> list[dict[str, Any]]:
    inputs = call.json_object().get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise validation_error("Invalid input JSON: 'inputs' must be a list of objects")
    return inputs


def _ref_id(item: dict[str, Any], side: str) -> str:
    """Return the id of an input's `from` or `to` record (`{id}`), or HubSpot's 400."""
    ref = item.get(side)
    key = ref.get("id") if isinstance(ref, dict) else None
    if key is None or isinstance(key, (dict, list)) or str(key) == "":
        raise validation_error(
            f"Invalid input JSON: each input needs '{side}': {{'id': ...}}",
            context={side: ["missing"]},
        )
    return str(key)


def _ticket_side(call: Call) -> str:
    # The portal holds tickets' associations, so batches must start from tickets.
    if call.params["fromObjectType"] not in TICKET_TYPE.aliases:
        raise validation_error("Only associations from tickets are supported by this emulator")
    return call.params["toObjectType"]


def _link_each(call: Call, ok_status: int, link: Callable[[str, str, JSON], list[Any]]) -> Result:
    """Apply `link` to each input's (from id, to id, input); 207 names the inputs that failed."""
    clock = call.emulator.clock
    started = clock.iso_now()
    results: list[Any] = []
    errors: list[JSON] = []
    for item in _inputs(call):
        try:
            results += link(_ref_id(item, "from"), _ref_id(item, "to"), item)
        except ApiError as exc:
            errors.append(exc.entry())
    return batch_answer(ok_status, results, errors, started, clock.iso_now())


def batch_create_associations(call: Call) -> Result:
    """Link each input's pair with the types it names; 201, or 207 naming the failures."""
    to_type = _ticket_side(call)
    return _link_each(
        call,
        201,
        lambda from_id, to_id, item: [
            call.portal.associate(from_id, to_type, to_id, item.get("types", []))
        ],
    )


def batch_associate_default(call: Call) -> Result:
    """Link each input's pair with the unlabeled type; 207 names the inputs that failed."""
    from_type, to_type = call.params["fromObjectType"], call.params["toObjectType"]
    return _link_each(
        call,
        200,
        lambda from_id, to_id, _: call.portal.associate_default(from_type, from_id, to_type, to_id),
    )


def batch_archive_associations(call: Call) -> Result:
    to_type = _ticket_side(call)
    for item in _inputs(call):
        from_id = _ref_id(item, "from")
        targets = item.get("to")
        if not isinstance(targets, list):
            raise validation_error(
                "Invalid input JSON: each input's 'to' must be a list of {id}",
                context={"to": ["missing"]},
            )
        for target in targets:
            if not isinstance(target, dict):
                raise validation_error("Invalid input JSON: each 'to' must be an object {id}")
            try:
                call.portal.dissociate(from_id, to_type, _ref_id({"to": target}, "to"), None)
            except ApiError as exc:
                # Removing what is not there is a no-op on HubSpot's batch archive.
                if exc.status != 404:
                    raise
    return 204, None


def oauth_token(call: Call) -> Result:
    form = {key: values[-1] for key, values in parse_qs(call.body.decode("latin-1")).items()}
    return call.emulator.auth.token(form)


def access_token_metadata(call: Call) -> Result:
    return call.emulator.auth.token_metadata(call.params["token"])


def emulator_stats(call: Call) -> Result:
    return 200, call.emulator.stats()


def emulator_health(call: Call) -> Result:
    return 200, {"status": "ok"}


def emulator_reset_stats(call: Call) -> Result:
    call.emulator.reset_stats()
    return 204, None
