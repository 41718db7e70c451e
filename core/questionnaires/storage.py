"""Questionnaires in the database: the two tables, versions, and lookups for the chat flow.

A questionnaire is a slug with versions: a changed definition is a new row, and answers keep
the version they were given for.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from core.questionnaires.definition import (
    Definition,
    DefinitionError,
    definition_to_dict,
    parse_definition,
)


class ResponseStatus(enum.StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    EXPIRED = "expired"


class Questionnaire(SQLModel, table=True):
    """One version of a questionnaire. A new version is a new row; answers keep theirs."""

    __table_args__ = (UniqueConstraint("slug", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True)
    version: int = 1
    title: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    definition: dict[str, Any] = Field(default_factory=dict,
                                       sa_column=Column(JSON, nullable=False))
    active: bool = True
    # Salt for the pseudonymous respondent ids of the CSV export; never exported.
    export_salt: str = Field(default_factory=lambda: secrets.token_hex(16))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Response(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("questionnaire_id", "contact_id", "context"),)
    id: int | None = Field(default=None, primary_key=True)
    questionnaire_id: int = Field(sa_column=Column(
        Integer, ForeignKey("questionnaire.id", ondelete="CASCADE"), nullable=False, index=True))
    contact_id: int = Field(sa_column=Column(
        Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True))
    # What the response is about, e.g. "alert:42" or "campaign:3"; "" for none.
    context: str = ""
    # The language the questions were asked in.
    locale: str = "fr"
    status: str = Field(default=ResponseStatus.STARTED.value, index=True)
    started_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True))
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def definition_of(row: Questionnaire) -> Definition:
    return parse_definition(row.definition).model_copy(update={"version": row.version})


def _as_definition(definition: Definition | Mapping[str, Any]) -> Definition:
    return definition if isinstance(definition, Definition) else parse_definition(definition)


def _latest(session: Session, slug: str) -> Questionnaire | None:
    return session.exec(select(Questionnaire).where(Questionnaire.slug == slug)
                        .order_by(col(Questionnaire.version).desc())).first()


def latest_questionnaire(session: Session, slug: str, active_only: bool = True
                         ) -> Questionnaire | None:
    row = _latest(session, slug)
    return row if row is not None and (row.active or not active_only) else None


def create_questionnaire(session: Session, definition: Definition | Mapping[str, Any],
                         now: datetime) -> Questionnaire:
    """A new questionnaire; raises ``DefinitionError`` for a bad one or a taken slug."""
    parsed = _as_definition(definition)
    if _latest(session, parsed.slug) is not None:
        raise DefinitionError([f"slug: {parsed.slug} exists already, make a new version"])
    return _insert(session, parsed, parsed.version, now)


def new_version(session: Session, slug: str, definition: Definition | Mapping[str, Any],
                now: datetime) -> Questionnaire:
    """The next version of ``slug``; earlier versions stay (with their answers), inactive."""
    parsed = _as_definition(definition)
    if parsed.slug != slug:
        raise DefinitionError([f"slug: expected {slug}"])
    previous = _latest(session, slug)
    if previous is None:
        return create_questionnaire(session, parsed, now)
    for row in session.exec(select(Questionnaire).where(Questionnaire.slug == slug)):
        row.active = False
        session.add(row)
    return _insert(session, parsed, previous.version + 1, now)


def _insert(session: Session, definition: Definition, version: int, now: datetime
            ) -> Questionnaire:
    data = definition_to_dict(definition)
    data["version"] = version
    row = Questionnaire(slug=definition.slug, version=version, title=dict(definition.title),
                        definition=data, active=True, created_at=now)
    session.add(row)
    session.flush()
    return row


def list_questionnaires(session: Session, active_only: bool = False) -> list[Questionnaire]:
    query = select(Questionnaire).order_by(col(Questionnaire.slug), col(Questionnaire.version))
    if active_only:
        query = query.where(col(Questionnaire.active).is_(True))
    return list(session.exec(query))


class QuestionnaireLookup(Protocol):
    """What the chat flow needs to know about a questionnaire, without touching the database."""

    def questionnaire(self, questionnaire_id: int) -> Definition | None: ...


class SqlQuestionnaires:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[int, Definition | None] = {}

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        if questionnaire_id not in self._cache:
            row = self.session.get(Questionnaire, questionnaire_id)
            self._cache[questionnaire_id] = definition_of(row) if row else None
        return self._cache[questionnaire_id]


@dataclass
class StaticQuestionnaires:
    """An in-memory lookup (tests, demos)."""

    definitions: dict[int, Definition]

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        return self.definitions.get(questionnaire_id)
