"""The portal's ticket pipelines and their stages, in HubSpot's pipelines API shape.

HubSpot's default ticket pipeline has id "0"; stage ids differ from portal to portal, so the
emulator gives its stages long numeric ids like a real portal's rather than "1".."4": a client
that hard-codes stage ids breaks here as it would in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

DEFAULT_PIPELINE_ID = "0"
OPEN = "OPEN"
CLOSED = "CLOSED"


@dataclass(frozen=True)
class Stage:
    """One ticket status of a pipeline; `ticket_state` tells open from closed."""

    id: str
    label: str
    display_order: int
    ticket_state: str

    @property
    def is_closed(self) -> bool:
        """Tell whether tickets in this stage count as closed."""
        return self.ticket_state == CLOSED

    def to_json(self, stamp: str) -> JSON:
        """Render HubSpot's pipeline stage shape; `stamp` is its ISO creation time."""
        return {
            "label": self.label,
            "displayOrder": self.display_order,
            "metadata": {"ticketState": self.ticket_state},
            "id": self.id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }


@dataclass(frozen=True)
class Pipeline:
    """A ticket pipeline with its ordered stages."""

    id: str
    label: str
    display_order: int
    stages: tuple[Stage, ...]

    def stage(self, stage_id: str) -> Stage | None:
        """Return the stage with this id, or None when it is not part of this pipeline."""
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        return None

    def to_json(self, stamp: str) -> JSON:
        """Render HubSpot's pipeline shape; `stamp` is its ISO creation time."""
        return {
            "label": self.label,
            "displayOrder": self.display_order,
            "id": self.id,
            "stages": [stage.to_json(stamp) for stage in self.stages],
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }


def _stages(first_id: int, specs: list[tuple[str, str]]) -> tuple[Stage, ...]:
    return tuple(
        Stage(str(first_id + order), label, order, state)
        for order, (label, state) in enumerate(specs)
    )


def default_pipelines() -> list[Pipeline]:
    """Return the portal's pipelines: HubSpot's default support pipeline and an escalation one."""
    support = Pipeline(
        DEFAULT_PIPELINE_ID,
        "Support Pipeline",
        0,
        _stages(
            1_034_562_871,
            [
                ("New", OPEN),
                ("Waiting on contact", OPEN),
                ("Waiting on us", OPEN),
                ("Closed", CLOSED),
            ],
        ),
    )
    escalations = Pipeline(
        "58213947",
        "Engineering Escalations",
        1,
        _stages(
            1_034_562_912,
            [
                ("Triage", OPEN),
                ("Investigating", OPEN),
                ("Fix in progress", OPEN),
                ("Resolved", CLOSED),
                ("Won't fix", CLOSED),
            ],
        ),
    )
    return [support, escalations]
