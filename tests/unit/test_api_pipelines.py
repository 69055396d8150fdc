"""Pipelines and stages named by id or label, as records name them."""

from __future__ import annotations

import pytest

from hubspot_api.pipelines import Pipelines, UnknownStageError

RESULTS = [
    {
        "id": "7",
        "label": "Support",
        "displayOrder": 1,
        "stages": [
            {"id": "s2", "label": "Closed", "displayOrder": 2},
            {"id": "s1", "label": "New", "displayOrder": 1},
            {"id": "s0", "label": "Old", "displayOrder": 0, "archived": True},
        ],
    },
    {
        "id": "0",
        "label": "Default",
        "displayOrder": 2,
        "stages": [{"id": "1", "label": "new", "displayOrder": 0}],
    },
]


@pytest.fixture
def pipelines() -> Pipelines:
    return Pipelines.from_api(RESULTS)


def test_the_default_pipeline_is_id_zero_and_archived_stages_are_left_out(pipelines):
    assert pipelines.default is not None
    assert pipelines.default.id == "0"
    assert [p.id for p in pipelines.pipelines] == ["7", "0"]  # display order
    assert [s.id for s in pipelines.pipelines[0].stages] == ["s1", "s2"]
    only = Pipelines.from_api([RESULTS[0]]).default
    assert only is not None
    assert only.id == "7"
    assert Pipelines.from_api([]).default is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", "7"), ("Support", "7"), ("support", "7"), ("Nope", None)],
    ids=["id", "label", "any-case", "unknown"],
)
def test_a_pipeline_is_found_by_id_then_label(pipelines, value, expected):
    found = pipelines.resolve_pipeline(value)
    assert (found.id if found else None) == expected


def test_a_stage_is_found_within_its_pipeline_or_across_all(pipelines):
    support = pipelines.resolve_pipeline("7")
    assert pipelines.resolve_stage("closed", support).id == "s2"
    assert pipelines.resolve_stage("1", None).id == "1"  # an id, in any pipeline
    assert pipelines.resolve_stage("Closed", None).id == "s2"
    with pytest.raises(UnknownStageError, match="unknown stage 'Old' in pipeline 'Support'"):
        pipelines.resolve_stage("Old", support)
    with pytest.raises(UnknownStageError, match="not a stage of any pipeline"):
        pipelines.resolve_stage("Gone", None)


def test_an_unknown_stage_or_pipeline_names_the_closest_label(pipelines):
    support = pipelines.resolve_pipeline("7")
    with pytest.raises(UnknownStageError) as raised:
        pipelines.resolve_stage("Clsoed", support)
    assert (
        str(raised.value) == "unknown stage 'Clsoed' in pipeline 'Support' (did you mean 'Closed'?)"
    )
    with pytest.raises(UnknownStageError, match=r"any pipeline \(did you mean 'Closed'\?\)"):
        pipelines.resolve_stage("Clossed", None)
    assert (
        pipelines.unknown_pipeline("Suport")
        == "unknown pipeline 'Suport' (did you mean 'Support'?)"
    )
    assert pipelines.unknown_pipeline("zzzz") == "unknown pipeline 'zzzz'"
    # "New" in one pipeline and "new" in the other: each pipeline names one, so none is chosen.
    with pytest.raises(UnknownStageError, match="several pipelines; give hs_pipeline too"):
        pipelines.resolve_stage("New", None)
