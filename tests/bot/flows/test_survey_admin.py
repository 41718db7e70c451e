"""The facilitator survey flow (pure), its StartCampaign effect, and results with charts."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.conversation.directory import SqlDirectory
from bot.conversation.router import route
from bot.flows import survey_admin
from bot.flows.base import (
    CommunityView,
    Flow,
    FlowResult,
    FlowState,
    ShowSurveyResults,
    StartCampaign,
    Who,
)
from bot.rendering.survey_results import (
    apply_campaign_effect,
    survey_results_replies,
)
from core.campaigns import Campaign
from core.config import SUPPORTED_LOCALES
from core.db import session_scope
from core.media import load_png
from core.messages import IncomingMessage
from core.models import Contact, Role
from core.questionnaires.responses import complete_response, record_answer, start_response
from core.questionnaires.storage import create_questionnaire
from tests.fakes.community import seed_residents
from tests.fakes.directory import MemoryDirectory
from tests.fakes.surveys import mood_definition, texts

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
COMMUNITY = CommunityView(id=1, slug="echappee", name="L'Échappée", timezone="Europe/Brussels",
                          default_locale="fr")


@dataclass
class FakeDirectory(MemoryDirectory):
    clusters: tuple[str, ...] = ("A", "B")
    locales: tuple[str, ...] = ("ar", "fr", "nl")
    sizes: dict[tuple[str | None, str | None], int] = field(default_factory=lambda: {
        (None, None): 6, ("A", None): 3, (None, "ar"): 2})

    def survey_questionnaires(self) -> tuple[tuple[int, dict[str, str]], ...]:
        return ((7, texts("Mood")), (8, texts("Heating")))

    def cluster_names(self, community_id: int) -> tuple[str, ...]:
        return self.clusters

    def audience_locales(self, community_id: int, cluster: str | None) -> tuple[str, ...]:
        return self.locales

    def survey_audience_size(self, community_id: int, cluster: str | None,
                             locale: str | None) -> int:
        return self.sizes.get((cluster, locale), 0)


def facilitator(locale: str = "fr") -> Who:
    return Who(channel="sms", locale=locale, contact_id=1, community=COMMUNITY,
               role=Role.FACILITATOR)


def _message(text: str, choice_key: str | None = None) -> IncomingMessage:
    return IncomingMessage("sms", "+32", text, "p", choice_key=choice_key)


def _say(result: FlowResult, text: str, who: Who, directory: FakeDirectory) -> FlowResult:
    return route(_message(text), who, result.state, directory)


def _start(flow: Flow[Any], who: Who, directory: FakeDirectory) -> FlowResult:
    return flow.start(_message("menu"), who, directory)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_send_to_whole_community_cluster_and_language(locale: str) -> None:
    who, directory = facilitator(locale), FakeDirectory()
    start = _start(survey_admin.SEND_SURVEY, who, directory)
    assert start.state.step == "pick"
    assert [c.label for c in start.replies[0].choices] == [f"Mood ({locale})",
                                                           f"Heating ({locale})"]
    audience = _say(start, "1", who, directory)
    assert audience.state.step == "audience" and len(audience.replies[0].choices) == 3
    whole = _say(audience, "1", who, directory)
    assert whole.state.step == "confirm" and "6" in whole.replies[0].text
    sent = _say(whole, "1", who, directory)
    assert sent.effects == (StartCampaign(7, None, None),)
    assert sent.state.flow == "menu"

    cluster = _say(_say(audience, "2", who, directory), "1", who, directory)
    assert cluster.state.step == "confirm" and "3" in cluster.replies[0].text
    assert _say(cluster, "1", who, directory).effects == (StartCampaign(7, "A", None),)

    language = _say(audience, "3", who, directory)
    assert language.state.step == "language" and len(language.replies[0].choices) == 3
    arabic = _say(language, "1", who, directory)
    assert _say(arabic, "1", who, directory).effects == (StartCampaign(7, None, "ar"),)
    cancelled = _say(arabic, "2", who, directory)
    assert cancelled.effects == () and cancelled.state.flow == "menu"


def test_invalid_replies_reprompt_and_empty_audience() -> None:
    who, directory = facilitator(), FakeDirectory()
    start = _start(survey_admin.SEND_SURVEY, who, directory)
    again = _say(start, "9", who, directory)
    assert again.state == start.state and again.effects == ()
    audience = _say(start, "2", who, directory)
    nobody = _say(_say(audience, "2", who, directory), "2", who, directory)  # cluster B: 0
    assert nobody.state.step == "audience" and nobody.effects == ()


def test_results_pick_asks_for_results() -> None:
    who, directory = facilitator("nl"), FakeDirectory()
    picked = _say(_start(survey_admin.SURVEY_RESULTS, who, directory), "2", who, directory)
    assert picked.effects == (ShowSurveyResults(8),)


def test_residents_never_get_in() -> None:
    resident = Who(channel="sms", locale="fr", contact_id=2, community=COMMUNITY)
    directory = FakeDirectory()
    at_menu = route(_message("menu"), resident, FlowState(), directory)
    assert "send_survey" not in [c.key for c in at_menu.replies[0].choices]
    pressed = route(_message("", choice_key="send_survey"), resident, at_menu.state, directory)
    assert pressed.state.flow == "menu" and pressed.effects == ()
    state = FlowState(survey_admin.SEND, "confirm", {"questionnaire_id": 7, "count": 6})
    sneaky = route(_message("1"), resident, state, directory)
    assert sneaky.effects == () and sneaky.state.flow == "menu"
    # The same state answers a facilitator.
    assert route(_message("1"), facilitator(), state, directory).effects == (
        StartCampaign(7, None, None),)


def _answered(engine: Engine) -> tuple[int, list[int]]:
    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        questionnaire = create_questionnaire(session, mood_definition(), NOW)
        assert questionnaire.id is not None
        for index, resident in enumerate(residents):
            response = start_response(session, questionnaire.id, resident.contact_id, "x",
                                      resident.locale, NOW)
            assert response.id is not None
            record_answer(session, response.id, "mood", "good" if index % 3 else "bad", NOW)
            if index == 0:
                record_answer(session, response.id, "comment", "Plus de panneaux !", NOW)
            if index < 4:
                complete_response(session, response.id, NOW)
        return questionnaire.id, [r.contact_id for r in residents]


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_results_summary_and_charts(engine: Engine, locale: str) -> None:
    questionnaire_id, _ = _answered(engine)
    who = facilitator(locale)
    with session_scope(engine) as session:
        replies = survey_results_replies(session, who, questionnaire_id, NOW)
        assert "4" in replies[0].text and "6" in replies[0].text
        # One comment: fewer than k = 5 writers, so not shown, not even to a facilitator.
        assert "Plus de panneaux !" not in replies[0].text
        assert len(replies) == 2  # one choice question → one chart
        chart = replies[1]
        assert f"Mood? ({locale})" in chart.text and f"good ({locale})" in chart.text
        png = load_png(session, chart.extra["image_token"], NOW)
        assert png is not None and len(png) <= 150 * 1024
        assert Image.open(io.BytesIO(png)).format == "PNG"
        resident = Who(channel="sms", locale=locale, contact_id=2, community=COMMUNITY)
        assert survey_results_replies(session, resident, questionnaire_id, NOW) == []


def test_campaign_effect_and_directory(engine: Engine) -> None:
    questionnaire_id, contact_ids = _answered(engine)
    with session_scope(engine) as session:
        directory = SqlDirectory(session)
        assert [qid for qid, _ in directory.survey_questionnaires()] == [questionnaire_id]
        assert directory.cluster_names(1) == ("A", "B")
        assert directory.survey_audience_size(1, None, None) == len(contact_ids)
        assert directory.survey_audience_size(1, "A", None) == 3
        assert directory.survey_audience_size(1, None, "ar") == 2
        contact = session.get(Contact, contact_ids[0])
        assert contact is not None
        effect = StartCampaign(questionnaire_id, "A", None)
        assert apply_campaign_effect(session, contact, effect, NOW) is None  # a resident
        contact.role = "facilitator"
        campaign = apply_campaign_effect(session, contact, effect, NOW)
        assert campaign is not None and campaign.created_by == contact.id
        assert apply_campaign_effect(session, contact, StartCampaign(999), NOW) is None
        assert len(session.exec(select(Campaign)).all()) == 1
