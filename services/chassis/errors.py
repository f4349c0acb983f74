"""RFC 9457 problem+json: every refusal names a machine code, the field and the rule broken."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """A refusal to show the caller. Raise it from domain or service code; the app renders it.

    `code` is a stable machine code (e.g. "budget.funds.insufficient"); `field` names the input at
    fault; `rule` names the rule broken (and its source, e.g. a policy pack or seed).
    """

    status = 400

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status: int | None = None,
        title: str | None = None,
        field: str | None = None,
        rule: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status is not None:
            self.status = status
        self.title = title or code
        self.field = field
        self.rule = rule
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://goumai.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
        if self.rule:
            body["rule"] = self.rule
        body.update(self.extra)
        return body


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class Forbidden(Problem):
    status = 403


class Unauthorized(Problem):
    status = 401


class Unprocessable(Problem):
    """Well-formed input that a business rule refuses."""

    status = 422


class Unavailable(Problem):
    """A dependency (another service, the bus) cannot answer now."""

    status = 503


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    instance = str(request.url.path) if request is not None else None
    body = problem.body(instance)
    if request is not None and getattr(request.state, "request_id", None):
        body.setdefault("request_id", request.state.request_id)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _loc_to_field(e.get("loc", ())), "rule": e.get("type"), "message": e.get("msg")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "rule": None, "message": "invalid input"}
        p = Problem(
            "request.invalid",
            f"{first['field']}: {first['message']}",
            status=422,
            title="The request is not valid",
            field=first["field"],
            rule=first["rule"],
            errors=errors,
        )
        return problem_response(p, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error"
        )
        return problem_response(Problem(code, str(exc.detail), status=exc.status_code), request)
