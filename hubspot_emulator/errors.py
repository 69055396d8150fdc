"""HubSpot-shaped error answers, raised by the store and rendered by the server.

Every error the emulator answers with is rendered by `error_body`, in the shape HubSpot
documents (https://developers.hubspot.com/docs/api/error-handling):

    {"status": "error", "message": ..., "correlationId": ..., "category": ...,
     "subCategory": ..., "context": {name: [values]}, "errors": [...]}

A whole answer's body carries a `correlationId` (the server repeats it in the
X-HubSpot-Correlation-Id header); one entry of a batch answer's `errors` has none. Keys without
a value are left out; a few answers add their own (`errorType` and `policyName` on a 429) or
replace `status` (the OAuth token endpoint's error codes). `batch_answer` renders every batch
answer: its results and, with a 207, the entries of the inputs that failed.
"""

from __future__ import annotations

import uuid
from typing import Any

JSON = dict[str, Any]


def new_correlation_id() -> str:
    """Return a fresh correlation id, a UUID as HubSpot's are."""
    return str(uuid.uuid4())


def error_body(
    message: str,
    category: str | None = None,
    *,
    correlation_id: str | None = None,
    sub_category: str | None = None,
    context: dict[str, list[str]] | None = None,
    errors: list[JSON] | None = None,
    status: str = "error",
    **extra: Any,
) -> JSON:
    """Render one HubSpot error: an answer's body (with `correlation_id`) or a batch entry."""
    out: JSON = {"status": status, "message": message}
    if correlation_id is not None:
        out["correlationId"] = correlation_id
    if category is not None:
        out["category"] = category
    if sub_category:
        out["subCategory"] = sub_category
    if context:
        out["context"] = context
    if errors:
        out["errors"] = errors
    out.update(extra)
    return out


class ApiError(Exception):
    """An error HubSpot would answer with: HTTP status plus its standard error body."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str,
        *,
        sub_category: str | None = None,
        context: dict[str, list[str]] | None = None,
        errors: list[JSON] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.sub_category = sub_category
        self.context = context
        self.errors = errors

    def body(self) -> JSON:
        """Render the error as a whole answer's body, with a new correlation id."""
        return error_body(
            self.message,
            self.category,
            correlation_id=new_correlation_id(),
            sub_category=self.sub_category,
            context=self.context,
            errors=self.errors,
        )

    def entry(self, trace_id: str | None = None) -> JSON:
        """Render the error as one entry of a batch answer's `errors`.

        `trace_id` is the failed input's `objectWriteTraceId`, which HubSpot returns in the
        entry's context so a client can tell which input it was.
        """
        context = dict(self.context or {})
        if trace_id is not None:
            context["objectWriteTraceId"] = [trace_id]
        return error_body(
            self.message,
            self.category,
            sub_category=self.sub_category,
            context=context,
            errors=self.errors,
        )


def validation_error(message: str, **kwargs: Any) -> ApiError:
    """Return a 400 VALIDATION_ERROR."""
    return ApiError(400, message, "VALIDATION_ERROR", **kwargs)


def not_found(message: str, **kwargs: Any) -> ApiError:
    """Return a 404 OBJECT_NOT_FOUND."""
    return ApiError(404, message, "OBJECT_NOT_FOUND", **kwargs)


def conflict(message: str, **kwargs: Any) -> ApiError:
    """Return a 409 CONFLICT."""
    return ApiError(409, message, "CONFLICT", **kwargs)


def batch_answer(
    ok_status: int, results: list[Any], errors: list[JSON], started: str, completed: str
) -> tuple[int, JSON]:
    """Render a batch's answer: `ok_status` when every input went through, else 207."""
    out: JSON = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if not errors:
        return ok_status, out
    out["numErrors"] = len(errors)
    out["errors"] = errors
    return 207, out
