"""A workshop's messages in each resident's language, and what a resident's answer does.

The frame (date, time, place, the answer choices) is always in the reader's language
(Babel, in the community's timezone); the title and description are the facilitator's
words, in the reader's language when the facilitator wrote that version, else in the
facilitator's own. The calendar file comes with a Yes, a move and a freed place (not
with the invitation itself): a document on Telegram, a ``/media/{token}.ics`` link elsewhere
(only with a public URL).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.flows.base import Who
from bot.flows.menu import menu_message
from bot.flows.workshop import FLOW, answer_choices
from bot.i18n import Translator, choose_locale, translator
from bot.i18n.formatting import format_local_datetime, format_local_time
from bot.rendering.scheduled import opening
from bot.rendering.survey_invitations import survey_message
from core.calendar_file import store_workshop_ics
from core.clock import as_utc
from core.config import get_settings
from core.media import media_path
from core.messages import Choice, ConversationOpening, OutgoingMessage, RenderedMessage
from core.models import ChannelKind, Community, Contact
from core.questionnaires.content import load_content
from core.questionnaires.storage import Questionnaire, latest_questionnaire
from core.workshop_tables import Answer, Workshop, WorkshopStage
from core.workshops import (
    FOLLOW_UP_QUESTIONNAIRE,
    AnswerOutcome,
    WorkshopError,
    context_of,
    record_answer,
    text_for,
)

DOCUMENT_NAME = "workshop.ics"


def when_text(workshop: Workshop, timezone: str, locale: str) -> str:
    """ "jeudi 3 décembre à 18:00-20:00"."""
    start = format_local_datetime(workshop.starts_at, timezone, locale)
    end = format_local_time(workshop.ends_at, timezone, locale)
    return translator(locale).gettext("{start} until {end}", start=start, end=end)


def frame(workshop: Workshop, timezone: str, locale: str) -> str:
    """Title, description, when and where: the facilitator's text, our frame."""
    t = translator(locale)
    title = text_for(workshop.title, workshop, locale)[0]
    description = text_for(workshop.description, workshop, locale)[0]
    lines = [title]
    if description:
        lines.append(description)
    lines.append(t.gettext("When: {when}", when=when_text(workshop, timezone, locale)))
    lines.append(t.gettext("Where: {place}", place=workshop.place))
    return "\n".join(lines)


def calendar_link(token: str, public_url: str | None = None) -> str | None:
    """The file's public address; None without a public URL (nobody could open it)."""
    base = (public_url or get_settings().public_url or "").rstrip("/")
    return f"{base}{media_path(token, 'ics')}" if base else None


def with_calendar(payload: dict[str, Any], t: Translator, token: str, channel: str,
                  public_url: str | None = None) -> dict[str, Any]:
    """The calendar file: a document on Telegram, a link in the text elsewhere."""
    if channel == ChannelKind.TELEGRAM.value:
        return {**payload, "document_token": token, "document_name": DOCUMENT_NAME}
    link = calendar_link(token, public_url)
    if link is None:
        return payload
    text = t.gettext("Add it to your calendar: {link}", link=link)
    return {**payload, "text": f"{payload['text']}\n{text}"}


class WorkshopMessages:
    """The scheduler's wording (``scheduler.workshops.WorkshopWording``)."""

    def __init__(self, public_url: str | None = None) -> None:
        # One calendar file per workshop, revision and language.
        self._calendars: dict[tuple[int, int, str], str] = {}
        # Where /media/... is reachable; None: the settings' VOISINS_PUBLIC_URL.
        self.public_url = public_url

    def locale_of(self, contact: Contact, community: Community) -> str:
        return choose_locale(contact.locale, None, community.default_locale)

    def calendar(self, session: Session, workshop: Workshop, community: Community,
                 locale: str, now: datetime) -> str:
        assert workshop.id is not None
        key = (workshop.id, workshop.revision, locale)
        if key not in self._calendars:
            self._calendars[key] = store_workshop_ics(session, workshop, community, locale, now)
        return self._calendars[key]

    def message(self, session: Session, stage: WorkshopStage, workshop: Workshop,
                community: Community, locale: str, channel: str, now: datetime
                ) -> RenderedMessage:
        assert workshop.id is not None
        t = translator(locale)
        title = text_for(workshop.title, workshop, locale)[0]
        when = when_text(workshop, community.timezone, locale)
        choices: tuple[Choice, ...] = ()
        opens: ConversationOpening | None = None
        calendar = False
        if stage is WorkshopStage.INVITATION:
            text = "\n".join([t.gettext("Voisins: you are invited!"),
                              frame(workshop, community.timezone, locale),
                              t.gettext("Will you come?")])
            choices = answer_choices(t, workshop.id)
            opens = opening(FLOW, "answer", {"workshop_id": workshop.id},
                            ttl=as_utc(workshop.starts_at) - as_utc(now))
            # No calendar file yet: it comes with a Yes (one send per invitation, not two,
            # and a shorter SMS for those who do not come).
        elif stage in (WorkshopStage.REMINDER_24H, WorkshopStage.REMINDER_2H):
            text = t.gettext("Voisins: reminder: {title}, {when}, {place}. See you there!",
                             title=title, when=when, place=workshop.place)
        elif stage is WorkshopStage.CANCELLED:
            text = t.gettext("Voisins: {title} ({when}) is cancelled. Sorry! "
                             "Thank you for your interest.", title=title, when=when)
        elif stage is WorkshopStage.MOVED:
            text = t.gettext("Voisins: {title} has changed. Now: {when}, {place}.",
                             title=title, when=when, place=workshop.place)
            calendar = True
        else:  # PROMOTED
            text = t.gettext("Voisins: good news, a place is free for {title} ({when}). "
                             "It is yours: see you there!", title=title, when=when)
            calendar = True
        payload: dict[str, Any] = {"text": text, "locale": locale,
                                   "choices": [{"key": c.key, "label": c.label}
                                               for c in choices]}
        if stage is WorkshopStage.INVITATION:
            # For a WhatsApp template outside the 24 h window: {{1}} title, {{2}} when,
            # {{3}} place (the template words the rest in the reader's language).
            payload["template_variables"] = {"1": title, "2": when, "3": workshop.place}
        if calendar:
            payload = with_calendar(payload, t, self.calendar(session, workshop, community,
                                                              locale, now), channel,
                                    self.public_url)
        return RenderedMessage(kind=f"workshop_{stage.value}", payload=payload, opens=opens)

    def follow_up(self, session: Session, workshop: Workshop, community: Community,
                  contact: Contact, now: datetime) -> RenderedMessage | None:
        assert workshop.id is not None
        row = latest_questionnaire(session, FOLLOW_UP_QUESTIONNAIRE) or _loaded(session, now)
        if row is None or row.id is None:
            return None

        def intro(t: Translator) -> str:
            title = text_for(workshop.title, workshop, t.locale)[0]
            return t.gettext("Voisins: thank you for saying yes to {title}!", title=title)

        return survey_message(session, row.id, community, contact, context_of(workshop.id),
                              f"workshop_{WorkshopStage.FOLLOW_UP.value}", intro, now)


