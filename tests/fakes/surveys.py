"""A small questionnaire in the five languages, for campaign and results tests."""

from __future__ import annotations

from typing import Any

LOCALES = ("fr", "nl", "en", "ar", "es")


def texts(word: str) -> dict[str, str]:
    return {loc: f"{word} ({loc})" for loc in LOCALES}


def mood_definition(slug: str = "mood", extra: bool = False) -> dict[str, Any]:
    """mood (single choice good/bad), then an optional free-text comment."""
    questions: list[dict[str, Any]] = [
        {"id": "mood", "type": "single_choice", "text": texts("Mood?"),
         "options": [{"code": "good", "label": texts("good")},
                     {"code": "bad", "label": texts("bad")}]},
        {"id": "comment", "type": "text", "optional": True, "text": texts("Comment?")},
    ]
    if extra:
        questions.append({"id": "again", "type": "yes_no", "text": texts("Again?")})
    return {"slug": slug, "title": texts("Mood"), "questions": questions}
