"""Admin routes for communities: create, list, show and change one, give it a new join code,
and its clusters.

Every setting is checked by the rules in ``core/communities.py``; a broken rule is a 422 that
names the field and says why, every broken rule at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import HTTPException, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from api.access import PrincipalDep, any_token, by_slug, manage, read, unscoped_admin, write
from api.auth import admin_router
from api.deps import ClockDep, SessionDep, SettingsDep, community_or_404
from api.errors import error_responses
from bot.rendering.invitation_cards import MAX_CARD_LANGUAGES, Ways, community_cards
from core.communities import (
    MAX_NAME_LENGTH,
    InvalidSetting,
    add_cluster,
    check_locale,
    check_name,
    check_privacy_k,
    check_quiet_hours,
    check_slug,
    check_timezone,
    cluster_by_name,
    community_by_slug,
    create_community,
    new_join_code,
)
from core.config import SUPPORTED_LOCALES
from core.models import Cluster, Community, Household

router = admin_router("communities")

# An INTEGER column: and a k above any community's size would hide every group figure.
MAX_PRIVACY_K = 10_000
T = TypeVar("T")
ClusterKind = Literal["lv_cabin", "building", "street", "group"]
Locale = Literal["fr", "nl", "en", "ar", "es"]


def _checked(check: Callable[[T], T], value: T | None) -> T | None:
    """A core rule as a pydantic check: its reason, without pydantic's "Value error, "."""
    if value is None:
        return None
    try:
        return check(value)
    except InvalidSetting as broken:
        raise PydanticCustomError("invalid_setting", broken.reason) from None


class CommunitySettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str | None = Field(default=None, max_length=64,
                                 description="an IANA time zone name, e.g. Europe/Brussels")
    default_locale: str | None = Field(default=None, max_length=8,
                                       description=f"one of {', '.join(SUPPORTED_LOCALES)}")
    quiet_hours: str | None = Field(default=None, max_length=16,
                                    description="HH:MM-HH:MM: no surveys or results then "
                                                "(alerts still go)")
    privacy_k: int | None = Field(default=None, le=MAX_PRIVACY_K,
                                  description="group figures cover at least this many "
                                              "households (5 or more)")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return _checked(check_timezone, value)

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return _checked(check_locale, value)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        return _checked(check_quiet_hours, value)

    @field_validator("privacy_k")
    @classmethod
    def _privacy_k(cls, value: int | None) -> int | None:
        return _checked(check_privacy_k, value)


class CommunityPatch(CommunitySettingsIn):
    """Only the fields sent change; the slug never does (it is in every URL)."""

    name: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _checked(check_name, value)


class CommunityRequest(CommunitySettingsIn):
    slug: str = Field(max_length=40, description="2 to 40 of a-z, 0-9 and '-': in every URL")
    name: str = Field(max_length=MAX_NAME_LENGTH)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _checked(check_slug, value) or value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _checked(check_name, value) or value


class CommunityOut(BaseModel):
    slug: str
    name: str
    join_code: str = Field(description="what newcomers send: JOIN <code>, or /start <code>")
    timezone: str
    default_locale: str
    quiet_hours: str
    privacy_k: int


class ClusterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="e.g. the low-voltage cabin's name")
    kind: ClusterKind = "group"

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise PydanticCustomError("blank", "the name must not be blank")
        return value


class ClusterOut(BaseModel):
    name: str
    kind: str
    households: int


def community_out(community: Community) -> CommunityOut:
    return CommunityOut(slug=community.slug, name=community.name, join_code=community.join_code,
                        timezone=community.timezone, default_locale=community.default_locale,
                        quiet_hours=community.quiet_hours, privacy_k=community.privacy_k)


@router.post("/communities", status_code=status.HTTP_201_CREATED, response_model=CommunityOut,
             responses=error_responses(409), dependencies=[unscoped_admin()])
def create(request: CommunityRequest, session: SessionDep, clock: ClockDep) -> CommunityOut:
    """A new community with a fresh join code; unset settings take the defaults."""
    duplicate = HTTPException(status.HTTP_409_CONFLICT,
                              f"a community {request.slug!r} already exists")
    if community_by_slug(session, request.slug) is not None:
        raise duplicate
    given = request.model_dump(exclude_none=True, exclude={"slug", "name"})
    try:
        community = create_community(session, request.slug, request.name, clock=clock, **given)
    except IntegrityError:  # the same slug created at the same moment by another request
        raise duplicate from None
    return community_out(community)


