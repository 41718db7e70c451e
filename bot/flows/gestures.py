"""My gestures: see them, choose up to three (by category), drop one, say when to be asked how
it goes; the offer after the post-alert questionnaire; the answers to a check-in.

A gesture is a private promise a resident makes to themself: the texts never score, rank or
reproach, and "not this time" is met warmly (perhaps with an easier gesture of the same
kind). Pure like every flow: the catalogue and the resident's commitments are read through the
``Directory``, changes go out as effects (``core.gesture_chat``).

On Telegram a list of gestures is written out in the text and answered with numbered buttons
(a button shows a long label cut short); elsewhere the gestures are the numbered options
themselves, and an SMS longer than two segments is sent as several (``sms_parts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Literal

from bot.conversation.choices import match_choice
from bot.flows.base import (
    EVERYONE,
    BaseFlow,
    Directory,
    Effect,
    FlowData,
    FlowResult,
    MenuEntry,
    Who,
    say,
)
from bot.flows.menu import Paused, show_menu
from bot.i18n import Translator, choose_locale, translator
from bot.i18n.keywords import is_no, is_yes
from bot.rendering.scheduled import opening
from core.gesture_chat import (
    AnswerCheckIn,
    AnswerGestureOffer,
    ChooseGesture,
    CommitmentView,
    DropGesture,
    GestureView,
    OfferGesture,
    SetCheckInCadence,
    SwapGesture,
)
from core.gesture_content import CATEGORY_ORDER, category_title, localized
from core.gestures import MAX_ACTIVE_COMMITMENTS, CheckInAnswer, CheckInCadence
from core.messages import (
    Choice,
    IncomingMessage,
    OutgoingMessage,
    RenderedMessage,
)
from core.models import Community, Contact

FLOW = "gestures"
KIND_CHECK_IN = "gesture_check_in"
KIND_OFFER = "gesture_offer"
CHECK_IN_PREFIX = "ci:"
CHOOSE, DROP, WHEN = "g:choose", "g:drop", "g:when"
CATEGORY_PREFIX = "g:cat:"
PICK_PREFIX = "g:pick:"
DROP_PREFIX = "g:drop:"
CADENCE_PREFIX = "g:every:"
OTHER_KINDS = "g:back"
YES, NO = "yes", "no"
# How long a check-in's question waits for a typed answer (a button works later too).
CHECK_IN_WAIT = timedelta(days=3)
# Where a list of gestures is answered with numbered buttons under the written-out list.
BUTTON_CHANNELS = frozenset({"telegram"})

Step = Literal["overview", "category", "pick", "cadence", "when", "drop", "offer", "check_in",
               "easier"]


class GesturesState(FlowData):
    step: Step = "overview"
    # Where a gesture is being chosen: "menu" or "offer" (after the post-alert questionnaire).
    context: str = "menu"
    category: str | None = None
    # The gesture just chosen (cadence), or the one a check-in asks about (check_in, easier).
    slug: str | None = None
    alert_id: int | None = None
    check_in_id: int | None = None
    # The checked-in gesture's text as the resident chose it (it may have changed since).
    text: dict[str, str] | None = None
    # "Not this time": the easier gesture offered instead.
    easier: str | None = None


def _again(t: Translator) -> str:
    return t.gettext("Sorry, I didn't understand that.")


def _in(who: Who, texts: Mapping[str, str]) -> str:
    return localized(texts, who.locale, who.community.default_locale if who.community else None)


def _done(who: Who, intro: str, *effects: Effect) -> FlowResult:
    """End a step at the menu, with ``intro`` and the effects."""
    result = show_menu(who, intro=intro)
    return FlowResult(replies=result.replies, state=result.state, effects=effects)


# --------------------------------------------------------------------------------------------
# Texts and choices
# --------------------------------------------------------------------------------------------

def cadence_choices(t: Translator) -> tuple[Choice, Choice]:
    return (Choice(f"{CADENCE_PREFIX}{CheckInCadence.AFTER_ALERT.value}",
                   t.gettext("After the next alert")),
            Choice(f"{CADENCE_PREFIX}{CheckInCadence.BIWEEKLY.value}", t.gettext("Every 2 weeks")))


def yes_no(t: Translator) -> tuple[Choice, Choice]:
    return Choice(YES, t.gettext("Yes")), Choice(NO, t.gettext("No, thanks"))


def check_in_choices(t: Translator, check_in_id: int) -> tuple[Choice, ...]:
    labels = {CheckInAnswer.YES: t.gettext("Yes"),
              CheckInAnswer.SOMETIMES: t.gettext("Sometimes"),
              CheckInAnswer.NOT_THIS_TIME: t.gettext("Not this time"),
              CheckInAnswer.STOP: t.gettext("Stop this one")}
    return tuple(Choice(f"{CHECK_IN_PREFIX}{check_in_id}:{answer.value}", label)
                 for answer, label in labels.items())


def check_in_question(t: Translator, gesture: str) -> str:
    return t.gettext("Voisins: did you manage your gesture lately?\n{gesture}", gesture=gesture)


def offer_question(t: Translator) -> str:
    return t.gettext("Would you like to choose a gesture for next time?")


def _cadence_done(t: Translator, cadence: str) -> str:
    if cadence == CheckInCadence.BIWEEKLY.value:
        return t.gettext("Done: I will ask you how it goes every 2 weeks.")
    return t.gettext("Done: I will ask you how it goes after the next alert.")


def _thanks_for(t: Translator, answer: CheckInAnswer) -> str:
    if answer is CheckInAnswer.YES:
        return t.gettext("Thank you for telling me! Every bit helps.")
    if answer is CheckInAnswer.SOMETIMES:
        return t.gettext("Thank you! Every time counts.")
    if answer is CheckInAnswer.NOT_THIS_TIME:
        return t.gettext("That's all right: some weeks are harder than others. "
                         "Thank you for telling me.")
    return t.gettext("Done: this gesture is off your list. Thank you for trying it!")


def _list(who: Who, question: str, items: Sequence[tuple[str, str]],
          extra: Sequence[Choice] = ()) -> OutgoingMessage:
    """A question over a list of (key, gesture text): numbered buttons under the written-out
    list on Telegram, the gestures as numbered options elsewhere."""
    if who.channel in BUTTON_CHANNELS:
        lines = [question, *(f"{n}. {text}" for n, (_, text) in enumerate(items, start=1))]
        buttons = [Choice(key, str(n)) for n, (key, _) in enumerate(items, start=1)]
        return say(who, "\n".join(lines), *buttons, *extra)
    return say(who, question, *(Choice(key, text) for key, text in items), *extra)


def _categories(catalogue: Sequence[GestureView]) -> list[str]:
    return sorted({g.category for g in catalogue}, key=lambda c: CATEGORY_ORDER.get(c, 99))


def _category_choices(who: Who, catalogue: Sequence[GestureView]) -> tuple[Choice, ...]:
    fallback = who.community.default_locale if who.community else None
    return tuple(Choice(f"{CATEGORY_PREFIX}{category}",
                        category_title(category, who.locale, fallback))
                 for category in _categories(catalogue))


def easier_than(catalogue: Sequence[GestureView], mine: Sequence[CommitmentView], slug: str
                ) -> GestureView | None:
    """A gesture of the same kind that takes less effort, not chosen already."""
    current = next((g for g in catalogue if g.slug == slug), None)
    current_effort = current.effort if current else next(
        (c.effort for c in mine if c.slug == slug), 1)
    category = current.category if current else next(
        (c.category for c in mine if c.slug == slug), None)
    taken = {c.slug for c in mine}
    easier = [g for g in catalogue if g.category == category and g.effort < current_effort
              and g.slug not in taken and g.slug != slug]
    return min(easier, key=lambda g: g.effort) if easier else None


# --------------------------------------------------------------------------------------------
# The flow
# --------------------------------------------------------------------------------------------

class MyGestures(BaseFlow[GesturesState]):
    name = FLOW
    State = GesturesState
    roles = EVERYONE
    entry = MenuEntry(order=52, label=lambda t: t.gettext("My gestures"))

    def start(self, message: IncomingMessage, who: Who, directory: Directory) -> FlowResult:
        return self.overview(who, directory)

    def overview(self, who: Who, directory: Directory, intro: str | None = None
                 ) -> FlowResult:
        """"Your gestures: ..." and what to do next."""
        t = who.t
        mine = directory.my_commitments(who.contact_id) if who.contact_id else ()
        replies: list[OutgoingMessage] = []
        if not mine:
            text = t.gettext("You have not chosen a gesture yet. A gesture is a promise to "
                             "yourself: nobody checks, and you can drop it at any time.")
            if intro:
                text = f"{intro}\n{text}"
            replies.append(say(who, text, Choice(CHOOSE, t.gettext("Choose a gesture"))))
        else:
            lines = [intro] if intro else []
            lines.append(t.gettext("Your gestures:"))
            lines += [f"- {_in(who, c.text)}" for c in mine]
            replies.append(say(who, "\n".join(lines)))
            choices = [Choice(CHOOSE, t.gettext("Choose a gesture"))] \
                if len(mine) < MAX_ACTIVE_COMMITMENTS else []
            choices += [Choice(DROP, t.gettext("Drop one")),
                        Choice(WHEN, t.gettext("When to ask me"))]
            replies.append(say(who, t.gettext("What would you like to do?"), *choices))
        return FlowResult(replies=tuple(replies), state=self.keep(GesturesState()))

    def categories(self, who: Who, directory: Directory, context: str = "menu",
                   intro: str | None = None, effects: Sequence[Effect] = ()) -> FlowResult:
        mine = directory.my_commitments(who.contact_id) if who.contact_id else ()
        t = who.t
        if len(mine) >= MAX_ACTIVE_COMMITMENTS:
            text = t.gettext("You have 3 gestures, the most at a time. "
                             "Drop one first if you would like another.")
            return _done(who, f"{intro}\n{text}" if intro else text, *effects)
        question = t.gettext("Which kind of gesture?")
        text = f"{intro}\n{question}" if intro else question
        choices = _category_choices(who, directory.gesture_catalogue())
        return FlowResult(replies=(say(who, text, *choices),),
                          state=self.keep(GesturesState(step="category", context=context)),
                          effects=tuple(effects))

    def gestures_of(self, who: Who, directory: Directory, state: GesturesState,
                    intro: str | None = None) -> FlowResult:
        category = state.category or ""
        taken = {c.slug for c in directory.my_commitments(who.contact_id)} \
            if who.contact_id else set()
        items = [(f"{PICK_PREFIX}{g.slug}", _in(who, g.text))
                 for g in directory.gesture_catalogue()
                 if g.category == category and g.slug not in taken]
        fallback = who.community.default_locale if who.community else None
        question = who.t.gettext("{kind}: which one would you like to try?",
                                 kind=category_title(category, who.locale, fallback)
                                 if category in CATEGORY_ORDER else category)
        if intro:
            question = f"{intro}\n{question}"
        message = _list(who, question, items,
                        extra=(Choice(OTHER_KINDS, who.t.gettext("Other kinds")),))
        return FlowResult(replies=(message,), state=self.keep(state.model_copy(
            update={"step": "pick"})))

    def drop_list(self, who: Who, directory: Directory, intro: str | None = None
                  ) -> FlowResult:
        mine = directory.my_commitments(who.contact_id) if who.contact_id else ()
        if not mine:
            return self.overview(who, directory)
        question = who.t.gettext("Which one would you like to drop?")
        if intro:
            question = f"{intro}\n{question}"
        items = [(f"{DROP_PREFIX}{c.slug}", _in(who, c.text)) for c in mine]
        return FlowResult(replies=(_list(who, question, items),),
                          state=self.keep(GesturesState(step="drop")))

    def reprompt(self, who: Who, state: GesturesState, directory: Directory) -> FlowResult:
        return self._ask(who, state, directory)

    def _ask(self, who: Who, state: GesturesState, directory: Directory,
             intro: str | None = None) -> FlowResult:
        """Ask the question of ``state`` (again)."""
        t = who.t
        if state.step == "category":
            return self.categories(who, directory, state.context, intro=intro)
        if state.step == "pick" and state.category:
            return self.gestures_of(who, directory, state, intro=intro)
        if state.step == "drop":
            return self.drop_list(who, directory, intro=intro)
        if state.step in ("cadence", "when"):
            text = t.gettext("When shall I ask you how it goes?")
            return self._waiting(who, state, text, intro, *cadence_choices(t))
        if state.step == "offer" and state.alert_id is not None:
            return self._waiting(who, state, offer_question(t), intro, *yes_no(t))
        if state.step == "check_in" and state.check_in_id is not None and state.text:
            return self._waiting(who, state, check_in_question(t, _in(who, state.text)), intro,
                                 *check_in_choices(t, state.check_in_id))
        if state.step == "easier" and state.easier:
            easier = next((g for g in directory.gesture_catalogue()
                           if g.slug == state.easier), None)
            if easier is not None:
                return self._waiting(who, state, _easier_question(who, easier), intro,
                                     *yes_no(t))
        return self.overview(who, directory, intro=intro)

    def _waiting(self, who: Who, state: GesturesState, text: str, intro: str | None,
                 *choices: Choice) -> FlowResult:
        return FlowResult(replies=(say(who, f"{intro}\n{text}" if intro else text, *choices),),
                          state=self.keep(state))

    def step(self, message: IncomingMessage, who: Who, state: GesturesState,
             directory: Directory) -> FlowResult:
        t = who.t
        again = _again(t)
        if state.step == "overview":
            return self._on_overview(message, who, directory)
        if state.step == "category":
            choice = match_choice(message, _category_choices(who, directory.gesture_catalogue()),
                                  who.locale)
            if choice is None:
                return self._ask(who, state, directory, intro=again)
            picked = state.model_copy(update={"category": choice.key[len(CATEGORY_PREFIX):]})
            return self.gestures_of(who, directory, picked)
        if state.step == "pick":
            return self._on_pick(message, who, state, directory)
        if state.step in ("cadence", "when"):
            choice = match_choice(message, cadence_choices(t), who.locale)
            if choice is None:
                return self._ask(who, state, directory, intro=again)
            cadence = choice.key[len(CADENCE_PREFIX):]
            slug = state.slug if state.step == "cadence" else None
            return _done(who, _cadence_done(t, cadence), SetCheckInCadence(cadence, slug))
        if state.step == "drop":
            mine = directory.my_commitments(who.contact_id) if who.contact_id else ()
            choices = [Choice(f"{DROP_PREFIX}{c.slug}", _in(who, c.text)) for c in mine]
            choice = match_choice(message, choices, who.locale)
            if choice is None:
                return self._ask(who, state, directory, intro=again)
            return _done(who, t.gettext("Done: this gesture is off your list. "
                                        "Thank you for trying it!"),
                         DropGesture(choice.key[len(DROP_PREFIX):]))
        if state.step == "offer":
            return self._on_offer(message, who, state, directory)
        if state.step == "check_in":
            return self._on_check_in(message, who, state, directory)
        if state.step == "easier":
            return self._on_easier(message, who, state, directory)
        return self.overview(who, directory)

    def _on_overview(self, message: IncomingMessage, who: Who, directory: Directory
                     ) -> FlowResult:
        t = who.t
        mine = directory.my_commitments(who.contact_id) if who.contact_id else ()
        choices = [Choice(CHOOSE, t.gettext("Choose a gesture"))] \
            if len(mine) < MAX_ACTIVE_COMMITMENTS else []
        if mine:
            choices += [Choice(DROP, t.gettext("Drop one")),
                        Choice(WHEN, t.gettext("When to ask me"))]
        choice = match_choice(message, choices, who.locale)
        if choice is None:
            return self.overview(who, directory, intro=_again(t))
        if choice.key == CHOOSE:
            return self.categories(who, directory)
        if choice.key == DROP:
            return self.drop_list(who, directory)
        return self._ask(who, GesturesState(step="when"), directory)

    def _on_pick(self, message: IncomingMessage, who: Who, state: GesturesState,
                 directory: Directory) -> FlowResult:
        t = who.t
        catalogue = {g.slug: g for g in directory.gesture_catalogue()}
        choices = [Choice(f"{PICK_PREFIX}{g.slug}", _in(who, g.text))
                   for g in catalogue.values() if g.category == state.category]
        taken = {c.slug for c in directory.my_commitments(who.contact_id)} \
            if who.contact_id else set()
        choices = [c for c in choices if c.key[len(PICK_PREFIX):] not in taken]
        choice = match_choice(message, [*choices, Choice(OTHER_KINDS, t.gettext("Other kinds"))],
                              who.locale)
        if choice is None:
            return self._ask(who, state, directory, intro=_again(t))
        if choice.key == OTHER_KINDS:
            return self.categories(who, directory, state.context)
        slug = choice.key[len(PICK_PREFIX):]
        if len(taken) >= MAX_ACTIVE_COMMITMENTS:
            return self.categories(who, directory, state.context)
        chosen = t.gettext("Chosen: {gesture}. Thank you! Nobody checks: it is a promise "
                           "to yourself.", gesture=_in(who, catalogue[slug].text))
        ask = t.gettext("When shall I ask you how it goes?")
        return FlowResult(
            replies=(say(who, chosen), say(who, ask, *cadence_choices(t))),
            state=self.keep(GesturesState(step="cadence", slug=slug, context=state.context)),
            effects=(ChooseGesture(slug, context=state.context),))

    def _on_offer(self, message: IncomingMessage, who: Who, state: GesturesState,
                  directory: Directory) -> FlowResult:
        t = who.t
        choice = _yes_or_no(message, who)
        if choice is None or state.alert_id is None:
            return self._ask(who, state, directory, intro=_again(t))
        if choice == NO:
            return _done(who, t.gettext("No problem. Thank you!"),
                         AnswerGestureOffer(state.alert_id, accepted=False))
        return self.categories(who, directory, context="offer",
                               effects=(AnswerGestureOffer(state.alert_id, accepted=True),))

    def _on_check_in(self, message: IncomingMessage, who: Who, state: GesturesState,
                     directory: Directory) -> FlowResult:
        t = who.t
        if state.check_in_id is None or not state.slug:
            return self.overview(who, directory)
        choices = check_in_choices(t, state.check_in_id)
        choice = match_choice(message, choices, who.locale)
        if choice is None and not message.choice_key and is_yes(message.text, who.locale):
            choice = choices[0]
        if choice is None:
            return self._ask(who, state, directory, intro=_again(t))
        answer = CheckInAnswer(choice.key.rsplit(":", 1)[1])
        recorded = AnswerCheckIn(state.check_in_id, answer.value)
        thanks = _thanks_for(t, answer)
        if answer is CheckInAnswer.NOT_THIS_TIME:
            mine = directory.my_commitments(who.contact_id) if who.contact_id else ()
            easier = easier_than(directory.gesture_catalogue(), mine, state.slug)
            if easier is not None:
                waiting = state.model_copy(update={"step": "easier", "easier": easier.slug})
                return FlowResult(replies=(say(who, thanks),
                                           say(who, _easier_question(who, easier), *yes_no(t))),
                                  state=self.keep(waiting), effects=(recorded,))
        return _done(who, thanks, recorded)

    def _on_easier(self, message: IncomingMessage, who: Who, state: GesturesState,
                   directory: Directory) -> FlowResult:
        t = who.t
        choice = _yes_or_no(message, who)
        if choice is None:
            return self._ask(who, state, directory, intro=_again(t))
        easier = next((g for g in directory.gesture_catalogue() if g.slug == state.easier), None)
        if choice == NO or easier is None or not state.slug:
            return _done(who, t.gettext("No problem. Go at your own pace."))
        chosen = t.gettext("Chosen: {gesture}. Thank you! Nobody checks: it is a promise "
                           "to yourself.", gesture=_in(who, easier.text))
        return _done(who, chosen, SwapGesture(dropped=state.slug, chosen=easier.slug))


MY_GESTURES = MyGestures()


def _easier_question(who: Who, easier: GestureView) -> str:
    return who.t.gettext("Perhaps an easier one: {gesture}. Would you like it instead?",
                         gesture=_in(who, easier.text))


def _yes_or_no(message: IncomingMessage, who: Who) -> str | None:
    choice = match_choice(message, yes_no(who.t), who.locale)
    if choice is not None:
        return choice.key
    if message.choice_key is None and is_no(message.text, who.locale):
        return NO
    return None


# --------------------------------------------------------------------------------------------
# Entry points from elsewhere: the questionnaire's end, a check-in's buttons, the scheduler
# --------------------------------------------------------------------------------------------

def offer_after(who: Who, thanks: str, alert_id: int, effects: Sequence[Effect]) -> FlowResult:
    """The end of the post-alert questionnaire, for someone who may be offered a gesture:
    the thanks, then "Would you like to choose a gesture for next time?"."""
    t = who.t
    text = f"{thanks}\n{offer_question(t)}"
    state = GesturesState(step="offer", alert_id=alert_id)
    return FlowResult(replies=(say(who, text, *yes_no(t), kind=KIND_OFFER),),
                      state=MY_GESTURES.keep(state),
                      effects=(*effects, OfferGesture(alert_id)))


def is_check_in_button(message: IncomingMessage) -> bool:
    return bool(message.choice_key and message.choice_key.startswith(CHECK_IN_PREFIX))


def answer_check_in_button(message: IncomingMessage, who: Who, paused: Paused | None
                           ) -> FlowResult:
    """A tap under a check-in while something else was pending (kept paused): recorded and
    thanked, with no follow-up question."""
    _, check_in, answer = (message.choice_key or "").split(":", 2) \
        if (message.choice_key or "").count(":") == 2 else ("", "", "")
    if not check_in.isdigit() or answer not in {a.value for a in CheckInAnswer}:
        return show_menu(who, paused=paused)
    result = show_menu(who, intro=_thanks_for(who.t, CheckInAnswer(answer)), paused=paused)
    return FlowResult(replies=result.replies, state=result.state,
                      effects=(AnswerCheckIn(int(check_in), answer),))


class CheckInMessages:
    """The scheduler's renderer for a check-in: one message in the reader's language, which
    opens the check-in's question (``scheduler/check_ins.py``)."""

    def render(self, check_in_id: int, slug: str, text: Mapping[str, str],
               community: Community, contact: Contact) -> RenderedMessage:
        locale = choose_locale(contact.locale, None, community.default_locale)
        t = translator(locale)
        gesture = localized(text, locale, community.default_locale)
        choices = check_in_choices(t, check_in_id)
        payload = {"text": check_in_question(t, gesture), "locale": locale,
                   "choices": [{"key": c.key, "label": c.label} for c in choices]}
        state = GesturesState(step="check_in", check_in_id=check_in_id, slug=slug,
                              text=dict(text))
        data = state.model_dump(mode="json", exclude={"step"}, exclude_none=True)
        # It may take over what scheduled messages take over (a questionnaire left unanswered
        # for hours included), but not another check-in still waiting, nor "My gestures":
        # the scheduler asks that one later, so a typed "1" always answers one question.
        return RenderedMessage(kind=KIND_CHECK_IN, payload=payload,
                               opens=opening(FLOW, "check_in", data, ttl=CHECK_IN_WAIT))
