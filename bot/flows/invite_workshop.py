"""A facilitator invites to a workshop in chat: title, when (read as when planning an alert),
where, capacity, who, then a preview of the invitation in every language the audience reads,
how many people per channel and about how long sending takes, confirm or cancel.

The title is written in the facilitator's language; residents reading another language get
it inside a frame (date, time, place, the answers) in theirs. The workshop lasts two hours
unless changed later through the API; those who muted workshop invitations are not counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from bot.conversation.choices import match_choice
from bot.flows.audience_choices import WHOLE_COMMUNITY, audience_choices, confirm_choices
from bot.flows.base import (
    FACILITATORS,
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    InviteToWorkshop,
    MenuEntry,
    Who,
    say,
)
from bot.flows.fanout_preview import reach_line
from bot.flows.menu import show_menu
from bot.flows.when_parsing import parse_when
from bot.flows.workshop import answer_choices
from bot.i18n import translator
from bot.i18n.keywords import parse_number
from bot.rendering.workshops import frame
from core.messages import Choice, IncomingMessage
from core.topics import Topic
from core.workshop_tables import Workshop
from core.workshops import MAX_CAPACITY, MAX_PLACE, MAX_TITLE

FLOW = "invite_workshop"
NO_LIMIT = "none"
# A workshop from the chat lasts this long (the API can set another end).
LENGTH = timedelta(hours=2)


class InviteState(FlowData):
    step: Literal["title", "when", "where", "capacity", "audience", "confirm"] = "title"
    title: str | None = None
    starts_at: datetime | None = None
    place: str | None = None
    capacity: int | None = None
    clusters: list[str] = Field(default_factory=list)
    cluster: str | None = None


def _capacity_choices(who: Who) -> tuple[Choice, ...]:
    return (Choice(NO_LIMIT, who.t.gettext("No limit")),)


class InviteToWorkshopFlow(BaseFlow[InviteState]):
    name = FLOW
    State = InviteState
    roles = FACILITATORS
    entry = MenuEntry(order=25, label=lambda t: t.gettext("Invite to a workshop"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, InviteState(), directory)

    def reprompt(self, who: Who, state: InviteState, directory: Directory,
                 intro: str | None = None) -> FlowResult:
        t = who.t
        choices: tuple[Choice, ...] = ()
        if state.step == "when":
            text = t.gettext("When does it start? For example: tomorrow 18:00, or 3/12 17:30.")
        elif state.step == "where":
            text = t.gettext("Where? For example: the community room, 2nd floor.")
        elif state.step == "capacity":
            text = t.gettext("How many places? Send a number, or choose no limit.")
            choices = _capacity_choices(who)
        elif state.step == "audience":
            text, choices = t.gettext("Who is it for?"), audience_choices(who, state.clusters)
        elif state.step == "confirm":
            text, choices = t.gettext("Send this invitation?"), confirm_choices(who)
        else:
            text = t.gettext("What is the workshop called? (in one line)")
        if intro:
            text = f"{intro}\n{text}"
        return FlowResult(replies=(say(who, text, *choices),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: InviteState,
             directory: Directory) -> FlowResult:
        if who.community is None:
            return show_menu(who)
        t = who.t
        text = message.text.strip()
        if state.step == "title":
            if not text or message.choice_key is not None or len(text) > MAX_TITLE:
                return self.reprompt(who, state, directory, intro=t.gettext(
                    "A title of at most {count} characters, please.", count=MAX_TITLE)
                    if text else None)
            return self.reprompt(who, state.model_copy(update={"step": "when",
                                                               "title": text}), directory)
        if state.step == "when":
            received = message.received_at or datetime.now().astimezone()
            when = parse_when(message.text, received, who.community.timezone)
            if when is None:
                return self.reprompt(who, state, directory,
                                     intro=t.gettext("Sorry, I could not read that date."))
            if when <= received:
                return self.reprompt(who, state, directory,
                                     intro=t.gettext("This time has already passed."))
            return self.reprompt(who, state.model_copy(update={"step": "where",
                                                               "starts_at": when}), directory)
        if state.step == "where":
            if not text or message.choice_key is not None or len(text) > MAX_PLACE:
                return self.reprompt(who, state, directory)
            return self.reprompt(who, state.model_copy(update={"step": "capacity",
                                                               "place": text}), directory)
        if state.step == "capacity":
            choice = match_choice(message, _capacity_choices(who), who.locale)
            number = None if message.choice_key else parse_number(text)
            if choice is not None and (number is None or number == 1):
                # "1" typed is the one choice shown (no limit), as on every numbered list.
                capacity = None
            elif number is not None and 2 <= number <= MAX_CAPACITY:
                capacity = number
            else:
                return self.reprompt(who, state, directory)
            clusters = list(directory.cluster_names(who.community.id))
            chosen = state.model_copy(update={"capacity": capacity, "clusters": clusters})
            if not clusters:
                return _preview(who, chosen.model_copy(update={"step": "confirm"}), directory)
            return self.reprompt(who, chosen.model_copy(update={"step": "audience"}),
                                 directory)
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
        if choice.key == "no" or state.title is None or state.starts_at is None \
                or state.place is None:
            return show_menu(who, intro=t.gettext("Nothing was sent."))
        effect = InviteToWorkshop(title=state.title, locale=who.locale,
                                  starts_at=state.starts_at.isoformat(),
                                  ends_at=(state.starts_at + LENGTH).isoformat(),
                                  place=state.place, capacity=state.capacity,
                                  cluster=state.cluster)
        result = show_menu(who, intro=t.gettext("Sending now. I will tell you how it goes."))
        return FlowResult(replies=result.replies, state=result.state, effects=(effect,))


INVITE_TO_WORKSHOP = InviteToWorkshopFlow()


def invitation_preview(title: str, author_locale: str, starts_at: datetime, place: str,
                       timezone: str, locale: str) -> str:
    """The invitation as a reader of ``locale`` gets it (the scheduler's wording, see
    ``bot.rendering.workshops``), with the answers it offers."""
    t = translator(locale)
    draft = Workshop(id=0, community_id=0, title={author_locale: title},
                     author_locale=author_locale, place=place, starts_at=starts_at,
                     ends_at=starts_at + LENGTH)
    answers = " / ".join(choice.label for choice in answer_choices(t, 0))
    return "\n".join([t.gettext("Voisins: you are invited!"), frame(draft, timezone, locale),
                      t.gettext("Will you come?"), answers])


def _preview(who: Who, state: InviteState, directory: Directory) -> FlowResult:
    assert who.community is not None
    t = who.t
    if state.title is None or state.starts_at is None or state.place is None:
        return INVITE_TO_WORKSHOP.reprompt(who, InviteState(), directory)
    audience = directory.fanout_audience(who.community.id, state.cluster,
                                         Topic.WORKSHOPS.value)
    if audience.people == 0:
        return show_menu(who, intro=t.gettext(
            "Nobody would receive it: no resident here gets workshop invitations. "
            "Nothing was sent."))
    lines = [reach_line(t, audience), t.gettext("Residents will read:")]
    for locale in audience.locales:
        lines.append(f"[{locale}] " + invitation_preview(
            state.title, who.locale, state.starts_at, state.place, who.community.timezone,
            locale))
    return INVITE_TO_WORKSHOP.reprompt(who, state, directory, intro="\n".join(lines))
