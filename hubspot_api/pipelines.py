"""Ticket pipelines and their stages: read once, and looked up by id or by label.

`read_pipelines` is the one reader of the pipelines API (docs/endpoints.md); the tap emits its
answer as records, the target indexes it in `Pipelines` to resolve what a record names. Users
name pipelines and stages by label as often as by id; `hubspot_api.names.find_named` is the one
lookup (id, exact label, then either in any case; a name that fits several items names none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hubspot_api.errors import did_you_mean
from hubspot_api.names import find_named
from hubspot_api.paths import Call
from hubspot_api.properties import PIPELINE

if TYPE_CHECKING:
    from hubspot_api.client import HubSpotClient

JSON = dict[str, Any]
# HubSpot's default ticket pipeline always has this id.
DEFAULT_PIPELINE_ID = "0"


def read_pipelines(client: HubSpotClient) -> list[JSON]:
    """Return every ticket pipeline with its stages, as the API returns them (one call)."""
    body = client.get_json(Call.LIST_PIPELINES) or {}
    return list(body.get("results") or [])


class UnknownStageError(LookupError):
    """A stage named by id or label is not in the pipeline, or not in exactly one pipeline.

    Its message names the closest stage label ("did you mean 'Closed'?").
    """


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: its id and label."""

    id: str
    label: str


@dataclass(frozen=True)
class Pipeline:
    """A ticket pipeline with its stages."""

    id: str
    label: str
    display_order: int
    stages: tuple[Stage, ...]


class Pipelines:
    """The portal's ticket pipelines, resolving ids or labels to ids."""

    def __init__(self, pipelines: Sequence[Pipeline]) -> None:
        """Index `pipelines`; the default is id "0", else the first in display order."""
        self.pipelines = tuple(sorted(pipelines, key=lambda p: (p.display_order, p.id)))
        by_id = {p.id: p for p in self.pipelines}
        self.default: Pipeline | None = by_id.get(DEFAULT_PIPELINE_ID) or (
            self.pipelines[0] if self.pipelines else None
        )

    @classmethod
    def from_api(cls, results: Sequence[Mapping[str, Any]]) -> Pipelines:
        """Build from the pipelines API's results `[{id, label, stages: [...]}, ...]`.

        Archived stages are left out: a record cannot move a ticket into one.
        """
        out: list[Pipeline] = []
        for item in results:
            stages = tuple(
                Stage(str(s.get("id")), str(s.get("label") or ""))
                for s in sorted(item.get("stages") or [], key=lambda s: s.get("displayOrder", 0))
                if not s.get("archived")
            )
            out.append(
                Pipeline(
                    str(item.get("id")),
                    str(item.get("label") or ""),
                    int(item.get("displayOrder") or 0),
                    stages,
                )
            )
        return cls(out)

    def resolve_pipeline(self, value: str) -> Pipeline | None:
        """Return the pipeline with this id, else with this label (exact, then any case)."""
        return find_named(self.pipelines, value)

    def unknown_pipeline(self, value: str) -> str:
        """Say that `value` names no pipeline, with the closest label."""
        return f"unknown pipeline {value!r}" + did_you_mean(
            value, [p.label for p in self.pipelines]
        )

    def resolve_stage(self, value: str, pipeline: Pipeline | None) -> Stage:
        """Return the stage `value` (id or label) names, within `pipeline` when one is known.

        Without a pipeline (an update that moves only the stage) a stage id is looked up in
        every pipeline; a label must then be unique across the portal. Raises
        `UnknownStageError` saying why no single stage is named.
        """
        if pipeline is not None:
            stage = find_named(pipeline.stages, value)
            if stage is None:
                raise UnknownStageError(
                    f"unknown stage {value!r} in pipeline {pipeline.label!r}"
                    + did_you_mean(value, [s.label for s in pipeline.stages])
                )
            return stage
        by_id = [s for p in self.pipelines for s in p.stages if s.id == value]
        if by_id:
            return by_id[0]
        matches = [m for p in self.pipelines if (m := find_named(p.stages, value)) is not None]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            labels = [s.label for p in self.pipelines for s in p.stages]
            raise UnknownStageError(
                f"stage {value!r} is not a stage of any pipeline" + did_you_mean(value, labels)
            )
        raise UnknownStageError(
            f"stage label {value!r} exists in several pipelines; give {PIPELINE} too"
        )