@router.get("/communities", response_model=list[CommunityOut], dependencies=[any_token()])
def list_communities(session: SessionDep, principal: PrincipalDep) -> list[CommunityOut]:
    """The communities this token may see: all of them, or its own."""
    return [community_out(c) for c in
            session.exec(select(Community).order_by(col(Community.slug))).all()
            if principal.sees(c.id)]


@router.get("/communities/{slug}", response_model=CommunityOut, responses=error_responses(404),
            dependencies=[read(by_slug)])
def show(slug: str, session: SessionDep) -> CommunityOut:
    return community_out(community_or_404(session, slug))


@router.patch("/communities/{slug}", response_model=CommunityOut,
              responses=error_responses(404), dependencies=[manage(by_slug)])
def change(slug: str, request: CommunityPatch, session: SessionDep) -> CommunityOut:
    community = community_or_404(session, slug)
    for field, value in request.model_dump(exclude_none=True).items():
        setattr(community, field, value)
    session.add(community)
    session.flush()
    return community_out(community)


@router.post("/communities/{slug}/join-code", response_model=CommunityOut,
             responses=error_responses(404), dependencies=[write(by_slug)])
def rotate_join_code(slug: str, session: SessionDep) -> CommunityOut:
    """A new join code; the old one stops working at once. Members stay members: only
    newcomers need the new code (printed cards and share kits carry the old one)."""
    community = community_or_404(session, slug)
    new_join_code(session, community)
    return community_out(community)


@router.post("/communities/{slug}/clusters", status_code=status.HTTP_201_CREATED,
             response_model=ClusterOut, responses=error_responses(404, 409),
             dependencies=[write(by_slug)])
def create_cluster(slug: str, request: ClusterRequest, session: SessionDep) -> ClusterOut:
    community = community_or_404(session, slug)
    duplicate = HTTPException(status.HTTP_409_CONFLICT,
                              f"a cluster {request.name!r} already exists in {slug!r}")
    if cluster_by_name(session, community, request.name) is not None:
        raise duplicate
    try:
        cluster = add_cluster(session, community, request.name, kind=request.kind)
    except IntegrityError:
        raise duplicate from None
    return ClusterOut(name=cluster.name, kind=cluster.kind, households=0)


@router.get("/communities/{slug}/clusters", response_model=list[ClusterOut],
            responses=error_responses(404), dependencies=[read(by_slug)])
def list_clusters(slug: str, session: SessionDep) -> list[ClusterOut]:
    community = community_or_404(session, slug)
    counts = dict(session.exec(select(Household.cluster_id, func.count()).where(
        Household.community_id == community.id).group_by(col(Household.cluster_id))).all())
    clusters = session.exec(select(Cluster).where(Cluster.community_id == community.id)
                            .order_by(col(Cluster.name))).all()
    return [ClusterOut(name=c.name, kind=c.kind, households=counts.get(c.id, 0))
            for c in clusters]


@router.get("/communities/{slug}/cards.pdf", response_class=Response,
            dependencies=[read(by_slug)],
            responses={200: {"description": "A4 sheets of eight invitation cards, one per "
                                            "household",
                             "content": {"application/pdf": {
                                 "schema": {"type": "string", "format": "binary"}}}},
                       **error_responses(404)})
def invitation_cards(
    slug: str, session: SessionDep, settings: SettingsDep,
    lang: Annotated[list[Locale] | None, Query(
        max_length=MAX_CARD_LANGUAGES,
        description="the cards' languages, the first labels the code (default: the "
                    "community's language, then those its members speak)")] = None,
    cluster: Annotated[str | None, Query(max_length=64, description="only this cluster's "
                                                                    "households")] = None,
) -> Response:
    """Printable invitation cards for door-to-door work: the community's name, the household
    code, QR codes for Telegram (``https://t.me/<bot>?start=<join code>``, when
    VOISINS_TELEGRAM_BOT_USERNAME is set) and WhatsApp (``https://wa.me/<number>?text=JOIN
    <join code>``, when VOISINS_TWILIO_WHATSAPP_FROM is), and how to join by SMS."""
    # reportlab and the QR encoder load on the first cards, not with every process.
    from bot.rendering.card_pdf import cards_pdf

    community = community_or_404(session, slug)
    chosen_cluster = None
    if cluster is not None:
        chosen_cluster = cluster_by_name(session, community, cluster)
        if chosen_cluster is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no cluster {cluster!r} in {slug!r}")
    cards = community_cards(session, community, Ways.of(settings), lang or (), chosen_cluster)
    if not cards:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no households in {slug!r}"
                            + (f" (cluster {cluster!r})" if cluster else "")
                            + ": import them first (POST .../households.csv)")
    return Response(cards_pdf(cards, title=f"{community.name}: Voisins"),
                    media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{slug}-cards.pdf"'})
