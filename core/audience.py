"""Who a workshop invitation or a broadcast goes to.

An ``AudienceSpec`` says it in words a facilitator uses: the whole community, one cluster,
residents reading given languages, those who came to earlier workshops (criteria add up:
a cluster *and* languages narrows). ``resolve_audience`` turns it into people: consented,
not stopped residents, each with one reachable address (the one they used last, as for
alerts), minus those who muted the message's topic. ``channel_counts`` sizes it per channel.

    spec = AudienceSpec.from_json({"cluster": "Cabine A", "languages": ["fr", "ar"]})
    spec.check(session, community_id)            # AudienceError (a 4xx / a chat reply)
    audience = resolve_audience(session, community_id, spec, topic=TOPIC_WORKSHOPS)
    audience.channel_counts()                     # {"telegram": 240, "sms": 72}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from core import topics
from core.alerts import audience_for, cluster_id_by_name
from core.config import SUPPORTED_LOCALES
from core.models import ChannelIdentity, Contact
from core.workshop_tables import Answer, Workshop, WorkshopRsvp

# Topics a resident may mute without stopping alerts (STOP still stops everything).
TOPIC_WORKSHOPS = "workshops"
TOPIC_NEWS = "news"
TOPICS = (TOPIC_WORKSHOPS, TOPIC_NEWS)


class AudienceError(ValueError):
    """An audience that cannot be used; the message says why (for a 4xx or a chat reply)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AudienceSpec:
    """Who, in the facilitator's words. Empty: the whole community."""

    cluster: str | None = None  # a cluster's name
    languages: tuple[str, ...] = ()  # only residents reading one of these
    came_to: tuple[int, ...] = ()  # only those who came to one of these workshops (ids)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> AudienceSpec:
        """From the API's / the table's JSON; raises ``AudienceError`` on a malformed one."""
        if not raw:
            return cls()
        unknown = set(raw) - {"cluster", "languages", "came_to"}
        if unknown:
            raise AudienceError(f"unknown audience field(s): {', '.join(sorted(unknown))}")
        cluster = raw.get("cluster")
        if cluster is not None and (not isinstance(cluster, str) or not cluster.strip()):
            raise AudienceError("audience.cluster must be a cluster's name")
        languages = raw.get("languages") or []
        if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
            raise AudienceError("audience.languages must be a list of language codes")
        bad = [x for x in languages if x not in SUPPORTED_LOCALES]
        if bad:
            raise AudienceError(f"unknown language(s) {', '.join(bad)}: one of "
                                f"{', '.join(SUPPORTED_LOCALES)}")
        came_to = raw.get("came_to") or []
        if not isinstance(came_to, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in came_to):
            raise AudienceError("audience.came_to must be a list of workshop ids")
        return cls(cluster=cluster.strip() if cluster else None,
                   languages=tuple(dict.fromkeys(languages)),
                   came_to=tuple(dict.fromkeys(came_to)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.cluster:
            out["cluster"] = self.cluster
        if self.languages:
            out["languages"] = list(self.languages)
        if self.came_to:
            out["came_to"] = list(self.came_to)
        return out

    @property
    def is_everyone(self) -> bool:
        return not (self.cluster or self.languages or self.came_to)

    def check(self, session: Session, community_id: int) -> None:
        """Raise ``AudienceError`` unless the cluster and workshops exist in the community."""
        if self.cluster and cluster_id_by_name(session, community_id, self.cluster) is None:
            raise AudienceError(f"unknown cluster {self.cluster!r}", "cluster")
        for workshop_id in self.came_to:
            workshop = session.get(Workshop, workshop_id)
            if workshop is None or workshop.community_id != community_id:
                raise AudienceError(f"no workshop {workshop_id} in this community", "workshop")


@dataclass
class Audience:
    """The people a spec resolved to: (contact, the identity to write to) each."""

    members: list[tuple[Contact, ChannelIdentity]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[tuple[Contact, ChannelIdentity]]:
        return iter(self.members)

    def channel_counts(self) -> dict[str, int]:
        """How many people per channel (the channel of the address each is written to)."""
        return channel_counts(identity for _, identity in self.members)

    def locales(self) -> list[str]:
        """The languages the audience reads, most readers first."""
        return [locale for locale, _ in Counter(c.locale for c, _ in self.members).most_common()]


def channel_counts(identities: Iterable[ChannelIdentity]) -> dict[str, int]:
    return dict(Counter(identity.channel for identity in identities))


def came_to_contact_ids(session: Session, workshop_ids: Iterable[int]) -> set[int]:
    """Who came to any of these workshops: said they came in the follow-up, or said Yes
    (with a place) and did not say they missed it."""
    ids = list(workshop_ids)
    if not ids:
        return set()
    rows = session.exec(select(WorkshopRsvp.contact_id, WorkshopRsvp.answer,
                               WorkshopRsvp.attended)
                        .where(col(WorkshopRsvp.workshop_id).in_(ids))).all()
    return {contact_id for contact_id, answer, attended in rows
            if attended is True or (attended is None and answer == Answer.YES.value)}


def muted_contact_ids(session: Session, community_id: int, topic: str) -> set[int]:
    """Contacts of the community who muted ``topic`` (``core.topics``)."""
    return topics.muted_contact_ids(session, community_id, topic)


def resolve_audience(session: Session, community_id: int, spec: AudienceSpec,
                     topic: str | None = None) -> Audience:
    """The people ``spec`` covers: consented, not stopped residents with a reachable
    address (``core.alerts.audience_for``), narrowed by the spec, minus those who muted
    ``topic`` (None: a message no one can mute). Unknown cluster: ``AudienceError``."""
    cluster_id: int | None = None
    if spec.cluster:
        cluster_id = cluster_id_by_name(session, community_id, spec.cluster)
        if cluster_id is None:
            raise AudienceError(f"unknown cluster {spec.cluster!r}", "cluster")
    members = audience_for(session, community_id, cluster_id)
    if spec.languages:
        members = [(c, i) for c, i in members if c.locale in spec.languages]
    if spec.came_to:
        came = came_to_contact_ids(session, spec.came_to)
        members = [(c, i) for c, i in members if c.id in came]
    if topic is not None:
        muted = muted_contact_ids(session, community_id, topic)
        if muted:
            members = [(c, i) for c, i in members if c.id not in muted]
    return Audience(members)


def reachable_members(session: Session, contact_ids: Iterable[int]
                      ) -> list[tuple[Contact, ChannelIdentity]]:
    """These contacts (in the given order), each with the address to write to, leaving
    out anyone stopped, without consent, erased or unreachable: for messages to people
    already chosen (a cancellation to those who said Yes, a freed place)."""
    wanted = list(dict.fromkeys(contact_ids))
    if not wanted:
        return []
    rows = session.exec(
        select(Contact, ChannelIdentity)
        .join(ChannelIdentity, col(ChannelIdentity.contact_id) == Contact.id)
        .where(col(Contact.id).in_(wanted), col(Contact.consented_at).is_not(None),
               col(Contact.opted_out_at).is_(None), col(ChannelIdentity.reachable).is_(True))
        .order_by(col(Contact.id), col(ChannelIdentity.last_inbound_at).desc())).all()
    chosen: dict[int, tuple[Contact, ChannelIdentity]] = {}
    for contact, identity in rows:
        assert contact.id is not None
        chosen.setdefault(contact.id, (contact, identity))
    return [chosen[contact_id] for contact_id in wanted if contact_id in chosen]
