"""What every flow step receives and returns, and the one protocol every flow implements.

No I/O: lookups go through a ``Directory``, writes are returned as effects. A flow's own state
is a typed model (``FlowData``), stored as JSON between messages (``FlowState``) and validated
when loaded back; the registry (``bot/flows/registry.py``) lists the flows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.i18n import Translator, translator
from core.gesture_chat import CommitmentView, GestureEffect, GestureView
from core.messages import Choice, IncomingMessage, OutgoingMessage
from core.models import Role
from core.personal_data import ChannelView as ChannelView
from core.personal_data import StoredFacts as StoredFacts
from core.questionnaires.definition import Definition
from core.questionnaires.responses import QuestionnaireEffect


@dataclass(frozen=True)
class FlowState:
    """Where a conversation stands, as stored between messages: the flow's name, its step and
    its data as JSON. A flow reads it through its typed model (``Flow.State``)."""

    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Set by the inbox when the stored state was past its expiry: the flow greets politely.
    expired: bool = False

    @property
    def idle(self) -> bool:
        return self.flow is None

    def at(self, flow: str, step: str, **data: Any) -> FlowState:
        return FlowState(flow=flow, step=step, data={**self.data, **data})


IDLE = FlowState()


@dataclass(frozen=True)
class CommunityView:
    id: int
    slug: str
    name: str
    timezone: str
    default_locale: str


@dataclass(frozen=True)
class HouseholdView:
    id: int
    ref: str


@dataclass(frozen=True)
class Who:
    """What a flow may know about the person writing (an enrolled contact or not yet)."""

    channel: str
    locale: str
    contact_id: int | None = None
    community: CommunityView | None = None
    name: str | None = None
    role: Role = Role.RESIDENT
    household: HouseholdView | None = None
    opted_out: bool = False
    display_name: str | None = None
    # False when they agreed to an older consent text: they are asked again first.
    consent_current: bool = True

    @property
    def enrolled(self) -> bool:
        return self.contact_id is not None

    @property
    def t(self) -> Translator:
        return translator(self.locale)

    def speaking(self, locale: str) -> Who:
        return replace(self, locale=locale)


@dataclass(frozen=True)
class InvitationView:
    """A workshop the reader was invited to and may still answer."""

    workshop_id: int
    title: str  # in the reader's language, else the facilitator's
    starts_at: datetime
    ends_at: datetime
    place: str
    answer: str | None  # a core.workshop_tables.Answer, None before any answer


@dataclass(frozen=True)
class StaffInviteView:
    """A staff invitation code as the person who sends it may learn of it."""

    code: str
    community_id: int
    community_name: str
    role: Role
    usable: bool  # False once used or expired


@dataclass(frozen=True)
class ChannelReach:
    """How many people of a fan-out's audience read on one channel, and how long sending
    to them takes under the channel's rate limits."""

    channel: str
    people: int
    seconds: float


@dataclass(frozen=True)
class AudienceView:
    """Who a fan-out (news, an invitation) would reach: the languages they read, and per
    channel how many (largest first)."""

    locales: tuple[str, ...]
    reach: tuple[ChannelReach, ...]

    @property
    def people(self) -> int:
        return sum(item.people for item in self.reach)


