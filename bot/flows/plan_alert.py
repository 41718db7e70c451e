"""A facilitator plans an alert in chat: when, how long, planned or surprise, who, confirm.

The confirmation shows the first message exactly as residents will read it, in each
language they use.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.conversation.choices import match_choice
from bot.flows.alert import AlertMessages
from bot.flows.base import Directory, FlowResult, FlowState, PlanAlert, Who, say
from bot.flows.menu import menu_message
from bot.flows.when_parsing import parse_duration_minutes, parse_when
from bot.i18n.formatting import format_local_datetime
from core.alerts import Alert, AlertKind, AlertStage
from core.messages import Choice, IncomingMessage
from core.models import Community, Contact

FLOW = "plan_alert"
WHOLE_COMMUNITY = "*"


def start(message: IncomingMessage, who: Who, state: FlowState) -> FlowResult:
    return reprompt(who, FlowState(flow=FLOW, step="when"))


def reprompt(who: Who, state: FlowState, intro: str | None = None) -> FlowResult:
    t = who.t
    if state.step == "duration":
        text = t.gettext("How long? For example: 3h, 2h30 or 90 min.")
    elif state.step == "kind":
        text = t.gettext("Planned with residents (notice 24 hours before) "
                         "or a surprise (notice 30 minutes before)?")
        return _ask(who, state, text, _kind_choices(who), intro)
    elif state.step == "audience":
        text = t.gettext("Who is it for?")
        return _ask(who, state, text, _audience_choices(who, state), intro)
    elif state.step == "confirm":
        return _ask(who, state, t.gettext("Send this alert?"), _confirm_choices(who), intro)
    else:
        text = t.gettext("When does the alert start? For example: tomorrow 18:00, "
                         "or 3/12 17:30.")
    return _ask(who, state, text, (), intro)


def _ask(who: Who, state: FlowState, text: str, choices: tuple[Choice, ...],
         intro: str | None) -> FlowResult:
    if intro:
        text = f"{intro}\n{text}"
    return FlowResult(replies=(say(who, text, *choices),), state=state)


def _kind_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice(AlertKind.PLANNED.value, who.t.gettext("Planned")),
            Choice(AlertKind.SURPRISE.value, who.t.gettext("Surprise")))


def _audience_choices(who: Who, state: FlowState) -> tuple[Choice, ...]:
    clusters = [str(name) for name in state.data.get("clusters", [])]
    return (Choice(WHOLE_COMMUNITY, who.t.gettext("The whole community")),
            *(Choice(f"cluster:{name}"[:64], name) for name in clusters))


def _confirm_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice("yes", who.t.gettext("Yes, send")), Choice("no", who.t.gettext("No, cancel")))


def step(message: IncomingMessage, who: Who, state: FlowState, directory: Directory
         ) -> FlowResult:
    if who.community is None or who.role != "facilitator":
        return FlowResult(replies=(menu_message(who),), state=FlowState("menu", "choose"))
    t = who.t
    if state.step == "when":
        received = message.received_at or datetime.now().astimezone()
        when = parse_when(message.text, received, who.community.timezone)
        if when is None:
            return reprompt(who, state, intro=t.gettext("Sorry, I could not read that date."))
        if when <= received:
            return reprompt(who, state, intro=t.gettext("This time has already passed."))
        return reprompt(who, state.at(FLOW, "duration", starts_at=when.isoformat()))
    if state.step == "duration":
        minutes = parse_duration_minutes(message.text)
        if minutes is None or not 1 <= minutes <= 24 * 60:
            return reprompt(who, state, intro=t.gettext(
                "An alert lasts between 1 minute and 24 hours."))
        clusters = directory.cluster_names(who.community.id)
        return reprompt(who, state.at(FLOW, "kind", minutes=minutes, clusters=list(clusters)))
    if state.step == "kind":
        choice = match_choice(message, _kind_choices(who), who.locale)
        if choice is None:
            return reprompt(who, state)
        next_state = state.at(FLOW, "audience", kind=choice.key)
        if not next_state.data.get("clusters"):
            return _preview(who, next_state.at(FLOW, "confirm", cluster=None), directory)
        return reprompt(who, next_state)
    if state.step == "audience":
        choice = match_choice(message, _audience_choices(who, state), who.locale)
        if choice is None:
            return reprompt(who, state)
        cluster = None if choice.key == WHOLE_COMMUNITY else choice.label
        return _preview(who, state.at(FLOW, "confirm", cluster=cluster), directory)
    if state.step == "confirm":
        choice = match_choice(message, _confirm_choices(who), who.locale)
        if choice is None:
            return reprompt(who, state)
        if choice.key == "no":
            return FlowResult(replies=(menu_message(who, intro=t.gettext("Nothing was sent.")),),
                              state=FlowState("menu", "choose"))
        effect = PlanAlert(starts_at=str(state.data["starts_at"]),
                           duration_minutes=int(state.data["minutes"]),
                           kind=str(state.data["kind"]), cluster=state.data.get("cluster"))
        done = t.gettext("Done: the alert is planned. Residents will be told at the right times.")
        return FlowResult(replies=(menu_message(who, intro=done),),
                          state=FlowState("menu", "choose"), effects=(effect,))
    return reprompt(who, FlowState(flow=FLOW, step="when"))


def _preview(who: Who, state: FlowState, directory: Directory) -> FlowResult:
    assert who.community is not None
    t = who.t
    starts_at = datetime.fromisoformat(str(state.data["starts_at"]))
    minutes = int(state.data["minutes"])
    cluster = state.data.get("cluster")
    problem = directory.alert_plan_problem(who.community.id, starts_at, minutes, cluster)
    if problem is not None:
        return reprompt(who, FlowState(flow=FLOW, step="when"),
                        intro=_problem_text(who, problem))
    kind = AlertKind(str(state.data["kind"]))
    community = Community(id=who.community.id, slug=who.community.slug, name=who.community.name,
                          timezone=who.community.timezone, join_code="",
                          default_locale=who.community.default_locale)
    alert = Alert(id=0, community_id=who.community.id, kind=kind.value, starts_at=starts_at,
                  ends_at=starts_at + timedelta(minutes=minutes))
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
    return reprompt(who, state, intro="\n".join(lines))


def _problem_text(who: Who, code: str) -> str:
    t = who.t
    reasons = {
        "past": t.gettext("This time has already passed."),
        "duration": t.gettext("An alert lasts between 1 minute and 24 hours."),
        "overlap": t.gettext("Another alert already covers these homes at that time."),
        "cluster": t.gettext("I don't know this group of homes."),
    }
    return reasons.get(code, t.gettext("This alert cannot be planned."))
