"""Linking a member's home with the household code their facilitator gave them.

Asked at enrolment (where it can be skipped), and at any time later: the code sent on its
own ("MAISON05"), after the join code ("JOIN VOISINS MAISON05"), or through "Link my home"
in "My data".
"""

from __future__ import annotations

import re
from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    BaseFlow,
    Directory,
    FlowData,
    FlowResult,
    HouseholdView,
    LinkHousehold,
    Who,
    say,
)
from bot.flows.menu import show_menu
from bot.i18n.keywords import command_and_argument, fold, global_word, is_skip, parse_number
from core.messages import Choice, IncomingMessage

FLOW = "link_home"
SKIP: Literal["skip"] = "skip"
# After this many unknown household codes we stop asking: the facilitator can link later.
HOUSEHOLD_CODE_TRIES = 2
MAX_CODE_LENGTH = 32
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


class LinkHomeState(FlowData):
    step: Literal["code"] = "code"
    tries: int = 0


def skip_choice(who: Who) -> Choice:
    return Choice(SKIP, who.t.gettext("Skip"))


def ask_text(who: Who) -> str:
    return who.t.gettext(
        "If your facilitator gave you a household code, type it now. Otherwise, choose Skip."
    )


def read_code(message: IncomingMessage, who: Who, community_id: int, directory: Directory
              ) -> HouseholdView | Literal["skip"] | None:
    """The household a typed code names, "skip", or None for a code nobody has."""
    if match_choice(message, (skip_choice(who),), who.locale) is not None \
            or is_skip(message.text):
        return SKIP
    code = fold(message.text).upper()
    if not 0 < len(code) <= MAX_CODE_LENGTH:
        return None
    return directory.household_by_code(community_id, code)


def _looks_like_code(code: str) -> bool:
    return 3 <= len(code) <= MAX_CODE_LENGTH and " " not in code \
        and parse_number(code) is None and global_word(code) is None


def household_sent_alone(message: IncomingMessage, who: Who, directory: Directory
                         ) -> HouseholdView | None:
    """A member with no home linked sent a household code of their community on its own."""
    if message.choice_key or who.community is None or who.household is not None:
        return None
    code = fold(message.text).upper()
    if not _looks_like_code(code):
        return None
    return directory.household_by_code(who.community.id, code)


def household_after_join_code(message: IncomingMessage, who: Who, directory: Directory
                              ) -> HouseholdView | None:
    """"JOIN VOISINS MAISON05" from a member with no home linked: the household code."""
    if message.choice_key or who.community is None or who.household is not None:
        return None
    words = command_and_argument(message.text)[1].split()
    if len(words) < 2:
        return None
    code = _EDGE_PUNCTUATION.sub("", fold(words[1])).upper()
    if not _looks_like_code(code):
        return None
    return directory.household_by_code(who.community.id, code)


def linked(who: Who, household: HouseholdView) -> FlowResult:
    done = who.t.gettext("Done: your home is linked ({household}).", household=household.ref)
    result = show_menu(who, intro=done)
    return FlowResult(replies=result.replies, state=result.state,
                      effects=(LinkHousehold(household.id),))


class LinkHome(BaseFlow[LinkHomeState]):
    name = FLOW
    State = LinkHomeState

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.reprompt(who, LinkHomeState(), directory)

    def reprompt(self, who: Who, state: LinkHomeState, directory: Directory) -> FlowResult:
        return FlowResult(replies=(say(who, ask_text(who), skip_choice(who)),),
                          state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: LinkHomeState,
             directory: Directory) -> FlowResult:
        if who.community is None:
            return show_menu(who)
        found = read_code(message, who, who.community.id, directory)
        if found == SKIP:
            return show_menu(who)
        if isinstance(found, HouseholdView):
            return linked(who, found)
        tries = state.tries + 1
        if tries >= HOUSEHOLD_CODE_TRIES:
            return show_menu(who, intro=who.t.gettext(
                "No worries: your facilitator can link your home later."))
        text = who.t.gettext("I don't know this household code. Try again, or choose Skip.")
        return FlowResult(replies=(say(who, text, skip_choice(who)),),
                          state=self.keep(LinkHomeState(tries=tries)))


LINK_HOME = LinkHome()
