"""A facilitator sends news in chat: the text (in their language), who it is for, then a
preview in every language the audience reads, how many people per channel and how long it
takes to send, confirm or cancel. Residents whose language differs read the facilitator's
text in a frame in their own language; those who muted news are not counted."""

from __future__ import annotations

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
    MenuEntry,
    SendBroadcast,
    Who,
    say,
)
from bot.flows.fanout_preview import reach_line
from bot.flows.menu import show_menu
from bot.rendering.broadcasts import preview_lines
from core.broadcasts import MAX_TEXT
from core.messages import Choice, IncomingMessage
from core.topics import Topic

FLOW = "send_news"


class SendNewsState(FlowData):
    step: Literal["text", "audience", "confirm"] = "text"
    text: str | None = None
    clusters: list[str] = Field(default_factory=list)
    cluster: str | None = None


class SendNews(BaseFlow[SendNewsState]):
    name = FLOW
    State = SendNewsState
    roles = FACILITATORS
    entry = MenuEntry(order=27, label=lambda t: t.gettext("Send news"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, SendNewsState(), directory)

    def reprompt(self, who: Who, state: SendNewsState, directory: Directory,
                 intro: str | None = None) -> FlowResult:
        t = who.t
        choices: tuple[Choice, ...] = ()
        if state.step == "audience":
            text, choices = t.gettext("Who is it for?"), audience_choices(who, state.clusters)
        elif state.step == "confirm":
            text, choices = t.gettext("Send this news?"), confirm_choices(who)
        else:
            text = t.gettext("Write the news in one message (at most {count} characters). "
                             "Residents who read another language get it with a line in "
                             "theirs.", count=MAX_TEXT)
        if intro:
            text = f"{intro}\n{text}"
        return FlowResult(replies=(say(who, text, *choices),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: SendNewsState,
             directory: Directory) -> FlowResult:
        if who.community is None:
            return show_menu(who)
        t = who.t
        if state.step == "text":
            text = message.text.strip()
            if not text or message.choice_key is not None:
                return self.reprompt(who, state, directory)
            if len(text) > MAX_TEXT:
                return self.reprompt(who, state, directory, intro=t.gettext(
                    "That is {count} characters: please make it shorter.", count=len(text)))
            clusters = list(directory.cluster_names(who.community.id))
            chosen = state.model_copy(update={"text": text, "clusters": clusters})
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
        if choice.key == "no" or state.text is None:
            return show_menu(who, intro=t.gettext("Nothing was sent."))
        done = t.gettext("Sending now. I will tell you how it goes.")
        result = show_menu(who, intro=done)
        return FlowResult(replies=result.replies, state=result.state, effects=(
            SendBroadcast(text=state.text, locale=who.locale, cluster=state.cluster),))


SEND_NEWS = SendNews()


def _preview(who: Who, state: SendNewsState, directory: Directory) -> FlowResult:
    assert who.community is not None and state.text is not None
    t = who.t
    audience = directory.fanout_audience(who.community.id, state.cluster, Topic.NEWS.value)
    if audience.people == 0:
        return show_menu(who, intro=t.gettext(
            "Nobody would receive it: no resident here gets news. Nothing was sent."))
    lines = [reach_line(t, audience), t.gettext("Residents will read:"),
             *preview_lines({who.locale: state.text}, who.locale, who.community.name,
                            audience.locales)]
    return SEND_NEWS.reprompt(who, state, directory, intro="\n".join(lines))
