"""Topics: a resident turns workshop invitations or news off (and on again) without
stopping alerts. STOP still stops everything."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    SetTopicMuted,
    Who,
    say,
)
from bot.flows.menu import show_menu
from bot.i18n import Translator
from core.messages import Choice, IncomingMessage
from core.topics import Topic

FLOW = "topics"
DONE = "done"


class TopicsState(FlowData):
    step: Literal["choose"] = "choose"
    muted: list[Topic] = Field(default_factory=list)


def _label(t: Translator, topic: Topic, muted: bool) -> str:
    if topic is Topic.WORKSHOPS:
        return t.gettext("Workshops: off") if muted else t.gettext("Workshops: on")
    return t.gettext("News: off") if muted else t.gettext("News: on")


def _choices(who: Who, state: TopicsState) -> tuple[Choice, ...]:
    return (*(Choice(topic.value, _label(who.t, topic, topic in state.muted))
              for topic in Topic),
            Choice(DONE, who.t.gettext("Back")))


def _changed(t: Translator, topic: Topic, muted: bool) -> str:
    if topic is Topic.WORKSHOPS:
        return t.gettext("Done: no more workshop invitations.") if muted \
            else t.gettext("Done: workshop invitations again.")
    return t.gettext("Done: no more news.") if muted else t.gettext("Done: news again.")


class Topics(BaseFlow[TopicsState]):
    name = FLOW
    State = TopicsState
    entry = MenuEntry(order=65, label=lambda t: t.gettext("Topics"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        muted = directory.muted_topics(who.contact_id) if who.contact_id is not None \
            else frozenset()
        state = TopicsState(muted=[topic for topic in Topic if topic.value in muted])
        return self.reprompt(who, state, directory)

    def reprompt(self, who: Who, state: TopicsState, directory: Directory,
                 intro: str | None = None) -> FlowResult:
        # After a change, a short question: the choices show where each topic stands.
        text = f"{intro}\n{who.t.gettext('Anything else?')}" if intro else who.t.gettext(
            "Turn a topic on or off. Alerts always come; STOP stops everything.")
        return FlowResult(replies=(say(who, text, *_choices(who, state)),),
                          state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: TopicsState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _choices(who, state), who.locale)
        if choice is None:
            return self.reprompt(who, state, directory)
        if choice.key == DONE or who.contact_id is None:
            return show_menu(who)
        topic = Topic(choice.key)
        muted = topic not in state.muted
        now_muted = [t for t in Topic if (t in state.muted) != (t is topic)]
        result = self.reprompt(who, state.model_copy(update={"muted": now_muted}), directory,
                               intro=_changed(who.t, topic, muted))
        return FlowResult(replies=result.replies, state=result.state,
                          effects=(SetTopicMuted(topic.value, muted),))


TOPICS = Topics()
