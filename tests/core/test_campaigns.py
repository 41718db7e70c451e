"""Campaign rules: which questionnaire, which audience, what progress counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from core import outbox
from core.campaigns import (
    CampaignError,
    CampaignStatus,
    campaign_audience,
    campaign_progress,
    context_of,
    create_campaign,
    dedupe_key,
    subject,
)
from core.communities import community_by_slug
from core.db import session_scope
from core.questionnaires.responses import complete_response, record_answer, start_response
from core.questionnaires.storage import create_questionnaire, new_version
from tests.fakes.community import seed_residents
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_create_resolves_questionnaire_and_audience(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        first = create_questionnaire(session, mood_definition(), NOW)
        second = new_version(session, "mood", mood_definition(extra=True), NOW)
        by_slug = create_campaign(session, community, "mood", NOW)
        assert by_slug.questionnaire_id == second.id  # a slug means its active version
        assert by_slug.status == CampaignStatus.SCHEDULED and by_slug.due_at == NOW
        pinned = create_campaign(session, community, first.id or 0, NOW, cluster="A")
        assert pinned.questionnaire_id == first.id
        arabic = create_campaign(session, community, "mood", NOW, locale="ar")
        everyone = {c.id for c, _ in campaign_audience(session, by_slug)}
        assert everyone == {r.contact_id for r in residents}
        assert {c.id for c, _ in campaign_audience(session, pinned)} == {
            r.contact_id for r in residents if r.cluster == "A"}
        assert {c.id for c, _ in campaign_audience(session, arabic)} == {
            r.contact_id for r in residents if r.locale == "ar"}
        for kwargs, reason in [({"questionnaire": "nope"}, "no questionnaire"),
                               ({"questionnaire": "mood", "cluster": "Z"}, "unknown cluster"),
                               ({"questionnaire": "mood", "locale": "de"}, "unknown language"),
                               ({"questionnaire": "mood", "reminder_delay": timedelta(0)},
                                "between")]:
            with pytest.raises(CampaignError, match=reason):
                create_campaign(session, community, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_progress_counts_sent_started_completed(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        questionnaire = create_questionnaire(session, mood_definition(), NOW)
        campaign = create_campaign(session, community, "mood", NOW)
        assert campaign.id is not None and questionnaire.id is not None
        for contact, identity in campaign_audience(session, campaign):
            assert contact.id is not None
            outbox.enqueue(session, dedupe_key=dedupe_key(campaign.id, "start", contact.id),
                           identity=identity, kind="campaign_start", payload={"text": "?"},
                           now=NOW, subject=subject(campaign.id, "start"))
            start_response(session, questionnaire.id, contact.id, context_of(campaign.id),
                           contact.locale, NOW)
        responses = [start_response(session, questionnaire.id, r.contact_id,
                                    context_of(campaign.id), r.locale, NOW)
                     for r in residents[:2]]
        assert all(r.id is not None for r in responses)
        record_answer(session, responses[0].id or 0, "mood", "good", NOW)
        complete_response(session, responses[0].id or 0, NOW)
        record_answer(session, responses[1].id or 0, "mood", "bad", NOW)
        assert campaign_progress(session, campaign.id) == {
            "sent": len(residents), "expired": 0, "started": 2, "completed": 1}
