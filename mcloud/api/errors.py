"""Every error the API answers has one shape:

    {"error": {"code": "not_found", "message": "…", "details": …}}

with the right status (400, 401, 403, 404, 409, 422, 429). No stack trace reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.responses import codes_4xx

from mcloud.errors import ActionRefused

logger = logging.getLogger(__name__)


class InvalidInput(Exception):
    """Input that parsed but failed the same rules as the HTML forms (422)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.errors = errors


def error(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return api.create_response(request, {"error": body}, status=status)


def install(api: NinjaAPI) -> None:
    handlers = {
        Http404: lambda r, e: error(api, r, 404, "not_found", "Not found."),
        PermissionDenied: lambda r, e: error(
            api, r, 403, "forbidden", str(e) or "Your role does not allow this."
        ),
        AuthenticationError: lambda r, e: error(
            api, r, 401, "unauthorized", "A valid token or session is required."
        ),
        ActionRefused: lambda r, e: error(api, r, 409, "conflict", e.message),
        InvalidInput: lambda r, e: error(
            api, r, 422, "invalid", "The input is not valid.", e.errors
        ),
        ValidationError: lambda r, e: error(
            api, r, 422, "invalid", "The input is not valid.", _safe(e.errors)
        ),
        Throttled: lambda r, e: _throttled(api, r, e),
        HttpError: lambda r, e: error(api, r, e.status_code, "error", str(e)),
        DatabaseError: lambda r, e: _database(api, r, e),
        Exception: lambda r, e: _unexpected(api, r, e),
    }
    for exception, handler in handlers.items():
        api.add_exception_handler(exception, handler)


def _safe(errors: list[dict]) -> list[dict]:
    """Pydantic's errors without the raw input (it may hold a secret)."""
    return [
        {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


def _throttled(api: NinjaAPI, request: HttpRequest, exc: Throttled) -> HttpResponse:
    response = error(api, request, 429, "rate_limited", "Too many requests; slow down.")
    if exc.wait:
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


def _database(api: NinjaAPI, request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    logger.error("API database error on %s: %s", request.path, exc.__class__.__name__, exc_info=exc)
    return error(api, request, 503, "unavailable", "The database is not answering; try again.")


def _unexpected(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API error on %s: %s", request.path, exc.__class__.__name__, exc_info=exc)
    return error(api, request, 500, "server_error", "Something went wrong on our side.")


def unknown_route(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any address under /api/ that no operation answers: a 404 in the API's shape, not a page."""
    body = {"error": {"code": "not_found", "message": "No such API endpoint."}}
    return JsonResponse(body, status=404)


class ErrorBody(Schema):
    code: str
    message: str
    details: Any | None = None


class ErrorOut(Schema):
    error: ErrorBody


def responses(ok: dict[int, Any] | Any, status: int = 200) -> dict[Any, Any]:
    """An operation's responses: its success, and the error shape every operation may answer."""
    success = ok if isinstance(ok, dict) else {status: ok}
    return {**success, codes_4xx: ErrorOut, 422: ErrorOut, 503: ErrorOut}
