"""Handling one incoming message: idempotency, state, routing, effects, replies to the outbox."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.conversation.directory import SqlDirectory, community_view
from bot.conversation.router import route
from bot.flows import questionnaire
from bot.flows.base import (
    AnswerWorkshop,
    ChooseSuggestedGesture,
    ClaimStaffInvite,
    CreateStaffInvite,
    Directory,
    Effect,
    Enrol,
    Erase,
    FlowResult,
    FlowState,
    HouseholdView,
    InviteToWorkshop,
    LinkHousehold,
    OptIn,
    OptOut,
    PlanAlert,
    RecordAlertIntent,
    RecordApplianceRatings,
    RenewConsent,
    SendBroadcast,
    SendChart,
    SendShareKit,
    SetLocale,
    SetTopicMuted,
    ShowGesturesTogether,
    ShowSurveyResults,
    StartCampaign,
    Who,
)
from bot.flows.menu import menu_message
from bot.flows.staff import invite_text
from bot.i18n import choose_locale, translator
from bot.rendering.energy_charts import chart_request
from bot.rendering.gestures_together import (
    choose_suggested,
    gestures_together_replies,
    record_ratings,
)
from bot.rendering.share_kit import invitation_kits, kit_locales, share_kits
from bot.rendering.survey_results import apply_campaign_effect, survey_results_replies
from bot.rendering.workshops import WORDING as WORKSHOP_WORDING
from bot.rendering.workshops import apply_answer
from bot.rendering.workshops import group_post as workshop_group_post
from core import alerts, broadcasts, contacts, conversations, outbox, staff, workshops
from core.alerts import Alert, AlertIntent, AlertKind, AlertPlanError
from core.audience import AudienceError, AudienceSpec
from core.clock import Clock, utc_now
from core.config import Settings, get_settings
from core.db import session_scope
from core.gesture_chat import GESTURE_EFFECTS, apply_gesture_effect
from core.identities import touch_identity
from core.inbound import first_delivery
from core.messages import IncomingMessage, OutgoingMessage
from core.models import ChannelIdentity, Community, Contact, Household, OutboxMessage, Role
from core.questionnaires.responses import (
    SURVEY_STATE_TTL,
    CompleteResponse,
    ExpireResponse,
    RecordAnswer,
    apply_questionnaire_effect,
)
from core.topics import Topic, set_muted
from scheduler.workshops import send_invitations


def handle_incoming(engine: Engine, message: IncomingMessage, clock: Clock = utc_now,
                    settings: Settings | None = None) -> list[OutboxMessage]:
    """Answer one message. A re-delivered message (same provider id) gets no second answer."""
    settings = settings or get_settings()
    now = clock()
    if message.received_at is None:
        message = replace(message, received_at=now)
    with session_scope(engine) as session:
        if not first_delivery(session, message.channel, message.provider_id, now):
            return []
        identity = touch_identity(session, message.channel, message.address, now,
                                  display_name=message.display_name,
                                  locale_hint=message.locale_hint)
        assert identity.id is not None
        stored = conversations.load_state(session, identity.id, now)
        state = FlowState(flow=stored.flow, step=stored.step, data=stored.data,
                          expired=stored.expired)
        who = who_is(session, identity, settings)
        directory = SqlDirectory(session, now, settings)
        result = answer(session, identity, message, state, who, directory, now, settings)
        conversations.save_state(session, identity.id, result.state.flow, result.state.step,
                                 result.state.data, now, state_ttl(result.state, settings))
        return _enqueue_replies(session, identity, message, result, now)


def answer(session: Session, identity: ChannelIdentity, message: IncomingMessage,
           state: FlowState, who: Who, directory: Directory, now: datetime, settings: Settings
           ) -> FlowResult:
    """Route one message and apply its effects: the replies to send and the state to keep.

    The tests' dialogue driver (``tests/bot/flows/conversation.py``) answers through here too.
    """
    result = route(message, who, state, directory)
    outcome = apply_effects(session, identity, result.effects, now, who, settings)
    if outcome.replace is not None:
        return FlowResult(replies=outcome.replace, state=result.state, effects=result.effects)
    # What the effects produced (a chart, survey results, share kits) goes first: the flow's
    # own reply ends the step, with the menu or the hint to send MENU.
    return FlowResult(replies=outcome.extra + result.replies, state=result.state,
                      effects=result.effects)


def state_ttl(state: FlowState, settings: Settings) -> timedelta:
    """A survey's state outlives the survey, so a late answer hears "this survey is closed"
    rather than a generic "let's start again"."""
    ttl = timedelta(hours=settings.conversation_ttl_hours)
    return max(ttl, SURVEY_STATE_TTL) if state.flow == questionnaire.FLOW else ttl


def who_is(session: Session, identity: ChannelIdentity, settings: Settings) -> Who:
    contact = session.get(Contact, identity.contact_id) if identity.contact_id else None
    if contact is None:
        return Who(channel=identity.channel, display_name=identity.display_name,
                   locale=choose_locale(None, identity.locale_hint, settings.default_locale))
    community = session.get(Community, contact.community_id)
    assert community is not None
    household = session.get(Household, contact.household_id) if contact.household_id else None
    return Who(
        channel=identity.channel,
        locale=choose_locale(contact.locale, identity.locale_hint, community.default_locale),
        contact_id=contact.id,
        community=community_view(community),
        name=contact.name,
        role=Role(contact.role),
        household=HouseholdView(household.id, household.ref)
        if household and household.id else None,
        opted_out=contact.opted_out_at is not None,
        display_name=identity.display_name,
        consent_current=contact.consent_version == settings.consent_version,
    )


@dataclass(frozen=True)
class EffectOutcome:
    # Replies that follow the flow's own (e.g. a chart rendered from the database).
    extra: tuple[OutgoingMessage, ...] = ()
    # Replies that replace the flow's, when an effect turned out impossible after all
    # (e.g. another alert was planned meanwhile).
    replace: tuple[OutgoingMessage, ...] | None = None


def apply_effects(session: Session, identity: ChannelIdentity, effects: tuple[Effect, ...],
                  now: datetime, who: Who | None = None, settings: Settings | None = None
                  ) -> EffectOutcome:
    """Apply what the flow asked for, in order."""
    settings = settings or get_settings()
    extra: list[OutgoingMessage] = []
    for effect in effects:
        if isinstance(effect, Enrol):
            if identity.contact_id is None:
                joined = contacts.enrol_contact(session, identity, effect.community_id,
                                                effect.locale, settings.consent_version, now,
                                                name=effect.name)
                if effect.staff_code and staff.claim_invite(session, effect.staff_code, joined,
                                                            now) is None:
                    return EffectOutcome(replace=(_invite_gone(joined, who),))
            continue
        contact = session.get(Contact, identity.contact_id) if identity.contact_id else None
        if contact is None:
            continue
        if isinstance(effect, ClaimStaffInvite):
            if staff.claim_invite(session, effect.code, contact, now) is None:
                return EffectOutcome(replace=(_invite_gone(contact, who),))
        elif isinstance(effect, CreateStaffInvite) and contact.role == Role.FACILITATOR.value:
            extra.append(_new_invite(session, contact, effect, now))
        elif isinstance(effect, LinkHousehold):
            contacts.link_household(session, contact, effect.household_id)
        elif isinstance(effect, SetLocale):
            contacts.set_locale(session, contact, effect.locale)
        elif isinstance(effect, OptOut):
            contacts.opt_out(session, contact, now)
        elif isinstance(effect, OptIn):
            contacts.opt_in(session, contact)
        elif isinstance(effect, RenewConsent):
            contacts.renew_consent(session, contact, settings.consent_version, now)
        elif isinstance(effect, Erase):
            contacts.erase_contact(session, contact)
        elif isinstance(effect, RecordAlertIntent) and contact.id is not None:
            if session.get(Alert, effect.alert_id) is not None:
                alerts.record_intent(session, effect.alert_id, contact.id,
                                     AlertIntent(effect.intent), now)
        elif isinstance(effect, AnswerWorkshop) and who is not None:
            # What the answer meant (a place, the waiting list, too late) replaces the
            # flow's plain menu.
            return EffectOutcome(replace=(apply_answer(session, contact, who,
                                                       effect.workshop_id, effect.answer,
                                                       now),))
        elif isinstance(effect, PlanAlert):
            problem = _plan_alert(session, contact, effect, now, who)
            if problem:
                return EffectOutcome(replace=(problem,))
        elif isinstance(effect, GESTURE_EFFECTS):
            if contact.id is not None:
                apply_gesture_effect(session, contact.id, effect, now)
        elif isinstance(effect, RecordAnswer | CompleteResponse | ExpireResponse):
            if contact.id is not None:
                apply_questionnaire_effect(session, contact.id, effect, now)
        elif isinstance(effect, SendShareKit) and contact.role == Role.FACILITATOR.value:
            extra.extend(share_kit_replies(session, contact, settings))
        elif isinstance(effect, StartCampaign):
            apply_campaign_effect(session, contact, effect, now)
        elif isinstance(effect, ShowSurveyResults) and who is not None \
                and contact.role == Role.FACILITATOR.value:
            extra.extend(survey_results_replies(session, who, effect.questionnaire_id, now))
        elif isinstance(effect, RecordApplianceRatings):
            record_ratings(session, contact, effect, now)
        elif isinstance(effect, ChooseSuggestedGesture):
            refused = choose_suggested(session, contact, effect, now)
            if refused is not None:
                # It replaces the flow's "Noted", which ended at the menu: so does this.
                return EffectOutcome(replace=(menu_message(who, intro=refused.text)
                                              if who is not None else refused,))
        elif isinstance(effect, ShowGesturesTogether) and who is not None \
                and contact.role == Role.FACILITATOR.value:
            extra.extend(gestures_together_replies(session, who, now))
        elif isinstance(effect, SetTopicMuted) and contact.id is not None:
            set_muted(session, contact.id, Topic(effect.topic), effect.muted, now)
        elif isinstance(effect, InviteToWorkshop) and contact.role == Role.FACILITATOR.value:
            invited = _invite_to_workshop(session, contact, effect, now, who, settings)
            if isinstance(invited, OutgoingMessage):
                return EffectOutcome(replace=(invited,))
            extra.extend(invited)
        elif isinstance(effect, SendBroadcast) and contact.role == Role.FACILITATOR.value:
            problem = _send_broadcast(session, contact, effect, now, who)
            if problem:
                return EffectOutcome(replace=(problem,))
        elif isinstance(effect, SendChart) and who is not None:
            # Only what to draw: the dispatcher draws it after this transaction.
            extra.append(chart_request(who, contact, effect.kind))
    session.flush()
    return EffectOutcome(extra=tuple(extra))


def _invite_gone(contact: Contact, who: Who | None) -> OutgoingMessage:
    """The staff code was used or expired between the question and the answer: the person
    stays (or becomes) a resident, and hears why."""
    t = translator(contact.locale)
    text = t.gettext("Sorry, this invitation code was used or expired meanwhile: nothing has "
                     "changed. Please ask for a new one.")
    if who is None:
        return OutgoingMessage(text=text, locale=contact.locale)
    return menu_message(replace(who, role=Role(contact.role), contact_id=contact.id,
                                locale=contact.locale), intro=text)


def _new_invite(session: Session, contact: Contact, effect: CreateStaffInvite, now: datetime
                ) -> OutgoingMessage:
    community = session.get(Community, contact.community_id)
    assert community is not None
    invite = staff.create_invite(session, community, effect.role, now,
                                 created_by=f"chat:{contact.id}")
    reader = Who(channel="", locale=contact.locale)
    return OutgoingMessage(text=invite_text(reader, invite.code, community.name),
                           locale=contact.locale)


def share_kit_replies(session: Session, contact: Contact, settings: Settings | None
                      ) -> list[OutgoingMessage]:
    """One ready-to-forward invitation per language the bot speaks (no bot can post into a
    WhatsApp group; the facilitator forwards these), with every way in that is configured."""
    settings = settings or get_settings()
    community = session.get(Community, contact.community_id)
    if community is None:
        return []
    t = translator(contact.locale)
    replies = [OutgoingMessage(text=t.gettext(
        "Forward the message in each language to your WhatsApp group, or tap its link:"),
        locale=contact.locale)]
    for kit in share_kits(community.name, community.join_code,
                          kit_locales(community.default_locale),
                          whatsapp_number=settings.twilio_whatsapp_from,
                          telegram_bot=settings.telegram_bot_username,
                          sms_number=settings.twilio_sms_from):
        replies.append(OutgoingMessage(text=f"{kit.text}\n{kit.share_link}", locale=kit.locale))
    return replies


def _invite_to_workshop(session: Session, contact: Contact, effect: InviteToWorkshop,
                        now: datetime, who: Who | None, settings: Settings
                        ) -> OutgoingMessage | list[OutgoingMessage]:
    """Create the workshop and queue its invitations now (as ``POST .../send`` does); the
    facilitator gets the invitation per language to forward to a WhatsApp group, and is
    shown the progress (``scheduler/progress.py``). A problem replaces the flow's reply."""
    community = session.get(Community, contact.community_id)
    if community is None:
        return []
    try:
        with session.begin_nested():
            workshop = workshops.create_workshop(
                session, community, title={effect.locale: effect.title},
                place=effect.place, starts_at=datetime.fromisoformat(effect.starts_at),
                ends_at=datetime.fromisoformat(effect.ends_at), now=now,
                capacity=effect.capacity, audience=AudienceSpec(cluster=effect.cluster),
                author_locale=effect.locale, created_by=contact.id)
            send_invitations(session, workshop, WORKSHOP_WORDING, now,
                             group_post=workshop_group_post)
    except (workshops.WorkshopError, AudienceError):
        text = translator(contact.locale).gettext(
            "Sorry, this invitation could not be sent. Nothing was sent; please try again.")
        return menu_message(who, intro=text) if who is not None \
            else OutgoingMessage(text=text, locale=contact.locale)
    t = translator(contact.locale)
    replies = [OutgoingMessage(text=t.gettext(
        "To invite a WhatsApp group too, forward it the invitation in its language:"),
        locale=contact.locale)]
    for kit in invitation_kits(workshop, community, kit_locales(community.default_locale),
                               whatsapp_number=settings.twilio_whatsapp_from):
        replies.append(OutgoingMessage(text=f"{kit.text}\n{kit.share_link}", locale=kit.locale))
    return replies


