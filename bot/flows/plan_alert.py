"""A facilitator plans an alert in chat: when, how long, planned or surprise, a real alert
or an exercise (a drill), who, confirm.

The confirmation shows the first message exactly as residents will read it, in each
language they use.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from bot.conversation.choices import match_choice
from bot.flows.alert import AlertMessages
from bot.flows.audience_choices import WHOLE_COMMUNITY, audience_choices, confirm_choices
from bot.flows.base import (
    FACILITATORS,
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    PlanAlert,
    Who,
    say,
)
from bot.flows.menu import show_menu
from bot.flows.when_parsing import parse_duration_minutes, parse_when
from bot.i18n.formatting import format_local_datetime
from core.alerts import Alert, AlertKind, AlertStage
from core.messages import Choice, IncomingMessage
from core.models import Community, Contact

FLOW = "plan_alert"


class PlanAlertState(FlowData):
    step: Literal["when", "duration", "kind", "drill", "audience", "confirm"] = "when"
    starts_at: datetime | None = None
    minutes: int | None = None
    clusters: list[str] = Field(default_factory=list)
    kind: AlertKind | None = None
    drill: bool = False
    cluster: str | None = None


def _ask(who: Who, state: PlanAlertState, text: str, choices: tuple[Choice, ...],
         intro: str | None) -> FlowResult:
    if intro:
        text = f"{intro}\n{text}"
    return FlowResult(replies=(say(who, text, *choices),), state=PLAN_ALERT.keep(state))


def _kind_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice(AlertKind.PLANNED.value, who.t.gettext("Planned")),
            Choice(AlertKind.SURPRISE.value, who.t.gettext("Surprise")))


REAL, DRILL = "real", "drill"


def _drill_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice(REAL, who.t.gettext("A real alert")),
            Choice(DRILL, who.t.gettext("An exercise")))


class PlanAlertFlow(BaseFlow[PlanAlertState]):
    name = FLOW
    State = PlanAlertState
    roles = FACILITATORS
    entry = MenuEntry(order=10, label=lambda t: t.gettext("Plan an alert"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, PlanAlertState(), directory)

    def reprompt(self, who: Who, state: PlanAlertState, directory: Directory,
                 intro: str | None = None) -> FlowResult:
        t = who.t
        if state.step == "duration":
            text = t.gettext("How long? For example: 3h, 2h30 or 90 min.")
        elif state.step == "kind":
            text = t.gettext("Planned with residents (notice 24 hours before) "
                             "or a surprise (notice 30 minutes before)?")
            return _ask(who, state, text, _kind_choices(who), intro)
        elif state.step == "drill":
            text = t.gettext("A real alert, or an exercise? In an exercise, every message "
                             "says it is one.")
            return _ask(who, state, text, _drill_choices(who), intro)
        elif state.step == "audience":
            text = t.gettext("Who is it for?")
            return _ask(who, state, text, audience_choices(who, state.clusters), intro)
        elif state.step == "confirm":
            return _ask(who, state, t.gettext("Send this alert?"), confirm_choices(who), intro)
        else:
            text = t.gettext("When does the alert start? For example: tomorrow 18:00, "
                             "or 3/12 17:30.")
        return _ask(who, state, text, (), intro)

    def step(self, message: IncomingMessage, who: Who, state: PlanAlertState,
             directory: Directory) -> FlowResult:
        if who.community is None:
            return show_menu(who)
        t = who.t
        if state.step == "when":
            received = message.received_at or datetime.now().astimezone()
            when = parse_when(message.text, received, who.community.timezone)
            if when is None:
                return self.reprompt(who, state, directory,
                                     intro=t.gettext("Sorry, I could not read that date."))
            if when <= received:
                return self.reprompt(who, state, directory,
                                     intro=t.gettext("This time has already passed."))
            return self.reprompt(who, state.model_copy(
                update={"step": "duration", "starts_at": when}), directory)
        if state.step == "duration":
            minutes = parse_duration_minutes(message.text)
            if minutes is None or not 1 <= minutes <= 24 * 60:
                return self.reprompt(who, state, directory, intro=t.gettext(
                    "An alert lasts between 1 minute and 24 hours."))
            clusters = list(directory.cluster_names(who.community.id))
            return self.reprompt(who, state.model_copy(
                update={"step": "kind", "minutes": minutes, "clusters": clusters}), directory)
        if state.step == "kind":
            choice = match_choice(message, _kind_choices(who), who.locale)
            if choice is None:
                return self.reprompt(who, state, directory)
            return self.reprompt(who, state.model_copy(
                update={"step": "drill", "kind": AlertKind(choice.key)}), directory)
        if state.step == "drill":
            choice = match_choice(message, _drill_choices(who), who.locale)
            if choice is None:
                return self.reprompt(who, state, directory)
            chosen = state.model_copy(update={"step": "audience", "drill": choice.key == DRILL})
            if not chosen.clusters:
                return _preview(who, chosen.model_copy(update={"step": "confirm",
                                                               "cluster": None}), directory)
            return self.reprompt(who, chosen, directory)
        if state.step == "audience":
            choice = match_choice(message, audience_choices(who, state.clusters), who.locale)
            if choice is None:
                return self.reprompt(who, state, directory)
            cluster = None if choice.key == WHOLE_COMMUNITY else choice.label
            return _preview(who, state.model_copy(update={"step": "confirm",
                                                          "cluster": cluster}), directory)
        choice = match_choice(message, confirm_choices(who), who.locale)
        if choice is None:
            return self.reprompt(who, state, directory)
        if choice.key == "no":
            return show_menu(who, intro=t.gettext("Nothing was sent."))
        if state.starts_at is None or state.minutes is None or state.kind is None:
            return self.start(message, who, directory)
        effect = PlanAlert(starts_at=state.starts_at.isoformat(),
                           duration_minutes=state.minutes, kind=state.kind.value,
                           cluster=state.cluster, drill=state.drill)
        done = t.gettext("Done: the alert is planned. Residents will be told at the right times.")
        result = show_menu(who, intro=done)
        return FlowResult(replies=result.replies, state=result.state, effects=(effect,))


PLAN_ALERT = PlanAlertFlow()


def _preview(who: Who, state: PlanAlertState, directory: Directory) -> FlowResult:
    assert who.community is not None
    t = who.t
    starts_at, minutes, kind, cluster = state.starts_at, state.minutes, state.kind, state.cluster
    if starts_at is None or minutes is None or kind is None:
        return PLAN_ALERT.reprompt(who, PlanAlertState(), directory)
    problem = directory.alert_plan_problem(who.community.id, starts_at, minutes, cluster)
    if problem is not None:
        return PLAN_ALERT.reprompt(who, PlanAlertState(), directory,
                                   intro=_problem_text(who, problem))
    community = Community(id=who.community.id, slug=who.community.slug, name=who.community.name,
                          timezone=who.community.timezone, join_code="",
                          default_locale=who.community.default_locale)
    alert = Alert(id=0, community_id=who.community.id, kind=kind.value, starts_at=starts_at,
                  ends_at=starts_at + timedelta(minutes=minutes), drill=state.drill)
    stage = AlertStage.NOTICE_24H if kind is AlertKind.PLANNED else AlertStage.NOTICE_30MIN
    locales = directory.audience_locales(who.community.id, cluster)
    lines = [t.gettext("{when}, for {count} households.",
                       when=format_local_datetime(starts_at, who.community.timezone, who.locale),
                       count=directory.audience_size(who.community.id, cluster)),
             t.gettext("Residents will read:")]
    for locale in locales:
        rendered = AlertMessages().render(stage, alert, community, Contact(community_id=0,
                                                                           locale=locale))
        lines.append(f"[{locale}] {rendered.payload['text']}")
    return PLAN_ALERT.reprompt(who, state, directory, intro="\n".join(lines))


def _problem_text(who: Who, code: str) -> str:
    t = who.t
    reasons = {
        "past": t.gettext("This time has already passed."),
        "duration": t.gettext("An alert lasts between 1 minute and 24 hours."),
        "overlap": t.gettext("Another alert already covers these homes at that time."),
        "cluster": t.gettext("I don't know this group of homes."),
    }
    return reasons.get(code, t.gettext("This alert cannot be planned."))