class Directory(Protocol):
    """Read-only lookups a flow may need. The inbox passes a database-backed one."""

    def community_by_join_code(self, code: str) -> CommunityView | None: ...

    def household_by_code(self, community_id: int, code: str) -> HouseholdView | None: ...

    def stored_facts(self, contact_id: int) -> StoredFacts | None: ...
    def staff_invite(self, code: str) -> StaffInviteView | None: ...

    def cluster_names(self, community_id: int) -> tuple[str, ...]: ...

    def household_has_meter(self, household_id: int) -> bool: ...

    def questionnaire(self, questionnaire_id: int) -> Definition | None: ...

    def survey_questionnaires(self) -> tuple[tuple[int, dict[str, str]], ...]: ...

    def survey_audience_size(self, community_id: int, cluster: str | None,
                             locale: str | None) -> int: ...

    def audience_locales(self, community_id: int, cluster: str | None) -> tuple[str, ...]: ...

    def audience_size(self, community_id: int, cluster: str | None) -> int: ...

    def alert_plan_problem(self, community_id: int, starts_at: datetime, duration_minutes: int,
                           cluster: str | None) -> str | None:
        """The reason code an alert could not be planned (see core.alerts), or None."""
        ...

    def exercise_suggestions(self, contact_id: int, slugs: tuple[str, ...]
                             ) -> tuple[tuple[str, dict[str, str]], ...]:
        """Of ``slugs``, the catalogue gestures the resident could still choose, in that order,
        with their text per language (none when they already have three)."""
        ...

    def fanout_audience(self, community_id: int, cluster: str | None, topic: str
                        ) -> AudienceView:
        """Who news or an invitation (``topic``, see core.topics) would reach: residents of
        the community (cluster) who did not mute the topic."""
        ...

    def muted_topics(self, contact_id: int) -> frozenset[str]: ...

    def gesture_catalogue(self) -> tuple[GestureView, ...]:
        """The gestures a resident may choose, in catalogue order."""
        ...

    def my_commitments(self, contact_id: int) -> tuple[CommitmentView, ...]:
        """The resident's active commitments, oldest first."""
        ...

    def gesture_offer_alert(self, contact_id: int, response_id: int) -> int | None:
        """The alert whose questionnaire ``response_id`` just completed, when "Would you like
        to choose a gesture?" may follow it; None otherwise."""
        ...

    def invitations(self, contact_id: int, locale: str) -> tuple[InvitationView, ...]:
        """The workshops still open that the contact was invited to, soonest first."""
        ...


# Effects: what a flow asks the domain to do. The inbox applies them in order.
@dataclass(frozen=True)
class Enrol:
    """Consent given: the inbox records it with the consent text's current version. With a
    ``staff_code`` (a staff invitation), the new contact takes the invitation's role."""

    community_id: int
    locale: str
    name: str | None
    staff_code: str | None = None


@dataclass(frozen=True)
class ClaimStaffInvite:
    """A member accepted a staff invitation of their community: they take its role."""

    code: str


@dataclass(frozen=True)
class CreateStaffInvite:
    """A facilitator asked for a code inviting another facilitator."""

    role: Role


@dataclass(frozen=True)
class LinkHousehold:
    household_id: int


@dataclass(frozen=True)
class SetLocale:
    locale: str


@dataclass(frozen=True)
class OptOut:
    pass


@dataclass(frozen=True)
class OptIn:
    pass


@dataclass(frozen=True)
class RenewConsent:
    """They agreed to the consent text of today (``Settings.consent_version``)."""


@dataclass(frozen=True)
class Erase:
    pass


@dataclass(frozen=True)
class RecordAlertIntent:
    alert_id: int
    intent: str


@dataclass(frozen=True)
class SendChart:
    kind: str  # "week", "typical" or "alert"


@dataclass(frozen=True)
class SendShareKit:
    """A facilitator asked for ready-to-forward invitations for a WhatsApp group."""


@dataclass(frozen=True)
class StartCampaign:
    questionnaire_id: int
    cluster: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class ShowSurveyResults:
    questionnaire_id: int


@dataclass(frozen=True)
class AnswerWorkshop:
    """Yes, maybe or no to a workshop: the inbox records it and words the outcome (a Yes
    may go on the waiting list)."""

    workshop_id: int
    answer: str


@dataclass(frozen=True)
class PlanAlert:
    starts_at: str  # ISO-8601 with offset
    duration_minutes: int
    kind: str
    cluster: str | None
    drill: bool = False  # an exercise: every message says so


@dataclass(frozen=True)
class RecordApplianceRatings:
    """The appliance exercise's answers: (appliance, rating) pairs."""

    ratings: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ChooseSuggestedGesture:
    """A gesture chosen from the exercise's suggestion (``core.gestures.choose_gesture``)."""

    slug: str


@dataclass(frozen=True)
class ShowGesturesTogether:
    """A facilitator asked for the community's gestures and exercise, counted together."""


