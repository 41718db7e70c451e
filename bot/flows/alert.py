"""What residents read at each stage of an alert, and their "are you joining in?" answer.

Alert texts go by SMS too: each must fit in two segments in every language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    RecordAlertIntent,
    Who,
    say,
)
from bot.flows.menu import Paused, show_menu
from bot.i18n import Translator, choose_locale, translator
from bot.i18n.formatting import format_duration, format_local_day_time, format_local_time
from bot.rendering.scheduled import opening
from bot.rendering.survey_invitations import survey_message
from core.alerts import Alert, AlertIntent, AlertReply, AlertStage
from core.gesture_content import localized
from core.messages import Choice, ConversationOpening, IncomingMessage, RenderedMessage
from core.models import Community, Contact
from core.questionnaires.content import load_content
from core.questionnaires.definition import AnswerValue
from core.questionnaires.responses import completed_contact_ids
from core.questionnaires.storage import Questionnaire, latest_questionnaire

FLOW = "alert"
BUTTON_PREFIX = "alert:"
POST_ALERT = "post_alert"


def duration_text(alert: Alert, locale: str) -> str:
    return format_duration(alert.duration_minutes, locale)


def when_text(alert: Alert, community: Community, locale: str) -> str:
    """The start within the coming week: "Thursday at 17:00"."""
    return format_local_day_time(alert.starts_at, community.timezone, locale)


def time_text(alert: Alert, community: Community, locale: str, start: bool = False) -> str:
    return format_local_time(alert.starts_at if start else alert.ends_at, community.timezone,
                             locale)


def drill_label(t: Translator, text: str) -> str:
    """``text`` marked as an exercise: "Voisins: …" becomes "Voisins (exercise): …"."""
    brand = t.gettext("Voisins:")
    marked = t.gettext("Voisins (exercise):")
    if text.startswith(brand):
        return marked + text[len(brand):]
    return f"{marked} {text}"


def intent_choices(t: Translator, alert_id: int) -> tuple[Choice, ...]:
    return (
        Choice(f"{BUTTON_PREFIX}{alert_id}:{AlertIntent.IN.value}", t.gettext("I'm in")),
        Choice(f"{BUTTON_PREFIX}{alert_id}:{AlertIntent.AWAY.value}", t.gettext("Not at home")),
        Choice(f"{BUTTON_PREFIX}{alert_id}:{AlertIntent.CANT.value}",
               t.gettext("Can't this time")),
    )


class AlertMessages:
    """The scheduler's renderer: one stage, one reader, in the reader's language."""

    def render(self, stage: AlertStage, alert: Alert, community: Community, contact: Contact,
               gesture: Mapping[str, str] | None = None) -> RenderedMessage:
        """``gesture``: the reader's own alert-time gesture (its short form per language),
        recalled in the 30-minute notice in place of the general thanks, so that the notice
        stays within two SMS segments in every language."""
        locale = choose_locale(contact.locale, None, community.default_locale)
        t = translator(locale)
        assert alert.id is not None
        opens: ConversationOpening | None = None
        choices: tuple[Choice, ...] = ()
        if stage is AlertStage.NOTICE_24H:
            text = t.gettext(
                "Voisins: grid alert on {when}, for {duration}. "
                "Could you use less electricity then? Thank you!",
                when=when_text(alert, community, locale), duration=duration_text(alert, locale))
        elif stage is AlertStage.NOTICE_30MIN and gesture:
            text = t.gettext(
                "Voisins: the grid alert starts at {time}, for {duration}. "
                "Your gesture: {gesture}. Thank you!",
                time=time_text(alert, community, locale, start=True),
                duration=duration_text(alert, locale),
                gesture=localized(gesture, locale, community.default_locale))
        elif stage is AlertStage.NOTICE_30MIN:
            text = t.gettext(
                "Voisins: the grid alert starts at {time}, for {duration}. "
                "Thanks for using less electricity!",
                time=time_text(alert, community, locale, start=True),
                duration=duration_text(alert, locale))
        elif stage is AlertStage.START:
            text = t.gettext("Voisins: the alert starts now, until {time}. Will you join in?",
                             time=time_text(alert, community, locale))
            choices = intent_choices(t, alert.id)
            opens = opening(FLOW, "intent", {"alert_id": alert.id})
        elif stage is AlertStage.END:
            text = t.gettext("Voisins: the alert is over. Thank you! "
                             "You can use electricity as usual.")
        else:
            text = t.gettext("Voisins: the alert on {when} is cancelled. Nothing to do. Thank you!",
                             when=when_text(alert, community, locale))
        if alert.drill:
            text = drill_label(t, text)
        payload = {"text": text, "locale": locale,
                   "choices": [{"key": c.key, "label": c.label} for c in choices]}
        return RenderedMessage(kind=f"alert_{stage.value}", payload=payload, opens=opens)

    def survey(self, session: Session, stage: AlertStage, alert: Alert, community: Community,
               contact: Contact, now: datetime) -> RenderedMessage | None:
        """The post-alert questionnaire: its first question after the alert, or the next
        unanswered one in the reminder. Asked to everyone targeted, at home or not; what
        their answer to the start message already says is recorded, not asked again."""
        assert alert.id is not None and contact.id is not None and community.id is not None
        row = latest_questionnaire(session, POST_ALERT) or _loaded(session, now)
        if row is None or row.id is None:
            return None
        intent = session.exec(select(AlertReply.intent).where(
            AlertReply.alert_id == alert.id, AlertReply.contact_id == contact.id)).first()
        known = answers_known_from(AlertIntent(intent) if intent in set(AlertIntent) else None)

        def intro(t: Translator) -> str:
            text = _survey_intro(t, stage)
            return drill_label(t, text) if alert.drill else text

        return survey_message(session, row.id, community, contact, f"alert:{alert.id}",
                              f"alert_{stage.value}", intro, now, known=known)


def _survey_intro(t: Translator, stage: AlertStage) -> str:
    if stage is AlertStage.REMINDER:
        return t.gettext("Voisins: a few quick questions about the last alert are still "
                         "waiting for you. Thank you!")
    return t.gettext("Voisins: thank you! How did the alert go for you? "
                     "A few quick questions, at home or not.")


def _loaded(session: Session, now: datetime) -> Questionnaire | None:
    """The shipped questionnaires, loaded on first use when nobody loaded them yet.

    Another scheduler may be loading them at the same moment: then its rows win.
    """
    try:
        with session.begin_nested():
            load_content(session, now)
    except IntegrityError:
        pass
    return latest_questionnaire(session, POST_ALERT)


def post_alert_respondents(session: Session, alert: Alert) -> set[int]:
    """Who finished the alert's questionnaire: they get no reminder."""
    return completed_contact_ids(session, f"alert:{alert.id}")


