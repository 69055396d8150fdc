"""A portal's property definitions, property groups, and pipelines, as their APIs answer."""

from __future__ import annotations

from typing import Any

from hubspot_emulator.errors import conflict, not_found, validation_error
from hubspot_emulator.portal_state import (
    JSON,
    PortalState,
)
from hubspot_emulator.properties import (
    FIELD_TYPES,
    MAX_UNIQUE_PROPERTIES,
    PROPERTY_GROUPS,
    PROPERTY_NAME,
    Option,
    PropertyDef,
    iso_from_ms,
)


class PortalProperties(PortalState):
    """Read and create property definitions; read groups, pipelines and stages."""

    # -- properties and pipelines ---------------------------------------------------------------
    def list_properties(self, *, archived: bool = False) -> JSON:
        """GET /crm/v3/properties/tickets -> {results}."""
        with self._lock:
            if archived:
                return {"results": []}  # this portal has no archived ticket properties
            return {"results": [defn.to_json() for defn in self._props.values()]}

    def get_property(self, name: str) -> JSON:
        """GET /crm/v3/properties/tickets/{name}."""
        with self._lock:
            defn = self._props.get(name)
            if defn is None:
                raise not_found(
                    f'Unable to find property "{name}" on object type tickets',
                    context={"propertyName": [name]},
                )
            return defn.to_json()

    def list_legacy_properties(self) -> list[JSON]:
        """GET /properties/v2/tickets/properties -> a bare array in the legacy v2 shape."""
        with self._lock:
            return [defn.to_legacy_json() for defn in self._props.values()]

    def list_other_properties(self, object_type: str, *, archived: bool = False) -> JSON:
        """GET /crm/v3/properties/{objectType} for a standard type other than tickets."""
        defs = self._other_props[object_type]
        if archived:
            return {"results": []}
        return {"results": [defn.to_json() for defn in defs.values()]}

    def get_other_property(self, object_type: str, name: str) -> JSON:
        """GET /crm/v3/properties/{objectType}/{name} for a standard type other than tickets."""
        defn = self._other_props[object_type].get(name)
        if defn is None:
            raise not_found(
                f'Unable to find property "{name}" on object type {object_type}',
                context={"propertyName": [name]},
            )
        return defn.to_json()

    def list_schemas(self) -> JSON:
        """GET /crm-object-schemas/v3/schemas -> {results}: this portal has no custom objects."""
        return {"results": []}

    def create_property(self, body: JSON) -> JSON:
        """POST /crm/v3/properties/tickets (201)."""
        with self._lock:
            defn = self._parse_property(body)
            self._props[defn.name] = defn
            if defn.has_unique_value:
                self._unique[defn.name] = {}
            return defn.to_json()

    def update_property(self, name: str, body: JSON) -> JSON:
        """PATCH /crm/v3/properties/tickets/{name}: change a definition, values left as stored.

        HubSpot lets an admin change a custom property's type and field type (its stored values
        stay as they were: a number property made text keeps `12.5`, a text one made number
        keeps `abc`); a HubSpot-defined property's type is read-only.
        https://developers.hubspot.com/docs/api-reference/crm-properties-v3/core/patch-crm-v3-properties-objectType-propertyName
        """
        if not isinstance(body, dict):
            raise validation_error("The property definition must be an object")
        with self._lock:
            defn = self._props.get(name)
            if defn is None:
                raise not_found(
                    f'Unable to find property "{name}" on object type tickets',
                    context={"propertyName": [name]},
                )
            kind = body.get("type", defn.type)
            field_type = body.get("fieldType", defn.field_type)
            if (kind, field_type) != (defn.type, defn.field_type):
                if defn.read_only_definition:
                    raise validation_error(
                        f"The type of property '{name}' is read-only",
                        context={"propertyName": [name]},
                    )
                _check_type(kind, field_type)
            for key in ("label", "groupName", "description"):
                if key in body and not isinstance(body[key], str):
                    raise validation_error(f"{key} must be a string")
            defn.type, defn.field_type = kind, field_type
            defn.label = body.get("label", defn.label)
            defn.group_name = body.get("groupName", defn.group_name)
            defn.description = body.get("description", defn.description)
            if "options" in body:
                defn.options = _parse_options(kind, body["options"] or [])
            if "displayOrder" in body:
                defn.display_order = int(body["displayOrder"])
            for key, attribute in (("hidden", "hidden"), ("formField", "form_field")):
                if key in body:
                    setattr(defn, attribute, bool(body[key]))
            defn.updated_ms = self._clock()
            return defn.to_json()

    def _parse_property(self, body: JSON) -> PropertyDef:
        if not isinstance(body, dict):
            raise validation_error("The property definition must be an object")
        name = body.get("name")
        if not isinstance(name, str) or not PROPERTY_NAME.fullmatch(name):
            raise validation_error(
                f"Property name {name!r} is invalid: use lowercase letters, digits and "
                "underscores, starting with a letter",
                context={"name": [str(name)]},
            )
        if name in self._props:
            raise conflict(
                f"A property named '{name}' already exists on object type tickets",
                context={"name": [name]},
            )
        for required in ("label", "type", "fieldType", "groupName"):
            if not isinstance(body.get(required), str) or not body[required]:
                raise validation_error(
                    f"{required} is required", context={"propertyName": [required]}
                )
        kind, field_type = body["type"], body["fieldType"]
        _check_type(kind, field_type)
        unique = bool(body.get("hasUniqueValue", False))
        if unique and len(self._unique) >= MAX_UNIQUE_PROPERTIES:
            raise validation_error(
                f"An object type may have at most {MAX_UNIQUE_PROPERTIES} properties with "
                "unique values",
                sub_category="crm.properties.TOO_MANY_UNIQUE_PROPERTIES",
            )
        choices = _parse_options(kind, body.get("options") or [])
        now = self._clock()
        return PropertyDef(
            name,
            body["label"],
            kind,
            field_type,
            group_name=body["groupName"],
            description=str(body.get("description") or ""),
            options=choices,
            display_order=int(body.get("displayOrder", -1)),
            has_unique_value=unique,
            hidden=bool(body.get("hidden", False)),
            hubspot_defined=False,
            archivable=True,
            read_only_definition=False,
            form_field=bool(body.get("formField", False)),
            created_ms=now,
            updated_ms=now,
        )

    def batch_read_properties(self, body: JSON) -> tuple[int, JSON]:
        """POST /crm/v3/properties/tickets/batch/read {inputs: [{name}], archived} -> 200/207."""
        if not isinstance(body, dict):
            raise validation_error("The request body must be an object")
        archived = body.get("archived", False)
        if not isinstance(archived, bool):
            raise validation_error(
                "archived must be true or false", context={"archived": [str(archived)[:100]]}
            )
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise validation_error("inputs must be a list", context={"inputs": ["missing"]})
        names: list[str] = []
        for item in inputs:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                raise validation_error("Each input must be an object with a property name")
            names.append(name)
        with self._lock:
            started = iso_from_ms(self._clock())
            # This portal has no archived ticket properties: every name is missing then.
            found = {} if archived else self._props
            results = [found[name].to_json() for name in dict.fromkeys(names) if name in found]
            missing = [name for name in dict.fromkeys(names) if name not in found]
            errors = [
                not_found(
                    f'Unable to find property "{name}" on object type tickets',
                    context={"propertyName": [name]},
                ).entry()
                for name in missing
            ]
            return self._batch_answer(200, results, errors, started)

    def list_property_groups(self) -> JSON:
        """GET /crm/v3/properties/tickets/groups -> {results: [{name, label, ...}]}."""
        with self._lock:
            used = dict.fromkeys(defn.group_name for defn in self._props.values())
        names = list(dict.fromkeys([*PROPERTY_GROUPS, *used]))
        return {"results": [_property_group(name, order) for order, name in enumerate(names)]}

    def get_property_group(self, name: str) -> JSON:
        """GET /crm/v3/properties/tickets/groups/{groupName}."""
        groups: list[JSON] = self.list_property_groups()["results"]
        for group in groups:
            if group["name"] == name:
                return group
        raise not_found(
            f"Unable to find property group {name!r} on object type tickets",
            context={"groupName": [name]},
        )

    def list_pipelines(self) -> JSON:
        """GET /crm/v3/pipelines/tickets -> {results}."""
        stamp = iso_from_ms(self._created_ms)
        return {"results": [pipeline.to_json(stamp) for pipeline in self._pipelines]}

    def get_pipeline(self, pipeline_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{id}."""
        pipeline = self._pipeline(pipeline_id)
        if pipeline is None:
            raise not_found(
                f"Unable to find pipeline {pipeline_id} for object type tickets",
                context={"pipelineId": [pipeline_id]},
            )
        return pipeline.to_json(iso_from_ms(self._created_ms))

    def list_stages(self, pipeline_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{pipelineId}/stages -> {results}."""
        pipeline = self.get_pipeline(pipeline_id)
        return {"results": pipeline["stages"]}

    def get_stage(self, pipeline_id: str, stage_id: str) -> JSON:
        """GET /crm/v3/pipelines/tickets/{pipelineId}/stages/{stageId}."""
        for stage in self.list_stages(pipeline_id)["results"]:
            if stage["id"] == stage_id:
                return dict(stage)
        raise not_found(
            f"Unable to find stage {stage_id} in pipeline {pipeline_id} for object type tickets",
            context={"pipelineId": [pipeline_id], "stageId": [stage_id]},
        )


def _property_group(name: str, order: int) -> JSON:
    """Render HubSpot's property group shape."""
    label = PROPERTY_GROUPS.get(name) or name.replace("_", " ").capitalize()
    return {"name": name, "label": label, "displayOrder": order, "archived": False}


def _parse_options(kind: str, raw_options: Any) -> list[Option]:
    """Read a new property's options; a bool without any gets Yes and No, as in HubSpot."""
    choices: list[Option] = []
    for order, raw in enumerate(raw_options):
        if not isinstance(raw, dict) or not raw.get("label") or raw.get("value") is None:
            raise validation_error("Each option needs a label and a value")
        choices.append(
            Option(
                str(raw["label"]),
                str(raw["value"]),
                int(raw.get("displayOrder", order)),
                bool(raw.get("hidden", False)),
            )
        )
    if kind == "bool" and not choices:
        choices = [Option("Yes", "true", 0), Option("No", "false", 1)]
    if kind == "enumeration" and not choices:
        raise validation_error("An enumeration property needs options")
    return choices


def _check_type(kind: Any, field_type: Any) -> None:
    """Refuse a property type HubSpot does not have, or a fieldType it does not allow with it."""
    if kind not in FIELD_TYPES:
        raise validation_error(
            f"{kind!r} is not a valid property type; use one of {sorted(FIELD_TYPES)}"
        )
    if field_type not in FIELD_TYPES[kind]:
        raise validation_error(
            f"fieldType {field_type!r} cannot be used with type {kind!r}; use one of "
            f"{sorted(FIELD_TYPES[kind])}"
        )