def _send_broadcast(session: Session, contact: Contact, effect: SendBroadcast,
                    now: datetime, who: Who | None) -> OutgoingMessage | None:
    """News from the chat goes at once (the scheduler fans it out at its next tick); its
    facilitator is shown the progress (``scheduler/progress.py``)."""
    community = session.get(Community, contact.community_id)
    if community is None:
        return None
    try:
        with session.begin_nested():
            news = broadcasts.create_broadcast(
                session, community, {effect.locale: effect.text}, now,
                audience=AudienceSpec(cluster=effect.cluster), created_by=contact.id)
            broadcasts.send_broadcast(session, news, now)
    except (broadcasts.BroadcastError, AudienceError):
        # The flow checked it; a group of homes renamed meanwhile, say.
        text = translator(contact.locale).gettext(
            "Sorry, this news could not be sent. Nothing was sent; please try again.")
        return menu_message(who, intro=text) if who is not None \
            else OutgoingMessage(text=text, locale=contact.locale)
    return None


def _plan_alert(session: Session, contact: Contact, effect: PlanAlert, now: datetime,
                who: Who | None) -> OutgoingMessage | None:
    community = session.get(Community, contact.community_id)
    if community is None or contact.role != Role.FACILITATOR.value:
        return None
    try:
        with session.begin_nested():
            alerts.plan_alert(session, community, starts_at=datetime.fromisoformat(
                effect.starts_at), duration_minutes=effect.duration_minutes,
                kind=AlertKind(effect.kind), now=now, cluster_name=effect.cluster,
                drill=effect.drill)
    except AlertPlanError:
        text = translator(contact.locale).gettext(
            "Sorry, this alert could not be planned: another alert may have been planned "
            "meanwhile. Please check the times and try again.")
        # It replaces the flow's "Done", which ended at the menu: so does this.
        return menu_message(who, intro=text) if who is not None \
            else OutgoingMessage(text=text, locale=contact.locale)
    return None


def _enqueue_replies(session: Session, identity: ChannelIdentity, message: IncomingMessage,
                     result: FlowResult, now: datetime) -> list[OutboxMessage]:
    rows = []
    for index, reply in enumerate(result.replies):
        key = f"reply:{message.channel}:{message.provider_id}:{index}"
        row = outbox.enqueue(session, dedupe_key=key, identity=identity, kind=reply.kind,
                             payload=reply.to_payload(), now=now)
        if row is not None:
            rows.append(row)
    return rows

