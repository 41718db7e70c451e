"""Staff invitations in the chat: a code sent with the residents' words (``JOIN CODE``,
``/start CODE``) makes its sender a facilitator or technician of that community once they
confirm (a newcomer confirms by consenting, ``bot/flows/enrolment.py``; a member of the
community answers "Accept?" here); and a facilitator makes a code for another facilitator
from the menu ("Invite a facilitator": the inbox makes the code, ``CreateStaffInvite``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    FACILITATORS,
    BaseFlow,
    ClaimStaffInvite,
    CreateStaffInvite,
    Directory,
    FlowData,
    FlowResult,
    MenuEntry,
    StaffInviteView,
    Who,
    say,
)
from bot.flows.menu import OneAnswerFlow, menu_after, show_menu
from core.messages import Choice, IncomingMessage
from core.models import Role

FLOW = "staff_invite"
INVITE_FLOW = "invite_facilitator"


def unusable(who: Who) -> str:
    return who.t.gettext("This invitation code has expired or was already used. Please ask "
                         "the person who invited you for a new one.")


def you_are_now(who: Who, role: Role, community: str) -> str:
    """Said once the role is taken (after "Thank you!" for a newcomer)."""
    if role is Role.TECHNICIAN:
        return who.t.gettext("You are now a technician of {community}.", community=community)
    return who.t.gettext("You are now a facilitator of {community}.", community=community)


def _question(who: Who, role: Role, community: str) -> str:
    if role is Role.TECHNICIAN:
        return who.t.gettext("This code makes you a technician of {community}. Do you accept?",
                             community=community)
    return who.t.gettext("This code makes you a facilitator of {community}. Do you accept?",
                         community=community)


def _yes_no(who: Who) -> tuple[Choice, Choice]:
    return (Choice("yes", who.t.gettext("Yes")), Choice("no", who.t.gettext("No")))


class StaffInviteState(FlowData):
    step: Literal["confirm"] = "confirm"
    code: str
    community_name: str
    role: Role


def member_sent(invite: StaffInviteView, who: Who) -> FlowResult:
    """A member sent a staff code: refused kindly, or asked to confirm."""
    if not invite.usable:
        return show_menu(who, intro=unusable(who))
    if who.community is None or invite.community_id != who.community.id:
        mine = who.community.name if who.community else ""
        return show_menu(who, intro=who.t.gettext(
            "This invitation is for another community than yours ({community}). Please ask "
            "the person who invited you.", community=mine))
    if who.role is invite.role:
        return show_menu(who, intro=you_are_now(who, invite.role, invite.community_name))
    return STAFF_INVITE.reprompt(who, StaffInviteState(
        code=invite.code, community_name=invite.community_name, role=invite.role), None)


class StaffInvitation(BaseFlow[StaffInviteState]):
    """"Do you accept?" for a member who sent a staff code (reached by the code only)."""

    name = FLOW
    State = StaffInviteState

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return show_menu(who)

    def reprompt(self, who: Who, state: StaffInviteState, directory: Directory | None
                 ) -> FlowResult:
        text = _question(who, state.role, state.community_name)
        return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: StaffInviteState,
             directory: Directory) -> FlowResult:
        choice = match_choice(message, _yes_no(who), who.locale)
        if choice is None:
            text = who.t.gettext("Please answer yes or no.")
            return FlowResult(replies=(say(who, text, *_yes_no(who)),), state=self.keep(state))
        if choice.key == "no":
            return show_menu(who, intro=who.t.gettext("Nothing has changed."))
        # The menu of the new role; the inbox replaces it if the code was used meanwhile.
        result = show_menu(replace(who, role=state.role),
                           intro=you_are_now(who, state.role, state.community_name))
        return FlowResult(replies=result.replies, state=result.state,
                          effects=(ClaimStaffInvite(state.code),))


STAFF_INVITE = StaffInvitation()


class InviteFacilitator(OneAnswerFlow):
    """A one-use code, valid 7 days, for another facilitator of the same community."""

    name = INVITE_FLOW
    roles = FACILITATORS
    entry = MenuEntry(order=45, label=lambda t: t.gettext("Invite a facilitator"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        closing = menu_after(who)
        return FlowResult(replies=closing.replies, state=closing.state,
                          effects=(CreateStaffInvite(Role.FACILITATOR),))


INVITE_FACILITATOR = InviteFacilitator()


def invite_text(who: Who, code: str, community: str) -> str:
    """What the inviting facilitator gets: the code and the words to send it with."""
    return who.t.gettext(
        "A code for a new facilitator of {community}, for one person, valid 7 days: {code}\n"
        "They send JOIN {code} by SMS or WhatsApp, or /start {code} on Telegram.",
        community=community, code=code)