def _loaded(session: Session, now: datetime) -> Questionnaire | None:
    try:
        with session.begin_nested():
            load_content(session, now)
    except IntegrityError:
        pass
    return latest_questionnaire(session, FOLLOW_UP_QUESTIONNAIRE)


def confirmation(t: Translator, workshop: Workshop, timezone: str, outcome: AnswerOutcome
                 ) -> str:
    when = when_text(workshop, timezone, t.locale)
    if outcome.answer is Answer.YES:
        return t.gettext("Thank you! See you {when}, {place}.", when=when,
                         place=workshop.place)
    if outcome.answer is Answer.WAITING:
        return t.gettext("It is full for now: you are number {rank} on the waiting list. "
                         "We will tell you if a place frees up.", rank=outcome.waiting_rank or 1)
    if outcome.answer is Answer.MAYBE:
        return t.gettext("Noted: maybe. We will remind you the day before.")
    return t.gettext("Noted, thank you. Maybe next time!")


WORDING = WorkshopMessages()


def apply_answer(session: Session, contact: Contact, who: Who, workshop_id: int,
                 answer: str, now: datetime) -> OutgoingMessage:
    """Record a resident's answer and say what it means (with the menu); a place it freed
    goes to the first person waiting, who is told."""
    # Imported here: the scheduler's fan-out is only needed when an answer frees a place.
    from scheduler.workshops import tell

    t = who.t
    workshop = session.get(Workshop, workshop_id)
    community = session.get(Community, contact.community_id)
    if workshop is None or community is None or workshop.community_id != community.id \
            or answer not in {a.value for a in (Answer.YES, Answer.MAYBE, Answer.NO)}:
        return menu_message(who, intro=t.gettext("Sorry, I could not find this invitation."))
    assert contact.id is not None
    try:
        outcome = record_answer(session, workshop, contact.id, Answer(answer), now)
    except WorkshopError as exc:
        text = t.gettext("Sorry, this workshop is cancelled.") if exc.code == "cancelled" \
            else t.gettext("Sorry, this workshop no longer takes answers.")
        return menu_message(who, intro=text)
    if outcome.promoted is not None:
        tell(session, workshop, WorkshopStage.PROMOTED, [outcome.promoted], WORDING, now)
    intro = confirmation(t, workshop, community.timezone, outcome)
    extra: dict[str, Any] = {}
    if outcome.answer is Answer.YES and outcome.previous is not Answer.YES:
        token = WORDING.calendar(session, workshop, community, who.locale, now)
        payload = with_calendar({"text": intro}, t, token, who.channel)
        intro = str(payload.pop("text"))
        extra = payload
    reply = menu_message(who, intro=intro)
    return replace(reply, extra={**reply.extra, **extra}) if extra else reply


def group_post(workshop: Workshop, community: Community) -> RenderedMessage:
    """The invitation for a linked Telegram group, in the community's language: no personal
    data, no buttons; people answer privately (``scheduler.workshops.send_invitations``)."""
    from bot.rendering.share_kit import invitation_text

    text = invitation_text(workshop, community, community.default_locale,
                           get_settings().telegram_bot_username)
    return RenderedMessage(kind="invitation", payload={
        "text": text, "locale": community.default_locale, "choices": []})
