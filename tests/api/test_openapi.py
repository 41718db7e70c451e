"""``/openapi.json`` describes every answer: each operation's success response has a schema
that says what comes back (a model, a list of them, a typed map, a PNG, TwiML, a CSV), not
"any object"; and the one 422 shape is documented."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from core.config import Settings
from core.db import make_engine

# Routes of api/routes/questionnaires.py, typed by the questionnaires work on its own branch.
# At merge this list must become empty: the test fails on any entry that is typed by then,
# and on any untyped route that is not listed here.
EXPECTED_UNTYPED_UNTIL_MERGE: set[tuple[str, str]] = set()
JSON = "application/json"


def _spec() -> dict[str, Any]:
    app = create_app(make_engine("sqlite://"), Settings(_env_file=None))  # type: ignore[call-arg]
    with TestClient(app) as client:
        spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def describes(schema: dict[str, Any] | None, media_type: str) -> bool:
    """Whether a response schema says what the answer holds."""
    if not schema:
        return False
    if "$ref" in schema:
        return True
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            return all(describes(part, media_type) for part in schema[union])
    kind = schema.get("type")
    if kind == "array":
        return describes(schema.get("items"), media_type)
    if kind == "object":
        values = schema.get("additionalProperties")
        return bool(schema.get("properties")) or (isinstance(values, dict) and bool(values))
    if media_type == JSON:
        return kind in ("string", "integer", "number", "boolean", "null")
    # A PNG, TwiML or CSV: the media type says what it is, the schema that it is text/bytes.
    return kind == "string"


def undescribed_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    missing = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            successes = {code: response for code, response in operation["responses"].items()
                         if code.startswith("2")}
            ok = bool(successes)
            for code, response in successes.items():
                content = response.get("content") or {}
                if code == "204":
                    ok = ok and not content
                    continue
                ok = ok and bool(content) and all(
                    describes(media.get("schema"), media_type)
                    for media_type, media in content.items())
            if not ok:
                missing.add((method.upper(), path))
    return missing


def test_every_operation_describes_its_answer() -> None:
    missing = undescribed_operations(_spec())
    unexpected = sorted(missing - EXPECTED_UNTYPED_UNTIL_MERGE)
    assert not unexpected, "operations without a response schema (give them a response_model):" \
        + "".join(f"\n  {method} {path}" for method, path in unexpected)
    typed_now = sorted(EXPECTED_UNTYPED_UNTIL_MERGE - missing)
    assert not typed_now, "typed now: remove from EXPECTED_UNTYPED_UNTIL_MERGE:" \
        + "".join(f"\n  {method} {path}" for method, path in typed_now)


def test_the_checker_tells_a_model_from_any_object() -> None:
    assert describes({"$ref": "#/components/schemas/AlertOut"}, JSON)
    assert describes({"type": "array", "items": {"$ref": "#/x"}}, JSON)
    assert describes({"type": "object", "additionalProperties": {"type": "integer"}}, JSON)
    assert not describes({"type": "object", "additionalProperties": True}, JSON)
    assert not describes({}, JSON)
    assert not describes({"type": "array", "items": {}}, JSON)
    assert describes({"type": "string", "format": "binary"}, "image/png")


def test_the_422_shape_and_the_limits_are_documented() -> None:
    spec = _spec()
    description = spec["info"]["description"]
    assert '{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}' in description
    assert "VOISINS_MAX_IMPORT_BYTES" in description and "413" in description
    error = spec["components"]["schemas"]["ValidationError"]
    assert {"loc", "msg", "type"} <= set(error["required"])
    health = spec["paths"]["/healthz"]["get"]
    assert "security" not in health and set(health["responses"]) >= {"200", "503"}
