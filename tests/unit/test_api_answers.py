"""The shapes HubSpot documents for each answer, and what is refused as not one of them."""

from __future__ import annotations

from typing import Any

import pytest

from hubspot_api.answers import answer_problem, check_answer
from hubspot_api.errors import OutcomeUnknownError, UnusableAnswerError
from hubspot_api.paths import Answer, Call

TICKET = {"id": "101", "properties": {}}


@pytest.mark.parametrize(
    ("shape", "body", "inputs"),
    [
        (Answer.OBJECT, TICKET, None),
        (Answer.LIST, {"results": [TICKET]}, None),
        (Answer.LIST, {"results": [], "paging": {"next": {"after": "200"}}}, None),
        (Answer.SEARCH, {"total": 1, "results": [TICKET]}, None),
        (Answer.BATCH, {"status": "COMPLETE", "results": []}, None),
        (Answer.BATCH_WRITE, {"status": "COMPLETE", "results": [TICKET, TICKET]}, 2),
        (Answer.BATCH_WRITE, {"results": [TICKET], "errors": [{"message": "bad"}]}, 2),
        (Answer.RESULTS, {"results": [{"name": "subject"}]}, None),
        (Answer.ANY, None, None),
    ],
    ids=[
        "object",
        "list-page",
        "list-page-with-cursor",
        "search-page",
        "batch-read",
        "batch-write",
        "batch-write-207",
        "results",
        "any",
    ],
)
def test_documented_answers_pass(shape: Answer, body: Any, inputs: int | None) -> None:
    assert answer_problem(shape, body, inputs) is None


@pytest.mark.parametrize(
    ("shape", "body", "inputs", "problem"),
    [
        (Answer.BATCH_WRITE, [], 50, "a list"),
        (Answer.BATCH_WRITE, None, 50, "null"),
        (Answer.BATCH_WRITE, "ok", 50, "a string"),
        (Answer.BATCH_WRITE, {"status": "COMPLETE"}, 50, "without a 'results' list"),
        (Answer.BATCH_WRITE, {"results": [TICKET]}, 2, "1 results and no errors for 2 inputs"),
        (Answer.BATCH_WRITE, {"results": [{"properties": {}}]}, 1, "without a numeric id"),
        (Answer.LIST, {"results": [{"id": "x1"}]}, None, "1 of 1 results without a numeric id"),
        (Answer.LIST, {"results": [], "paging": {"next": {}}}, None, "without an 'after'"),
        (Answer.SEARCH, {"results": []}, None, "without a 'total'"),
        (Answer.SEARCH, {"total": True, "results": []}, None, "without a 'total'"),
        (Answer.OBJECT, {"properties": {}}, None, "an object without a numeric id"),
        (Answer.RESULTS, {"results": [1]}, None, "other than objects"),
    ],
    ids=[
        "write-list",
        "write-null",
        "write-string",
        "write-no-results",
        "write-short",
        "write-no-id",
        "list-bad-id",
        "list-cursor-without-after",
        "search-no-total",
        "search-bool-total",
        "object-no-id",
        "results-not-objects",
    ],
)
def test_other_answers_are_named(
    shape: Answer, body: Any, inputs: int | None, problem: str
) -> None:
    found = answer_problem(shape, body, inputs)
    assert found is not None
    assert problem in found


def test_a_mismatch_is_an_unknown_outcome_naming_the_call() -> None:
    with pytest.raises(UnusableAnswerError) as raised:
        check_answer(
            Call.BATCH_UPDATE,
            [],
            method="POST",
            path="/crm/v3/objects/tickets/batch/update",
            status=200,
            inputs=50,
        )
    assert isinstance(raised.value, OutcomeUnknownError)
    assert str(raised.value).startswith(
        "POST /crm/v3/objects/tickets/batch/update 200: the answer to batch_update is a list,"
    )
