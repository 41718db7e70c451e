"""Communities, their clusters and households."""

from __future__ import annotations

from sqlmodel import Session, select

from core.clock import Clock, utc_now
from core.codes import new_code
from core.models import Cluster, Community, Household


def create_community(session: Session, slug: str, name: str, *, join_code: str | None = None,
                     timezone: str = "Europe/Brussels", default_locale: str = "fr",
                     quiet_hours: str = "22:00-08:00", privacy_k: int = 5,
                     clock: Clock = utc_now) -> Community:
    community = Community(slug=slug, name=name, join_code=(join_code or new_code()).upper(),
                          timezone=timezone, default_locale=default_locale,
                          quiet_hours=quiet_hours, privacy_k=privacy_k, created_at=clock())
    session.add(community)
    session.flush()
    return community


def community_by_slug(session: Session, slug: str) -> Community | None:
    return session.exec(select(Community).where(Community.slug == slug)).first()


def community_by_join_code(session: Session, code: str) -> Community | None:
    return session.exec(select(Community).where(Community.join_code == code.upper())).first()


def add_cluster(session: Session, community: Community, name: str, kind: str = "group"
                ) -> Cluster:
    assert community.id is not None
    cluster = Cluster(community_id=community.id, name=name, kind=kind)
    session.add(cluster)
    session.flush()
    return cluster


def add_household(session: Session, community: Community, ref: str,
                  cluster: Cluster | None = None, code: str | None = None,
                  clock: Clock = utc_now) -> Household:
    assert community.id is not None
    while code is None:
        candidate = new_code()
        if household_by_code(session, candidate) is None:
            code = candidate
    household = Household(community_id=community.id, ref=ref, code=code.upper(),
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
