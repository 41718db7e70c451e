"""When the consent text changes version, members are asked again at their next message, and
nothing else happens until they answer (STOP still stops)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.flows.base import Who
from core.config import Settings, get_settings
from core.models import Contact
from tests.bot.flows.conversation import CONTACT_ID, Conversation, member
from tests.fakes.directory import DEMO

NEW_VERSION = "2099-01.1"
LOCALES = ("fr", "nl", "en", "ar", "es")
YES = {"fr": "oui", "nl": "ja", "en": "yes", "ar": "نعم", "es": "sí"}


def _after_a_new_text(conversation: Conversation) -> Conversation:
    conversation.settings = Settings(_env_file=None,  # type: ignore[call-arg]
                                     consent_version=NEW_VERSION)
    return conversation


def _contact(conversation: Conversation) -> Contact:
    with Session(conversation.engine) as session:
        contact = session.get(Contact, CONTACT_ID)
        assert contact is not None
        return contact


@pytest.mark.parametrize("locale", LOCALES)
def test_a_member_is_asked_again_then_goes_on(locale: str) -> None:
    conversation = _after_a_new_text(member(locale, channel="terminal"))
    asked = conversation.says("1")
    assert conversation.state.flow == "reconsent"
    assert "yes" in conversation.choice_keys and "erase" in conversation.choice_keys
    assert len(asked) == 1
    conversation.says("MENU")  # anything else: asked again, nothing done
    assert conversation.state.flow == "reconsent"
    conversation.says(YES[locale])
    contact = _contact(conversation)
    assert contact.consent_version == NEW_VERSION
    assert conversation.state.flow != "reconsent"
    conversation.says("1")  # now the menu works as before
    assert conversation.state.flow != "reconsent"


@pytest.mark.parametrize("locale", ("fr", "ar"))
def test_by_sms_the_question_comes_last_in_its_own_message(locale: str) -> None:
    conversation = _after_a_new_text(member(locale, channel="sms"))
    replies = conversation.says("bonjour")
    assert len(replies) == 2 and replies[-1].choices


def test_no_means_no_more_messages() -> None:
    conversation = _after_a_new_text(member("en", channel="terminal"))
    conversation.says("hello")
    conversation.says("no")
    assert _contact(conversation).opted_out_at is not None
    assert _contact(conversation).consent_version == get_settings().consent_version


def test_stop_still_stops() -> None:
    conversation = _after_a_new_text(member("fr", channel="sms"))
    conversation.says("1")
    conversation.says("STOP")
    assert _contact(conversation).opted_out_at is not None


def test_erase_goes_through_to_its_end() -> None:
    conversation = _after_a_new_text(member("en", channel="terminal"))
    conversation.says("hello")
    conversation.says("", choice_key="erase")
    assert conversation.state.flow == "forget_me"
    confirm = conversation.choice_keys[0]
    conversation.says("", choice_key=confirm)
    with Session(conversation.engine) as session:
        assert session.get(Contact, CONTACT_ID) is None


def test_members_of_todays_text_are_not_asked() -> None:
    conversation = Conversation(who=Who(channel="terminal", locale="en",
                                        contact_id=CONTACT_ID, community=DEMO))
    conversation.says("hello")
    assert conversation.state.flow != "reconsent"
