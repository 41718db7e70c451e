"""The questionnaires that ship as data (``core/content/questionnaires/*.yaml``) and loading them.

``voisins db upgrade`` and ``voisins demo`` load them: a new slug is created, a changed file
becomes a new version, an unchanged one is left alone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from sqlmodel import Session

from core.questionnaires.definition import (
    Definition,
    DefinitionError,
    definition_to_dict,
    parse_definition,
)
from core.questionnaires.storage import (
    Questionnaire,
    create_questionnaire,
    latest_questionnaire,
    new_version,
)

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "questionnaires"


def load_yaml(path: Path) -> Definition:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    try:
        return parse_definition(raw)
    except DefinitionError as error:
        raise DefinitionError([f"{path.name}: {p}" for p in error.problems]) from None


def content_files(directory: Path = CONTENT_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_content(session: Session, now: datetime, directory: Path = CONTENT_DIR
                 ) -> list[Questionnaire]:
    """Load the YAML files: new slugs are created, changed ones get a new version."""
    loaded = []
    for path in content_files(directory):
        definition = load_yaml(path)
        current = latest_questionnaire(session, definition.slug, active_only=False)
        if current is None:
            loaded.append(create_questionnaire(session, definition, now))
            continue
        unchanged = {**current.definition, "version": 0} == {
            **definition_to_dict(definition), "version": 0}
        loaded.append(current if unchanged else new_version(session, definition.slug,
                                                            definition, now))
    return loaded
