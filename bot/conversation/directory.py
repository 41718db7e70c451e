"""The database-backed ``Directory`` the flows read through."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.flows.base import (
    AudienceView,
    ChannelReach,
    CommunityView,
    HouseholdView,
    InvitationView,
    StaffInviteView,
    StoredFacts,
)
from bot.outbound.estimate import estimate, send_rates
from core.alerts import AlertPlanError, audience_for, check_plan, cluster_id_by_name
from core.audience import AudienceError, AudienceSpec, resolve_audience
from core.clock import utc_now
from core.communities import community_by_join_code, household_by_code
from core.config import Settings, get_settings
from core.gesture_chat import (
    CommitmentView,
    GestureView,
    catalogue_views,
    commitment_views,
    offer_alert_after,
)
from core.gestures import exercise_suggestions
from core.metering import Meter
from core.models import Cluster, Community
from core.personal_data import stored_facts
from core.questionnaires.definition import Definition
from core.questionnaires.storage import SqlQuestionnaires, list_questionnaires
from core.staff import InviteStatus, invite_view
from core.topics import Topic, muted_topics
from core.workshops import invitations_of, text_for


def community_view(community: Community) -> CommunityView:
    assert community.id is not None
    return CommunityView(id=community.id, slug=community.slug, name=community.name,
                         timezone=community.timezone, default_locale=community.default_locale)


class SqlDirectory:
    def __init__(self, session: Session, now: datetime | None = None,
                 settings: Settings | None = None) -> None:
        self.session = session
        self.now = now or utc_now()
        self.settings = settings
        self._questionnaires = SqlQuestionnaires(session)

    def community_by_join_code(self, code: str) -> CommunityView | None:
        community = community_by_join_code(self.session, code)
        return community_view(community) if community else None

    def household_by_code(self, community_id: int, code: str) -> HouseholdView | None:
        household = household_by_code(self.session, code, community_id=community_id)
        if household is None or household.id is None:
            return None
        return HouseholdView(id=household.id, ref=household.ref)

    def stored_facts(self, contact_id: int) -> StoredFacts | None:
        return stored_facts(self.session, contact_id)

    def staff_invite(self, code: str) -> StaffInviteView | None:
        invite = invite_view(self.session, code, self.now)
        if invite is None:
            return None
        return StaffInviteView(code=invite.code, community_id=invite.community_id,
                               community_name=invite.community_name, role=invite.role,
                               usable=invite.status is InviteStatus.VALID)

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        return self._questionnaires.questionnaire(questionnaire_id)

    def survey_questionnaires(self) -> tuple[tuple[int, dict[str, str]], ...]:
        return tuple((row.id, dict(row.title)) for row in
                     list_questionnaires(self.session, active_only=True) if row.id is not None)

    def survey_audience_size(self, community_id: int, cluster: str | None,
                             locale: str | None) -> int:
        people = audience_for(self.session, community_id, self._cluster_id(community_id, cluster))
        return sum(1 for contact, _ in people if locale is None or contact.locale == locale)

    def household_has_meter(self, household_id: int) -> bool:
        return self.session.exec(select(Meter.id).where(
            Meter.household_id == household_id)).first() is not None

    def cluster_names(self, community_id: int) -> tuple[str, ...]:
        rows = self.session.exec(select(Cluster.name).where(
            Cluster.community_id == community_id).order_by(col(Cluster.name))).all()
        return tuple(rows)

    def _cluster_id(self, community_id: int, cluster: str | None) -> int | None:
        return cluster_id_by_name(self.session, community_id, cluster) if cluster else None

    def audience_locales(self, community_id: int, cluster: str | None) -> tuple[str, ...]:
        people = audience_for(self.session, community_id, self._cluster_id(community_id, cluster))
        return tuple(sorted({contact.locale for contact, _ in people}))

    def audience_size(self, community_id: int, cluster: str | None) -> int:
        people = audience_for(self.session, community_id, self._cluster_id(community_id, cluster))
        return len({contact.household_id or -(contact.id or 0) for contact, _ in people})

    def alert_plan_problem(self, community_id: int, starts_at: datetime, duration_minutes: int,
                           cluster: str | None) -> str | None:
        community = self.session.get(Community, community_id)
        if community is None:
            return "invalid"
        try:
            check_plan(self.session, community, starts_at=starts_at,
                       duration_minutes=duration_minutes, now=self.now, cluster_name=cluster)
        except AlertPlanError as exc:
            return exc.code
        return None

    def exercise_suggestions(self, contact_id: int, slugs: tuple[str, ...]
                             ) -> tuple[tuple[str, dict[str, str]], ...]:
        return exercise_suggestions(self.session, contact_id, slugs)

    def fanout_audience(self, community_id: int, cluster: str | None, topic: str
                        ) -> AudienceView:
        try:
            people = resolve_audience(self.session, community_id,
                                      AudienceSpec(cluster=cluster), topic=Topic(topic).value)
        except AudienceError:
            return AudienceView((), ())
        rates = send_rates(self.settings or get_settings())
        per_channel = people.channel_counts()
        return AudienceView(
            locales=tuple(sorted({contact.locale for contact, _ in people})),
            reach=tuple(ChannelReach(item.channel, item.people, item.seconds)
                        for item in estimate(per_channel, rates)))

    def muted_topics(self, contact_id: int) -> frozenset[str]:
        return frozenset(topic.value for topic in muted_topics(self.session, contact_id))

    def gesture_catalogue(self) -> tuple[GestureView, ...]:
        return catalogue_views(self.session)

    def my_commitments(self, contact_id: int) -> tuple[CommitmentView, ...]:
        return commitment_views(self.session, contact_id)

    def gesture_offer_alert(self, contact_id: int, response_id: int) -> int | None:
        return offer_alert_after(self.session, contact_id, response_id)

    def invitations(self, contact_id: int, locale: str) -> tuple[InvitationView, ...]:
        return tuple(
            InvitationView(workshop_id=workshop.id or 0,
                           title=text_for(workshop.title, workshop, locale)[0],
                           starts_at=workshop.starts_at, ends_at=workshop.ends_at,
                           place=workshop.place, answer=answer)
            for workshop, answer in invitations_of(self.session, contact_id, self.now))
