"""An in-memory Directory so flows are tested without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.flows.base import (
    AudienceView,
    ChannelReach,
    ChannelView,
    CommunityView,
    FlowState,
    HouseholdView,
    InvitationView,
    StaffInviteView,
    StoredFacts,
)
from core.gesture_chat import (
    CommitmentView,
    GestureView,
    catalogue_views,
    commitment_views,
    offer_alert_after,
)
from core.gesture_content import load_catalogue
from core.questionnaires.definition import Definition

DEMO = CommunityView(id=1, slug="demo", name="Les Voisins", timezone="Europe/Brussels",
                     default_locale="fr")


@dataclass
class MemoryDirectory:
    communities: dict[str, CommunityView] = field(default_factory=lambda: {"SOLEIL": DEMO})
    households: dict[str, HouseholdView] = field(
        default_factory=lambda: {"MAISON01": HouseholdView(11, "H01")})
    facts: dict[int, StoredFacts] = field(default_factory=dict)
    questionnaires: dict[int, Definition] = field(default_factory=dict)
    # What the exercise may suggest: slug -> text per language (None: every slug, in English).
    gestures: dict[str, dict[str, str]] | None = None
    muted: set[str] = field(default_factory=set)
    # Contact id → the workshops they may answer.
    invited: dict[int, tuple[InvitationView, ...]] = field(default_factory=dict)
    # Staff invitation codes, by code.
    invites: dict[str, StaffInviteView] = field(default_factory=dict)
    # A resident's commitments, and the offer's alert per questionnaire response.
    commitments: dict[int, tuple[CommitmentView, ...]] = field(default_factory=dict)
    offer_alerts: dict[int, int] = field(default_factory=dict)
    # Set by the dialogue driver (tests/bot/flows/conversation.py) while a message is
    # answered: gestures are then read from the conversation's database, where the effects
    # of the earlier messages were applied.
    database: Session | None = None

    def community_by_join_code(self, code: str) -> CommunityView | None:
        return self.communities.get(code.upper())

    def household_by_code(self, community_id: int, code: str) -> HouseholdView | None:
        return self.households.get(code.upper())

    def stored_facts(self, contact_id: int) -> StoredFacts | None:
        return self.facts.get(contact_id, StoredFacts(
            name="Nadia", locale="fr", role="resident", community_name=DEMO.name,
            household_ref="H01", consented_at=None, consent_version="2026-11",
            channels=(ChannelView("sms", "+32470123456"),), messages_sent=3))

    def staff_invite(self, code: str) -> StaffInviteView | None:
        return self.invites.get(code.upper())

    def questionnaire(self, questionnaire_id: int) -> Definition | None:
        return self.questionnaires.get(questionnaire_id)

    def survey_questionnaires(self) -> tuple[tuple[int, dict[str, str]], ...]:
        return tuple((qid, {"en": d.slug}) for qid, d in self.questionnaires.items())

    def survey_audience_size(self, community_id: int, cluster: str | None,
                             locale: str | None) -> int:
        return 6 if locale is None else 2

    def household_has_meter(self, household_id: int) -> bool:
        return household_id == 11

    def cluster_names(self, community_id: int) -> tuple[str, ...]:
        return ("Cabine A", "Cabine B")

    def audience_locales(self, community_id: int, cluster: str | None) -> tuple[str, ...]:
        return ("ar", "fr", "nl")

    def audience_size(self, community_id: int, cluster: str | None) -> int:
        return 12 if cluster is None else 6

    def alert_plan_problem(self, community_id: int, starts_at: datetime, duration_minutes: int,
                           cluster: str | None) -> str | None:
        return "overlap" if starts_at.hour == 13 else None

    def exercise_suggestions(self, contact_id: int, slugs: tuple[str, ...]
                             ) -> tuple[tuple[str, dict[str, str]], ...]:
        if self.gestures is None:
            return tuple((slug, {"en": slug.replace("_", " ")}) for slug in slugs)
        return tuple((slug, self.gestures[slug]) for slug in slugs if slug in self.gestures)

    def fanout_audience(self, community_id: int, cluster: str | None, topic: str
                        ) -> AudienceView:
        if cluster is not None:
            return AudienceView(("fr",), (ChannelReach("sms", 6, 6.0),))
        # The example: 240 on Telegram at 30/s, 72 by SMS at 0.6/s.
        return AudienceView(("ar", "fr", "nl"), (ChannelReach("telegram", 240, 8.0),
                                                 ChannelReach("sms", 72, 120.0)))

    def muted_topics(self, contact_id: int) -> frozenset[str]:
        return frozenset(self.muted)
    def invitations(self, contact_id: int, locale: str) -> tuple[InvitationView, ...]:
        return self.invited.get(contact_id, ())

    def gesture_catalogue(self) -> tuple[GestureView, ...]:
        if self.database is not None:
            return catalogue_views(self.database)
        return SHIPPED_GESTURES

    def my_commitments(self, contact_id: int) -> tuple[CommitmentView, ...]:
        if self.database is not None:
            return commitment_views(self.database, contact_id)
        return self.commitments.get(contact_id, ())

    def gesture_offer_alert(self, contact_id: int, response_id: int) -> int | None:
        if self.database is not None:
            return offer_alert_after(self.database, contact_id, response_id)
        return self.offer_alerts.get(response_id)


# The shipped catalogue, as the database holds it once loaded.
SHIPPED_GESTURES = tuple(
    GestureView(slug=g.slug, category=g.category.value, text=dict(g.text), effort=g.effort,
                during_alert=g.during_alert)
    for content in load_catalogue() for g in content.gestures)

# A state "My gestures" may be waiting in, as the database would hold it (for the property
# tests over every flow).
GESTURE_STATES = [
    FlowState("gestures", "overview"),
    FlowState("gestures", "category", {"context": "offer"}),
    FlowState("gestures", "pick", {"category": "cooking"}),
    FlowState("gestures", "cadence", {"slug": "lid_on_pan"}),
    FlowState("gestures", "when"),
    FlowState("gestures", "drop"),
    FlowState("gestures", "offer", {"alert_id": 3}),
    FlowState("gestures", "check_in", {"check_in_id": 5, "slug": "stop_draughts",
                                       "text": {"fr": "Boucher les courants d'air",
                                                "en": "Stop the draughts"}}),
    FlowState("gestures", "easier", {"slug": "stop_draughts", "easier": "warm_layer",
                                     "check_in_id": 5}),
]
