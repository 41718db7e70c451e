"""A dialogue driver: "resident says X, bot answers Y", answered the way the inbox answers.

The router reads a ``MemoryDirectory`` (each test shapes what it finds there); everything
else is the inbox's own code on a SQLite database of the conversation's own: the message is
answered by ``bot.conversation.inbox.answer`` (route, then ``apply_effects``, then the replies
in the order they are sent), and who is writing is read back with ``who_is`` before every
message. Setting ``who`` writes it to that database (a role, a linked home, a name...).
"""

from __future__ import annotations

import atexit
import itertools
import json
import shutil
import tempfile
import uuid
import weakref
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.conversation.inbox import answer, who_is
from bot.flows.base import CommunityView, Effect, FlowState, HouseholdView, Who
from core.config import Settings, get_settings
from core.db import make_engine, migrate, session_scope
from core.gestures import load_gestures
from core.identities import touch_identity
from core.messages import IncomingMessage, OutgoingMessage
from core.models import ChannelIdentity, Community, Contact, Household
from tests.fakes.directory import DEMO, MemoryDirectory

ADDRESS = "+32470000000"
# A resident's menu, in order.
RESIDENT_MENU = ("consumption", "gestures", "appliance_exercise", "workshop", "my_data",
                 "topics", "language", "forget_me", "help")
# The contact every dialogue's resident becomes (a neighbour joined first, as number 6).
CONTACT_ID = 7
_ids = itertools.count(1)
_template: Path | None = None


def _template_database() -> Path:
    """One migrated database per test process; each conversation starts from a copy."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="voisins-dialogues-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        with session_scope(engine) as session:
            load_gestures(session, _now())  # the catalogue, as `voisins serve` loads it
        engine.dispose()
        _template = path
    return _template


def _drop(engine: Engine, path: Path) -> None:
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Conversation:
    def __init__(self, who: Who | None = None, state: FlowState | None = None,
                 directory: MemoryDirectory | None = None,
                 settings: Settings | None = None) -> None:
        start = who or Who(channel="sms", locale="fr")
        self.channel = start.channel
        self.settings = settings or get_settings()
        self.state = state or FlowState()
        self.effects: list[Effect] = []
        self.last: tuple[OutgoingMessage, ...] = ()
        template = _template_database()
        path = template.with_name(f"{uuid.uuid4().hex}.db")
        shutil.copyfile(template, path)
        self.engine = make_engine(f"sqlite:///{path}")
        weakref.finalize(self, _drop, self.engine, path)
        with session_scope(self.engine) as session:
            identity = touch_identity(session, self.channel, ADDRESS, _now(),
                                      locale_hint=start.locale)
            assert identity.id is not None
            self.identity_id = identity.id
        self._directory = directory or MemoryDirectory()
        self._write_directory()
        self.who = start

    # -- what the tests read and set ---------------------------------------------------------

    @property
    def who(self) -> Who:
        return self._who

    @who.setter
    def who(self, who: Who) -> None:
        assert who.channel == self.channel, "a conversation stays on its channel"
        with session_scope(self.engine) as session:
            self._write_who(session, who)
        self._read_who()

    @property
    def directory(self) -> MemoryDirectory:
        return self._directory

    @directory.setter
    def directory(self, directory: MemoryDirectory) -> None:
        self._directory = directory
        self._write_directory()
        self._read_who()

    def says(self, text: str, choice_key: str | None = None, at: datetime | None = None
             ) -> tuple[OutgoingMessage, ...]:
        now = at or _now()
        message = IncomingMessage(channel=self.channel, address=ADDRESS, text=text,
                                  provider_id=str(next(_ids)), choice_key=choice_key,
                                  received_at=now)
        with session_scope(self.engine) as session:
            identity = session.get(ChannelIdentity, self.identity_id)
            assert identity is not None
            who = who_is(session, identity, self.settings)
            self.directory.database = session
            try:
                result = answer(session, identity, message, self.state, who, self.directory,
                                now, self.settings)
            finally:
                self.directory.database = None
        # Stored as JSON between messages, as the inbox stores it.
        self.state = FlowState(result.state.flow, result.state.step,
                               json.loads(json.dumps(result.state.data)))
        self.effects.extend(result.effects)
        self.last = result.replies
        self._read_who()
        return result.replies

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.last)

    @property
    def choice_keys(self) -> list[str]:
        return [c.key for m in self.last for c in m.choices]

    # -- the database behind it --------------------------------------------------------------

    def _read_who(self) -> None:
        with Session(self.engine) as session:
            identity = session.get(ChannelIdentity, self.identity_id)
            assert identity is not None
            self._who = who_is(session, identity, self.settings)
        self.engine.dispose()

    def _write_directory(self) -> None:
        """The communities and households the directory knows exist in the database, so that
        effects naming them (joining, linking a home) can be applied."""
        with session_scope(self.engine) as session:
            for code, view in self.directory.communities.items():
                _put_community(session, view, join_code=code)
            first = next(iter(self.directory.communities.values()), DEMO)
            _put_community(session, first)
            for code, household in self.directory.households.items():
                _put_household(session, first.id, household, code)
            if session.get(Contact, CONTACT_ID - 1) is None:
                session.add(Contact(id=CONTACT_ID - 1, community_id=first.id, locale="fr",
                                    name="Neighbour", consented_at=_now(),
                                    consent_version=self.settings.consent_version))

    def _write_who(self, session: Session, who: Who) -> None:
        identity = session.get(ChannelIdentity, self.identity_id)
        assert identity is not None
        identity.locale_hint = who.locale
        identity.display_name = who.display_name
        if who.contact_id is None:
            identity.contact_id = None
            session.add(identity)
            return
        community = who.community or DEMO
        _put_community(session, community)
        contact = session.get(Contact, identity.contact_id or who.contact_id)
        if contact is None:
            contact = Contact(id=who.contact_id, community_id=community.id, consented_at=_now(),
                              consent_version=self.settings.consent_version)
        contact.community_id = community.id
        contact.locale = who.locale
        contact.name = who.name
        contact.role = who.role.value
        contact.opted_out_at = (contact.opted_out_at or _now()) if who.opted_out else None
        contact.household_id = None
        if who.household is not None:
            _put_household(session, community.id, who.household, f"CODE{who.household.id}")
            contact.household_id = who.household.id
        session.add(contact)
        session.flush()
        identity.contact_id = contact.id
        session.add(identity)


def _now() -> datetime:
    return datetime.now(UTC)


def _put_community(session: Session, view: CommunityView, join_code: str | None = None) -> None:
    row = session.get(Community, view.id) or Community(
        id=view.id, slug=view.slug, name=view.name, join_code=join_code or f"C{view.id}")
    row.name, row.timezone, row.default_locale = view.name, view.timezone, view.default_locale
    if join_code:
        row.join_code = join_code
    session.add(row)
    session.flush()


def _put_household(session: Session, community_id: int, view: HouseholdView, code: str
                   ) -> None:
    if session.get(Household, view.id) is None:
        session.add(Household(id=view.id, community_id=community_id, ref=view.ref, code=code))
        session.flush()


def member(locale: str, channel: str = "sms") -> Conversation:
    return Conversation(who=Who(channel=channel, locale=locale, contact_id=CONTACT_ID,
                                community=DEMO))