def is_alert_button(message: IncomingMessage) -> bool:
    return bool(message.choice_key and message.choice_key.startswith(BUTTON_PREFIX))


def thanks_for(t: Translator, intent: str) -> str:
    if intent == AlertIntent.IN.value:
        return t.gettext("Thank you! Every bit helps.")
    if intent == AlertIntent.AWAY.value:
        return t.gettext("Thanks for letting us know. See you next time!")
    return t.gettext("No problem, thanks for telling us.")


def answers_known_from(intent: AlertIntent | None) -> dict[str, AnswerValue]:
    """What the answer to the start message already tells the post-alert questionnaire:
    someone "not at home" is not asked again whether they were at home."""
    return {"at_home": False} if intent is AlertIntent.AWAY else {}


class AlertState(FlowData):
    # The start message's "are you joining in?" is open.
    step: Literal["intent"] = "intent"
    alert_id: int


def answer_button(message: IncomingMessage, who: Who, paused: Paused | None) -> FlowResult:
    """A tap under a start message answers that alert, whatever was pending (kept paused)."""
    _, button_alert, intent = (message.choice_key or "").split(":", 2)
    return _recorded(who, int(button_alert) if button_alert.isdigit() else 0, intent, paused)


def _recorded(who: Who, alert_id: int, intent: str, paused: Paused | None = None
              ) -> FlowResult:
    if intent not in {i.value for i in AlertIntent}:
        return show_menu(who, paused=paused)
    result = show_menu(who, intro=thanks_for(who.t, intent), paused=paused)
    return FlowResult(replies=result.replies, state=result.state,
                      effects=(RecordAlertIntent(alert_id, intent),))


class AlertAnswer(BaseFlow[AlertState]):
    """The start message's question, left open by the scheduler (``AlertMessages.render``)."""

    name = FLOW
    State = AlertState

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return show_menu(who)

    def step(self, message: IncomingMessage, who: Who, state: AlertState,
             directory: Directory) -> FlowResult:
        """A typed "1"/"2"/"3" while the question is open (a tap goes to ``answer_button``)."""
        if is_alert_button(message):
            return answer_button(message, who, None)
        choices = intent_choices(who.t, state.alert_id)
        choice = match_choice(message, choices, who.locale)
        if choice is None:
            text = who.t.gettext("Reply with 1, 2 or 3, or MENU for something else.")
            return FlowResult(replies=(say(who, text, *choices),), state=self.keep(state))
        return _recorded(who, state.alert_id, choice.key.rsplit(":", 1)[1])

    def reprompt(self, who: Who, state: AlertState, directory: Directory) -> FlowResult:
        text = who.t.gettext("Will you join in the alert?")
        return FlowResult(replies=(say(who, text, *intent_choices(who.t, state.alert_id)),),
                          state=self.keep(state))


ALERT = AlertAnswer()
