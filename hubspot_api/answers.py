"""Check that a successful answer is the one HubSpot documents for its call, in one place.

A 2xx whose body is not the call's documented answer (`[]`, `null`, an empty body, a JSON
string, a page without `results`, results without ids, a batch answer that accounts for fewer
inputs than were sent) tells nothing about what HubSpot did. It is never read as a success:
`check_answer` raises `UnusableAnswerError`, an `OutcomeUnknownError`, which the client does not
resend. A write's caller treats it as any unknown outcome (the target reconciles a create, and
stops before handing back a state past any other write); a read ends the run in one line, with
no state past what was read. Each call's shape is declared beside its path (`paths.Answer`).

Documented shapes (https://developers.hubspot.com/docs/api-reference/latest/crm/objects):
a batch answer is an object with `results` (and `errors` on a 207); a list page has `results`
and, but on the last page, `paging.next.after`; a search page has `total` and `results`; an
object has its `id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubspot_api.errors import UnusableAnswerError, json_kind
from hubspot_api.paths import Answer, Call

# What every result of these shapes must carry to be tied to a record.
_RESULTS_WITH_IDS = frozenset({Answer.LIST, Answer.SEARCH, Answer.BATCH, Answer.BATCH_WRITE})


def _has_id(item: Any) -> bool:
    """Tell whether `item` carries an object id: HubSpot's are whole numbers, sent as text."""
    if not isinstance(item, Mapping):
        return False
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return str(value).isascii() and str(value).isdigit()


def _has_text_id(item: Any) -> bool:
    """Tell whether `item` carries an id that is text or a number, not empty."""
    value = item.get("id") if isinstance(item, Mapping) else None
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != ""


def _pipeline_problem(pipeline: Mapping[str, Any]) -> str | None:
    """Return how one pipeline differs from its documented shape: an id, stages with ids."""
    if not _has_text_id(pipeline):
        return "a pipeline without an id"
    stages = pipeline.get("stages")
    if not isinstance(stages, list) or not all(_has_text_id(stage) for stage in stages):
        return f"pipeline {pipeline['id']}'s stages without ids"
    return None


def answer_problem(
    shape: Answer, body: Any, inputs: int | None = None, *, empty: bool = False
) -> str | None:
    """Return how `body` differs from the answer `shape` documents, or None when it fits.

    `inputs` is how many inputs a batch write sent: its answer must account for each, by a
    result or, on a 207, by its errors. `empty` tells a body of no bytes from JSON `null`,
    which both parse to None.
    """
    if shape is Answer.ANY:
        return None
    if not isinstance(body, Mapping):
        return "an empty body" if empty else json_kind(body)
    if shape is Answer.OBJECT:
        return None if _has_id(body) else "an object without a numeric id"
    if shape is Answer.PIPELINE:
        return _pipeline_problem(body)
    results = body.get("results")
    if not isinstance(results, list):
        return "an object without a 'results' list"
    if not all(isinstance(item, Mapping) for item in results):
        return "'results' holding something other than objects"
    if shape in _RESULTS_WITH_IDS:
        missing = sum(1 for item in results if not _has_id(item))
        if missing:
            return f"{missing} of {len(results)} results without a numeric id"
    if shape is Answer.PIPELINES:
        return next(filter(None, map(_pipeline_problem, results)), None)
    if shape is Answer.SEARCH:
        total = body.get("total")
        if isinstance(total, bool) or not isinstance(total, int):
            return "a search page without a 'total'"
    if shape is Answer.LIST:
        return _paging_problem(body.get("paging"))
    if shape is Answer.BATCH_WRITE and inputs is not None:
        errors = body.get("errors")
        if errors is not None and not isinstance(errors, list):
            return "'errors' that is not a list"
        if not errors and len(results) < inputs:
            return f"{len(results)} results and no errors for {inputs} inputs"
    return None


def _paging_problem(paging: Any) -> str | None:
    if paging is None:
        return None
    if not isinstance(paging, Mapping):
        return "'paging' that is not an object"
    nxt = paging.get("next")
    if nxt is None:
        return None
    after = nxt.get("after") if isinstance(nxt, Mapping) else None
    if not isinstance(after, str | int) or isinstance(after, bool):
        return "'paging.next' without an 'after' cursor"
    return None


def check_answer(
    call: Call,
    body: Any,
    *,
    method: str,
    path: str,
    status: int,
    inputs: int | None = None,
    empty: bool = False,
) -> None:
    """Raise `UnusableAnswerError` naming the call when `body` is not the answer it documents.

    Only a call that may change something in HubSpot (`CallSpec.writes`) has an outcome that
    is unknown; a read's line says nothing was written.
    """
    problem = answer_problem(call.spec.answer, body, inputs, empty=empty)
    if problem is None:
        return
    outcome = (
        "the write's outcome is unknown" if call.spec.writes else "a read: nothing was written"
    )
    raise UnusableAnswerError(
        f"the answer to {call.value} is {problem}, not the answer HubSpot documents: nothing of it "
        f"is used and the call is not resent ({outcome})",
        status=status,
        method=method,
        path=path,
    )
