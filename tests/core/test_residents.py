"""Staff are not residents: facilitators and technicians are left out of alert and survey
audiences and of response rates, unless they also linked a household of their own."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.conversation.directory import SqlDirectory
from core.alerts import audience_for
from core.campaigns import campaign_audience, campaign_progress, context_of, create_campaign
from core.communities import add_household, community_by_slug
from core.contacts import enrol_contact
from core.db import session_scope
from core.demo import seed_demo
from core.identities import touch_identity
from core.models import Cluster, Contact, Role
from core.questionnaires.responses import complete_response, record_answer, start_response
from core.questionnaires.storage import create_questionnaire
from core.residents import is_resident
from tests.fakes.community import CONSENT, seed_residents
from tests.fakes.surveys import mood_definition

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _staff(engine: Engine) -> tuple[int, int]:
    """A facilitator without a household, a technician who lives in cluster A."""
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        ids = []
        for address, role in (("+32470000100", Role.FACILITATOR), ("+32470000101",
                                                                    Role.TECHNICIAN)):
            identity = touch_identity(session, "sms", address, NOW)
            contact = enrol_contact(session, identity, community.id, "fr", CONSENT, NOW,
                                    role=role)
            assert contact.id is not None
            ids.append(contact.id)
        cluster = session.exec(select(Cluster).where(Cluster.name == "A")).one()
        home = add_household(session, community, "T1", cluster)
        technician = session.get(Contact, ids[1])
        assert technician is not None
        technician.household_id = home.id
        session.add(technician)
        return ids[0], ids[1]


def test_alert_audiences_leave_staff_out_unless_they_live_there(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    facilitator, technician = _staff(engine)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None and community.id is not None
        everyone = {contact.id for contact, _ in audience_for(session, community.id, None)}
        assert everyone == {r.contact_id for r in residents} | {technician}
        cluster_a = session.exec(select(Cluster).where(Cluster.name == "A")).one()
        in_a = {contact.id for contact, _ in audience_for(session, community.id, cluster_a.id)}
        assert technician in in_a and facilitator not in in_a
        contacts = {c.id: c for c in session.exec(select(Contact))}
        assert not is_resident(contacts[facilitator]) and is_resident(contacts[technician])


def test_survey_audiences_and_response_rates_count_residents_only(engine: Engine) -> None:
    residents = seed_residents(engine, NOW)
    facilitator, technician = _staff(engine)
    with session_scope(engine) as session:
        community = community_by_slug(session, "echappee")
        assert community is not None
        questionnaire = create_questionnaire(session, mood_definition(), NOW)
        assert questionnaire.id is not None
        campaign = create_campaign(session, community, "mood", NOW)
        assert campaign.id is not None
        audience = {contact.id for contact, _ in campaign_audience(session, campaign)}
        assert facilitator not in audience and technician in audience
        assert len(audience) == len(residents) + 1
        # The facilitator tries the survey anyway: their answers are no part of the rate.
        for contact_id in (facilitator, residents[0].contact_id):
            response = start_response(session, questionnaire.id, contact_id,
                                      context_of(campaign.id), "fr", NOW)
            assert response.id is not None
            record_answer(session, response.id, "mood", "good", NOW)
            complete_response(session, response.id, NOW)
        assert campaign_progress(session, campaign.id) == {"sent": 0, "started": 1,
                                                           "completed": 1, "expired": 0}


def test_a_new_community_with_only_staff_has_no_households_to_alert(engine: Engine) -> None:
    with session_scope(engine) as session:
        demo = seed_demo(session)  # a facilitator and a technician, no resident yet
        assert demo.id is not None
        directory = SqlDirectory(session, NOW)
        # The plan-an-alert preview said "for 2 households" here.
        assert directory.audience_size(demo.id, None) == 0
        assert directory.survey_audience_size(demo.id, None, None) == 0
        assert directory.audience_locales(demo.id, None) == ()