@dataclass(frozen=True)
class SendBroadcast:
    """A facilitator's news, written in their language, to go now."""

    text: str
    locale: str
    cluster: str | None = None


@dataclass(frozen=True)
class InviteToWorkshop:
    """A facilitator's workshop, titled in their language, whose invitations go now."""

    title: str
    locale: str
    starts_at: str  # ISO-8601 with offset
    ends_at: str
    place: str
    capacity: int | None = None
    cluster: str | None = None


@dataclass(frozen=True)
class SetTopicMuted:
    topic: str  # a core.topics.Topic
    muted: bool


ExerciseEffect = RecordApplianceRatings | ChooseSuggestedGesture | ShowGesturesTogether

Effect = (Enrol | ClaimStaffInvite | CreateStaffInvite | LinkHousehold | SetLocale | OptOut
          | OptIn | RenewConsent | Erase | RecordAlertIntent
          | PlanAlert | AnswerWorkshop | SendChart | SendShareKit | StartCampaign
          | ShowSurveyResults | SendBroadcast | InviteToWorkshop | SetTopicMuted
          | QuestionnaireEffect | GestureEffect | ExerciseEffect)


@dataclass(frozen=True)
class FlowResult:
    replies: tuple[OutgoingMessage, ...]
    state: FlowState = IDLE
    effects: tuple[Effect, ...] = ()


def say(who: Who, text: str, *choices: Choice, kind: str = "reply") -> OutgoingMessage:
    return OutgoingMessage(text=text, locale=who.locale, choices=tuple(choices), kind=kind)


# --------------------------------------------------------------------------------------------
# The flow protocol
# --------------------------------------------------------------------------------------------

class FlowData(BaseModel):
    """A flow's typed state. Stored as JSON between messages and validated when loaded back:
    a state written by an older version, or damaged, fails validation and the router resumes
    politely instead of guessing. Unknown keys are ignored, so adding a field with a default
    keeps older stored states valid."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: str


class NoState(FlowData):
    """For flows that answer in one message and never wait for a reply."""

    step: str = "done"


S = TypeVar("S", bound=FlowData)


@dataclass(frozen=True)
class MenuEntry:
    """A flow's line in the menu. ``order`` sorts the entries; a reader's menu numbers them
    1, 2, 3… among the entries their role sees, so a number never depends on what is pending.
    ``label`` is called with the reader's translator."""

    order: int
    label: Callable[[Translator], str]


class Flow(Protocol[S]):
    """One conversation: everything the router and the menu need to know about it."""

    @property
    def name(self) -> str:
        """Stored with its state; also the key of its menu choice."""
        ...

    @property
    def State(self) -> type[S]:
        """Its typed state."""
        ...

    @property
    def roles(self) -> frozenset[Role]:
        """Who may use it (the router checks before ``start`` and before every ``step``)."""
        ...

    @property
    def entry(self) -> MenuEntry | None:
        """Its menu line; None when it is reached otherwise (a join code, a scheduled
        message…)."""
        ...

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        """Begin, e.g. when picked in the menu."""
        ...

    def step(self, message: IncomingMessage, who: Who, state: S, directory: Directory
             ) -> FlowResult:
        """Answer a message while this flow waits for one."""
        ...

    def reprompt(self, who: Who, state: S, directory: Directory) -> FlowResult:
        """Ask the pending question again (after a detour through the menu or help)."""
        ...


EVERYONE = frozenset(Role)
FACILITATORS = frozenset({Role.FACILITATOR})


class BaseFlow(Generic[S]):
    """Stored-state handling shared by every flow; subclasses set the protocol's attributes."""

    name: str
    State: type[S]
    roles: frozenset[Role] = EVERYONE
    entry: MenuEntry | None = None

    def keep(self, state: S) -> FlowState:
        """The state to store: this flow waits for the next message."""
        # Unset (None) fields are left out: they load back as their default.
        return FlowState(flow=self.name, step=state.step,
                         data=state.model_dump(mode="json", exclude={"step"}, exclude_none=True))
