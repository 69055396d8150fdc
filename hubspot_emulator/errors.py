"""HubSpot-shaped error answers, raised by the store and rendered by the server."""

from __future__ import annotations

import uuid
from typing import Any


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
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.sub_category = sub_category
        self.context = context
        self.errors = errors
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """Render HubSpot's error body: `{status, message, correlationId, category, ...}`."""
        out: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": str(uuid.uuid4()),
            "category": self.category,
        }
        if self.sub_category:
            out["subCategory"] = self.sub_category
        if self.context:
            out["context"] = self.context
        if self.errors:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def validation_error(message: str, **kwargs: Any) -> ApiError:
    """Return a 400 VALIDATION_ERROR."""
    return ApiError(400, message, "VALIDATION_ERROR", **kwargs)


def not_found(message: str, **kwargs: Any) -> ApiError:
    """Return a 404 OBJECT_NOT_FOUND."""
    return ApiError(404, message, "OBJECT_NOT_FOUND", **kwargs)


def conflict(message: str, **kwargs: Any) -> ApiError:
    """Return a 409 CONFLICT."""
    return ApiError(409, message, "CONFLICT", **kwargs)
