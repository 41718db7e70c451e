"""Communities, their clusters and households, and the rules their settings follow."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.clock import Clock, utc_now
from core.codes import new_code
from core.config import SUPPORTED_LOCALES
from core.models import Cluster, Community, Contact, Household

SLUG_PATTERN = re.compile(r"^[a-z0-9-]{2,40}$")
QUIET_HOURS_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
# Group figures shown to staff cover at least this many households, whatever a community asks.
MIN_PRIVACY_K = 5
MAX_NAME_LENGTH = 120
# What a cluster stands for: the homes behind one low-voltage cabin, one building, one street,
# or any other group the facilitators keep.
CLUSTER_KINDS: tuple[str, ...] = ("lv_cabin", "building", "street", "group")


class InvalidSetting(ValueError):
    """A community setting that breaks its rule; ``field`` names it, the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def check_slug(slug: str) -> str:
    if not SLUG_PATTERN.fullmatch(slug):
        raise InvalidSetting("slug", "a slug is 2 to 40 characters among a-z, 0-9 and '-'")
    return slug


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidSetting("name", "the name must not be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidSetting("name", f"the name is at most {MAX_NAME_LENGTH} characters")
    return name


def check_timezone(timezone: str) -> str:
    # ZoneInfo alone would take a file path ("../x") or a legacy alias like "UTC0";
    # the IANA list is what people mean.
    if timezone not in available_timezones():
        raise InvalidSetting("timezone", f"{timezone!r} is not an IANA time zone name "
                                         "(e.g. Europe/Brussels)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetting("timezone", f"{timezone!r} is not a known time zone") from None
    return timezone


def check_locale(locale: str) -> str:
    if locale not in SUPPORTED_LOCALES:
        raise InvalidSetting("default_locale", f"{locale!r} is not a language the bot speaks "
                                               f"({', '.join(SUPPORTED_LOCALES)})")
    return locale


def check_quiet_hours(spec: str) -> str:
    if not QUIET_HOURS_PATTERN.fullmatch(spec):
        raise InvalidSetting("quiet_hours", "quiet hours are HH:MM-HH:MM, e.g. 22:00-08:00")
    return spec


def check_privacy_k(privacy_k: int) -> int:
    if privacy_k < MIN_PRIVACY_K:
        raise InvalidSetting("privacy_k", f"group figures must cover at least {MIN_PRIVACY_K} "
                                          "households: privacy_k is 5 or more")
    return privacy_k


@dataclass(frozen=True)
class CommunitySettings:
    """What a community may set; ``None`` leaves a setting as it is (or as the default)."""

    name: str | None = None
    timezone: str | None = None
    default_locale: str | None = None
    quiet_hours: str | None = None
    privacy_k: int | None = None

    def problems(self) -> list[InvalidSetting]:
        """Every broken rule, so one answer can name them all."""
        checks: list[tuple[object, Callable[[Any], object]]] = [
            (self.name, check_name), (self.timezone, check_timezone),
            (self.default_locale, check_locale), (self.quiet_hours, check_quiet_hours),
            (self.privacy_k, check_privacy_k)]
        found = []
        for value, check in checks:
            if value is None:
                continue
            try:
                check(value)
            except InvalidSetting as problem:
                found.append(problem)
        return found


def create_community(session: Session, slug: str, name: str, *, join_code: str | None = None,
                     timezone: str = "Europe/Brussels", default_locale: str = "fr",
                     quiet_hours: str = "22:00-08:00", privacy_k: int = 5,
                     clock: Clock = utc_now) -> Community:
    community = Community(slug=slug, name=name,
                          join_code=(join_code or unused_join_code(session)).upper(),
                          timezone=timezone, default_locale=default_locale,
                          quiet_hours=quiet_hours, privacy_k=privacy_k, created_at=clock())
    session.add(community)
    session.flush()
    return community


def update_community(community: Community, settings: CommunitySettings) -> Community:
    """Apply the settings given (checked by the caller with ``settings.problems()``)."""
    if settings.name is not None:
        community.name = check_name(settings.name)
    for field in ("timezone", "default_locale", "quiet_hours", "privacy_k"):
        value = getattr(settings, field)
        if value is not None:
            setattr(community, field, value)
    return community


def unused_join_code(session: Session) -> str:
    """A join code no community has and no household code equals: a bare code sent by SMS
    must name one thing."""
    while True:
        candidate = new_code()
        if community_by_join_code(session, candidate) is None and \
                session.exec(select(Household).where(Household.code == candidate)).first() is None:
            return candidate


def new_join_code(session: Session, community: Community) -> str:
    """Replace the community's join code: the old one names nothing from now on (members
    stay members; only newcomers need the new one)."""
    community.join_code = unused_join_code(session)
    session.add(community)
    session.flush()
    return community.join_code


def community_locales(session: Session, community: Community) -> list[str]:
    """The languages of a community: its default first, then those its members chose, the
    most spoken first."""
    counts = session.exec(select(Contact.locale, func.count()).where(
        Contact.community_id == community.id).group_by(col(Contact.locale))).all()
    spoken = [locale for locale, _ in sorted(counts, key=lambda lc: (-lc[1], lc[0]))
              if locale in SUPPORTED_LOCALES and locale != community.default_locale]
    return [community.default_locale, *spoken]


def community_by_slug(session: Session, slug: str) -> Community | None:
    return session.exec(select(Community).where(Community.slug == slug)).first()


def community_by_join_code(session: Session, code: str) -> Community | None:
    return session.exec(select(Community).where(Community.join_code == code.upper())).first()


def cluster_by_name(session: Session, community: Community, name: str) -> Cluster | None:
    return session.exec(select(Cluster).where(Cluster.community_id == community.id,
                                              Cluster.name == name)).first()


def add_cluster(session: Session, community: Community, name: str, kind: str = "group"
                ) -> Cluster:
    assert community.id is not None
    cluster = Cluster(community_id=community.id, name=name, kind=kind)
    session.add(cluster)
    session.flush()
    return cluster


def unused_household_code(session: Session, taken: set[str] | None = None) -> str:
    """A household code nobody has, nor a community's join code, nor one in ``taken``."""
    while True:
        candidate = new_code()
        if taken and candidate in taken:
            continue
        if household_by_code(session, candidate) is None and \
                community_by_join_code(session, candidate) is None:
            return candidate


def add_household(session: Session, community: Community, ref: str,
                  cluster: Cluster | None = None, code: str | None = None,
                  clock: Clock = utc_now) -> Household:
    assert community.id is not None
    household = Household(community_id=community.id, ref=ref,
                          code=(code or unused_household_code(session)).upper(),
                          cluster_id=cluster.id if cluster else None, created_at=clock())
    session.add(household)
    session.flush()
    return household


def household_by_code(session: Session, code: str, community_id: int | None = None
                      ) -> Household | None:
    query = select(Household).where(Household.code == code.upper())
    if community_id is not None:
        query = query.where(Household.community_id == community_id)
    return session.exec(query).first()
