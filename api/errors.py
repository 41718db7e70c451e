"""Errors as JSON ``{"detail": ...}``, with one shape for every 422.

A 422 always answers ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}``:
one entry per problem, ``loc`` the path to what is wrong (``["body", "duration_minutes"]``,
``["path", "alert_id"]``; empty when the problem is about the request as a whole), ``msg``
a sentence for a person, ``type`` a code for a program. That is FastAPI's own validation
shape, so the ``HTTPValidationError`` schema in ``/openapi.json`` describes every 422, the
ones our handlers raise included. Every other error is ``{"detail": "a sentence"}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

VALIDATION_SHAPE = (
    'Every 422 answers `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`: one entry '
    "per problem; `loc` is where (`[\"body\", \"duration_minutes\"]`, `[\"path\", "
    "\"alert_id\"]`, `[]` for the request as a whole), `msg` a sentence, `type` a code. "
    'Other errors answer `{"detail": "a sentence"}`.')


class ErrorDetail(BaseModel):
    """Any error but a 422: what went wrong, in a sentence."""

    detail: str


Loc = Sequence[str | int]


def problem(msg: str, loc: Loc = (), kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": kind}


def unprocessable(msg: str, loc: Loc = (), kind: str = "value_error") -> HTTPException:
    """A 422 with one problem, in the shape every 422 has."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [problem(msg, loc, kind)])


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the non-422 errors an operation may answer."""
    return {code: {"model": ErrorDetail} for code in codes}


def _problems(detail: Any) -> list[dict[str, Any]]:
    """Whatever a handler put in a 422's detail, as the documented list of problems."""
    items: Iterable[Any] = detail if isinstance(detail, list) else [detail]
    problems = []
    for item in items:
        if isinstance(item, dict) and "msg" in item:
            problems.append(problem(str(item["msg"]), _loc(item.get("loc")),
                                    str(item.get("type") or "value_error")))
        else:
            problems.append(problem(str(item)))
    return problems


def _loc(value: Any) -> list[str | int]:
    if not isinstance(value, list | tuple):
        return []
    return [part if isinstance(part, int) else str(part) for part in value]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own handler echoes each wrong input, and a NaN among them makes the handler
    # itself fail with a 500. The inputs are left out: the caller has them already, and an
    # echoed token or a 1 MB string has no place in an answer (or a log).
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    problems = [problem(str(error.get("msg", "")), _loc(error.get("loc")),
                        str(error.get("type", "value_error"))) for error in errors]
    return JSONResponse({"detail": problems}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT:
        body: dict[str, Any] = {"detail": _problems(exc.detail)}
    else:
        body = {"detail": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # A number too large for a column (an id of 2**63 on SQLite, of 2**31 on PostgreSQL) or
    # a date past year 9999: the input is wrong, not the server.
    log.info("out-of-range input on %s %s: %s", request.method, request.url.path,
             exc.__class__.__name__)
    return JSONResponse({"detail": [problem("a value in the request cannot be stored (out of "
                                            "range, or text with a NUL)",
                                            kind="out_of_range")]},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    if _is_out_of_range(exc):
        return await _out_of_range(request, exc)
    raise exc


def _is_out_of_range(exc: Exception) -> bool:
    original = getattr(exc, "orig", None)
    # psycopg's NumericValueOutOfRange and DatetimeFieldOverflow, by their SQLSTATE; and
    # its refusal of a NUL in text (raised before the query leaves, so no SQLSTATE).
    return getattr(original, "sqlstate", None) in ("22003", "22008") or \
        isinstance(original, OverflowError) or "NUL (0x00)" in str(original)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette still logs the traceback and re-raises for the server; the client gets JSON
    # like every other error, and no detail of ours.
    return JSONResponse({"detail": "internal server error"},
                        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _server_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _data_error)


def refuse_non_finite(constant: str) -> float:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not JSON numbers."""
    raise json.JSONDecodeError(f"{constant} is not a JSON number", constant, 0)


def finite_json(body: bytes) -> Any:
    """The JSON of a body, refusing NaN and Infinity (Python's json accepts them)."""
    return json.loads(body, parse_constant=refuse_non_finite)


