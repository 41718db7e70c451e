"""Small questionnaires in the five languages, for definition, reading, campaign and results
tests."""

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


# Labels as a resident reads them in each language.
HEATING_LABELS = {
    "gas": {"fr": "Gaz", "nl": "Gas", "en": "Gas", "ar": "غاز", "es": "Gas"},
    "electric": {"fr": "Électrique", "nl": "Elektrisch", "en": "Electric", "ar": "كهرباء",
                 "es": "Eléctrica"},
    "wood": {"fr": "Bois", "nl": "Hout", "en": "Wood", "ar": "حطب", "es": "Leña"},
}


def sample() -> dict[str, Any]:
    """One question of every type; ``detail`` only if ``pick`` is gas or electric."""
    options = [{"code": code, "label": labels} for code, labels in HEATING_LABELS.items()]
    return {
        "slug": "sample",
        "title": texts("Sample"),
        "questions": [
            {"id": "yn", "type": "yes_no", "text": texts("Home?")},
            {"id": "pick", "type": "single_choice", "text": texts("Heating?"),
             "options": options},
            {"id": "many", "type": "multi_choice", "text": texts("Which?"), "options": options},
            {"id": "how", "type": "scale", "min": 1, "max": 5, "text": texts("Hard?")},
            {"id": "size", "type": "number", "min": 1, "max": 20, "text": texts("People?")},
            {"id": "detail", "type": "text", "optional": True, "text": texts("Why?"),
             "show_if": {"question": "pick", "in": ["gas", "electric"]}},
        ],
    }
