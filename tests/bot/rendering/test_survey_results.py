"""Survey results in the facilitator's chat keep the privacy rules: at k-1 respondents nothing
about the answers, at k the counts, a chart and the free texts; only the facilitator's own
community, and staff answers do not count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.flows.base import CommunityView, Who
from bot.rendering.survey_results import survey_results_replies
from core.communities import community_by_slug, create_community
from core.db import session_scope
from core.models import Contact, Role
from core.questionnaires.responses import complete_response, record_answer, start_response
from core.questionnaires.storage import create_questionnaire
from tests.fakes.community import Resident, seed_residents
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
K = 4
ISOLATES = str.maketrans("", "", "\u2068\u2069")


def _setup(engine: Engine) -> tuple[int, list[Resident], CommunityView]:
    residents = seed_residents(engine, NOW, privacy_k=K)
    with session_scope(engine) as session:
        questionnaire = create_questionnaire(session, mood_definition(), NOW)
        community = community_by_slug(session, "echappee")
        assert questionnaire.id is not None and community is not None and community.id
        view = CommunityView(id=community.id, slug=community.slug, name=community.name,
                             timezone=community.timezone, default_locale="fr")
        return questionnaire.id, residents, view


def _answer(session: Session, questionnaire_id: int, contact_id: int, index: int) -> None:
    response = start_response(session, questionnaire_id, contact_id, "campaign:1", "fr", NOW)
    assert response.id is not None
    assert record_answer(session, response.id, "mood", "good" if index else "bad", NOW)
    assert record_answer(session, response.id, "comment", f"Mon avis n°{index}", NOW)
    assert complete_response(session, response.id, NOW)


def _texts(engine: Engine, questionnaire_id: int, community: CommunityView, locale: str
           ) -> list[str]:
    who = Who(channel="telegram", locale=locale, contact_id=999, community=community,
              role=Role.FACILITATOR)
    with session_scope(engine) as session:
        return [m.text.translate(ISOLATES)
                for m in survey_results_replies(session, who, questionnaire_id, NOW)]


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_k_minus_one_respondents_show_no_answer_and_k_show_them(engine: Engine,
                                                                 locale: str) -> None:
    questionnaire_id, residents, community = _setup(engine)
    with session_scope(engine) as session:
        for index, resident in enumerate(residents[:K - 1]):
            _answer(session, questionnaire_id, resident.contact_id, index)
        # A facilitator without a household answering does not make up the group.
        staff = Contact(community_id=community.id, locale="fr", role=Role.FACILITATOR.value)
        session.add(staff)
        session.flush()
        assert staff.id is not None
        _answer(session, questionnaire_id, staff.id, 99)

    below = _texts(engine, questionnaire_id, community, locale)
    assert len(below) == 1  # no chart
    assert str(K - 1) in below[0] and str(K) in below[0]  # "3 of 3 finished", "from 4"
    assert "Mon avis" not in below[0]
    assert f"{K}" in below[0].splitlines()[-1]  # says from how many people results show

    with session_scope(engine) as session:
        _answer(session, questionnaire_id, residents[K - 1].contact_id, K - 1)
    at = _texts(engine, questionnaire_id, community, locale)
    assert len(at) == 2  # the summary and the mood chart
    comments = [line for line in at[0].splitlines() if "Mon avis" in line]
    assert sorted(comments) == sorted(f"  \u2013 Mon avis n°{i}" for i in range(K))
    assert "Mon avis n°99" not in at[0]  # the facilitator's own answer is not counted
    assert f"Mood? ({locale})" in at[1] and str(K) in at[1]


def test_a_facilitator_sees_only_their_own_community(engine: Engine) -> None:
    questionnaire_id, residents, community = _setup(engine)
    with session_scope(engine) as session:
        for index, resident in enumerate(residents[:K]):
            _answer(session, questionnaire_id, resident.contact_id, index)
        other = create_community(session, "balai", "Coin du Balai", join_code="BAL",
                                 privacy_k=K)
        assert other.id is not None
        elsewhere = CommunityView(id=other.id, slug=other.slug, name=other.name,
                                  timezone=other.timezone, default_locale="fr")
    (summary,) = _texts(engine, questionnaire_id, elsewhere, "fr")
    assert "Mon avis" not in summary
    assert len(_texts(engine, questionnaire_id, community, "fr")) == 2
