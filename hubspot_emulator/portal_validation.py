"""Which writes a portal refuses, and HubSpot's 400 for invalid property values."""

from __future__ import annotations

import json
from typing import Any

from hubspot_emulator.errors import ApiError, conflict, validation_error
from hubspot_emulator.pipelines import DEFAULT_PIPELINE_ID
from hubspot_emulator.portal_state import (
    ENGAGEMENTS,
    PortalState,
    Ticket,
)
from hubspot_emulator.properties import (
    PropertyValueError,
    normalise_value,
)

# From this API version on, admin-required properties are enforced on writes.
REQUIRED_PROPERTIES_SINCE = "2026-09"


def _is_versioned_at_least(api_version: str, version: str) -> bool:
    # Date versions ("2026-03") compare as text; legacy versions ("v3", "v4") predate them all.
    return api_version[:1].isdigit() and api_version >= version


def _property_errors(problems: list[PropertyValueError]) -> ApiError:
    """Build HubSpot's 400 for invalid property values: a summary plus one error each."""
    results = [
        {
            "isValid": False,
            "message": problem.message,
            "error": problem.code,
            "name": problem.name,
            "localizedErrorMessage": problem.message,
        }
        for problem in problems
    ]
    return validation_error(
        f"Property values were not valid: {json.dumps(results)}",
        errors=[
            {
                "message": problem.message,
                "code": problem.code,
                "context": {"propertyName": [problem.name]},
            }
            for problem in problems
        ],
    )


class PortalValidation(PortalState):
    """Check a write's properties, pipeline, pinned engagement and unique values."""

    def _validate(
        self,
        raw: Any,
        *,
        ticket: Ticket | None,
        api_version: str,
        engagements: set[tuple[str, int]] | None = None,
    ) -> dict[str, str | None]:
        """Check written properties as HubSpot does; return them normalised (None clears)."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise validation_error("properties must be an object of name to value")
        creating = ticket is None
        problems: list[PropertyValueError] = []
        changes: dict[str, str | None] = {}
        for name, value in raw.items():
            defn = self._props.get(name)
            if defn is None:
                problems.append(
                    PropertyValueError(
                        name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
                continue
            if defn.read_only_value:
                problems.append(
                    PropertyValueError(
                        name,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                    )
                )
                continue
            try:
                changes[name] = normalise_value(defn, value)
            except PropertyValueError as problem:
                problems.append(problem)
        if not problems:
            problems += self._check_required(changes, creating=creating, api_version=api_version)
        if not problems:
            problems += self._check_pipeline(changes, ticket)
            problems += self._check_pin(changes, ticket, engagements or set())
        if problems:
            raise _property_errors(problems)
        return changes

    def _check_pipeline(
        self, changes: dict[str, str | None], ticket: Ticket | None
    ) -> list[PropertyValueError]:
        current = ticket.values if ticket is not None else {}
        if ticket is None and changes.get("hs_pipeline") is None:
            # HubSpot files a ticket without a pipeline in the default one.
            changes["hs_pipeline"] = DEFAULT_PIPELINE_ID
        if "hs_pipeline" not in changes and "hs_pipeline_stage" not in changes:
            return []
        pipeline_id = changes.get("hs_pipeline", current.get("hs_pipeline"))
        if pipeline_id is None:
            return [
                PropertyValueError(
                    "hs_pipeline", "REQUIRED_FIELD", "hs_pipeline is required and cannot be empty"
                )
            ]
        stage_id = changes.get("hs_pipeline_stage", current.get("hs_pipeline_stage"))
        if stage_id is None:
            return [
                PropertyValueError(
                    "hs_pipeline_stage",
                    "REQUIRED_FIELD",
                    "hs_pipeline_stage is required and cannot be empty",
                )
            ]
        pipeline = self._pipeline(pipeline_id)
        if pipeline is None or pipeline.stage(stage_id) is None:
            return [
                PropertyValueError(
                    "hs_pipeline_stage",
                    "INVALID_OPTION",
                    f"{stage_id} is not a valid pipeline stage of pipeline {pipeline_id}",
                )
            ]
        return []

    def _check_required(
        self, changes: dict[str, str | None], *, creating: bool, api_version: str
    ) -> list[PropertyValueError]:
        problems: list[PropertyValueError] = []
        required: list[str] = []
        if creating:
            required += ["subject", "hs_pipeline_stage"]
        if _is_versioned_at_least(api_version, REQUIRED_PROPERTIES_SINCE):
            required += [name for name in self._required if name not in required]
        for name in required:
            # Creates must set them; updates may leave them out but not clear them.
            missing = changes.get(name) is None if creating else changes.get(name, "-") is None
            if missing:
                problems.append(
                    PropertyValueError(
                        name, "REQUIRED_FIELD", f"{name} is required and cannot be empty"
                    )
                )
        return problems

    def _check_pin(
        self,
        changes: dict[str, str | None],
        ticket: Ticket | None,
        engagements: set[tuple[str, int]],
    ) -> list[PropertyValueError]:
        pinned = changes.get("hs_pinned_engagement_id")
        if pinned is None:
            return []
        linked = set(engagements)
        if ticket is not None:
            for kind in ENGAGEMENTS:
                linked.update((kind, object_id) for object_id in ticket.associations.get(kind, ()))
        try:
            engagement_id = int(float(pinned))
        except ValueError:
            engagement_id = -1
        if any(object_id == engagement_id for _, object_id in linked):
            return []
        return [
            PropertyValueError(
                "hs_pinned_engagement_id",
                "INVALID_PINNED_ENGAGEMENT",
                f"Engagement {pinned} is not associated with this ticket; only an associated "
                "activity can be pinned",
            )
        ]

    def _check_unique(
        self, changes: dict[str, str | None], ticket_id: int | None, staged: dict[str, set[str]]
    ) -> None:
        """Refuse a unique-valued property whose value another ticket holds (409)."""
        for name, index in self._unique.items():
            value = changes.get(name)
            if value is None:
                continue
            holder = index.get(value)
            if (holder is not None and holder != ticket_id) or value in staged.get(name, ()):
                raise conflict(
                    f'A ticket with {name} "{value}" already exists'
                    + (f" (id {holder})" if holder is not None else "")
                    + f"; {name} must be unique.",
                    context={"propertyName": [name]},
                )
