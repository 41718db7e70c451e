"""A drill (an exercise) runs like an alert, and everything residents read says it is one:
planned from the chat, the API or the command line, in French and Arabic."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from bot.conversation.inbox import handle_incoming
from bot.flows.alert import AlertMessages, drill_label, post_alert_respondents
from bot.flows.base import PlanAlert
from bot.flows.results import AlertResultMessages, community_result_text, own_result_text
from bot.i18n import translator
from core.alerts import Alert, AlertStage
from core.config import SUPPORTED_LOCALES, Settings, get_settings
from core.db import make_engine, migrate, session_scope
from core.demo import seed_demo
from core.messages import IncomingMessage
from core.models import Community, Contact, OutboxMessage, Role, SubjectKind
from meters.analysis.impact import CommunityImpact, HouseholdImpact
from scheduler.timeline import run_due_steps
from tests.bot.flows.conversation import Conversation, member
from tests.fakes.community import seed_residents

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Brussels
START = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # Thursday 17:00
AUTH = {"Authorization": "Bearer s3cret"}
COMMUNITY = Community(id=1, slug="echappee", name="L'Échappée", join_code="ECH",
                      timezone="Europe/Brussels")
DRILL = Alert(id=7, community_id=1, starts_at=START, ends_at=START + timedelta(hours=2),
              drill=True)
STAGES = (AlertStage.NOTICE_24H, AlertStage.NOTICE_30MIN, AlertStage.START, AlertStage.END,
          AlertStage.CANCELLATION)
LABEL = {"fr": "Voisins (exercice) : ", "ar": "Voisins (تمرين): ",
         "nl": "Voisins (oefening): ", "en": "Voisins (exercise): ",
         "es": "Voisins (simulacro): "}


def _at(moment: datetime) -> datetime:
    return moment


def _render(stage: AlertStage, alert: Alert, locale: str) -> str:
    contact = Contact(id=1, community_id=1, locale=locale)
    return str(AlertMessages().render(stage, alert, COMMUNITY, contact).payload["text"])


# -- the texts -----------------------------------------------------------------------------

@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_drill_message_says_it_is_an_exercise_once(locale: str) -> None:
    real = replace_drill(False)
    for stage in STAGES:
        text = _render(stage, DRILL, locale)
        assert text.startswith(LABEL[locale]), text
        assert text.count("Voisins") == 1, text
        # The rest is the real alert's message, word for word.
        assert text.removeprefix(LABEL[locale]) == \
            _render(stage, real, locale).split(":", 1)[1].lstrip()


def replace_drill(drill: bool) -> Alert:
    return Alert(id=DRILL.id, community_id=1, starts_at=DRILL.starts_at,
                 ends_at=DRILL.ends_at, drill=drill)


def test_french_and_arabic_drill_messages_read_naturally() -> None:
    assert _render(AlertStage.NOTICE_24H, DRILL, "fr") == (
        "Voisins (exercice) : alerte réseau jeudi à 17:00, pendant 2 heures. "
        "Pouvez-vous consommer moins à ce moment-là ? Merci !")
    assert _render(AlertStage.END, DRILL, "ar") == (
        "Voisins (تمرين): انتهى التنبيه. شكرًا! يمكنك استخدام الكهرباء كالمعتاد.")


def test_a_text_without_the_usual_start_still_gets_the_label() -> None:
    assert drill_label(translator("fr"), "Merci !") == "Voisins (exercice) : Merci !"


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_the_results_of_a_drill_are_labelled(locale: str) -> None:
    t = translator(locale)
    impact = CommunityImpact(12, True, 10.0, 12.0, -2.0, -16.7)
    contact = Contact(id=3, community_id=1, locale=locale)
    collective = AlertResultMessages().render(DRILL, COMMUNITY, contact, impact)["text"]
    assert collective == drill_label(t, community_result_text(t, impact))
    assert collective.startswith(LABEL[locale])
    group = AlertResultMessages().render_for_group(DRILL, COMMUNITY, impact)["text"]
    assert group.startswith(LABEL["fr"])  # the community's language
    real = AlertResultMessages().render(replace_drill(False), COMMUNITY, contact, impact)
    assert "(" + LABEL[locale].split("(")[1] not in real["text"]
    mine = HouseholdImpact(household=1, valid=True, alert_kwh=1.0, reference_kwh=1.5,
                           delta_kwh=-0.5, percent=-33.3, after_kwh=None, before_kwh=None,
                           method="same_slots")
    own = own_result_text(t, DRILL, COMMUNITY, mine)
    assert own.startswith(t.gettext("That alert was an exercise.") + " ")
    assert own.startswith({"fr": "Cette alerte était un exercice.",
                           "ar": "كان ذلك التنبيه تمرينًا."}[locale])
    assert own_result_text(t, DRILL, COMMUNITY, None).startswith(
        t.gettext("That alert was an exercise."))


# -- planned in the chat -------------------------------------------------------------------

def _facilitator(locale: str) -> Conversation:
    chat = member(locale, channel="telegram")
    chat.who = replace(chat.who, role=Role.FACILITATOR)
    return chat


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_a_facilitator_plans_a_drill_in_the_chat(locale: str) -> None:
    chat = _facilitator(locale)
    for text in ("menu", "1", "tomorrow 18:00", "3h", "1"):
        chat.says(text, at=NOW)
    assert chat.choice_keys == ["real", "drill"]
    labels = [c.label for m in chat.last for c in m.choices]
    assert labels[1] == translator(locale).gettext("An exercise")
    chat.says("2", at=NOW)  # an exercise
    chat.says("1", at=NOW)  # the whole community
    preview = chat.text
    # Every language of the recipients, each preview marked as an exercise.
    for line in preview.splitlines():
        if line.startswith("[") and "]" in line:
            shown_locale = line[1:line.index("]")]
            assert line.split("] ", 1)[1].startswith(LABEL[shown_locale]), line
    assert "[fr]" in preview and "[ar]" in preview
    chat.says("1", at=NOW)
    assert chat.effects == [PlanAlert(starts_at="2026-12-02T18:00:00+01:00",
                                      duration_minutes=180, kind="planned", cluster=None,
                                      drill=True)]


def test_a_drill_planned_over_the_inbox_is_stored_as_one(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_demo(session)
    for index, text in enumerate(["menu", "1", "demain 18:00", "2h", "2", "2", "1", "1"]):
        at = NOW + timedelta(seconds=index)
        handle_incoming(engine, IncomingMessage("console", "demo-facilitator", text,
                                                f"drill-{index}"), clock=functools.partial(_at, at))
    with Session(engine) as session:
        alert = session.exec(select(Alert)).one()
        assert alert.drill is True and alert.kind == "surprise"


# -- planned over the API, run by the scheduler ---------------------------------------------

@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seed_residents(engine, NOW)
    app = create_app(engine, Settings(admin_token="s3cret", database_url="sqlite://"),
                     clock=lambda: NOW)
    with TestClient(app) as test_client:
        yield test_client


def test_a_drill_over_the_api_sends_only_labelled_messages(engine: Engine,
                                                          client: TestClient) -> None:
    response = client.post("/api/v1/communities/echappee/alerts", headers=AUTH, json={
        "starts_at": "2026-12-03T17:00:00+01:00", "duration_minutes": 60, "kind": "planned",
        "drill": True})
    assert response.status_code == 201, response.text
    alert_id = response.json()["id"]
    assert response.json()["drill"] is True
    shown = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert shown["drill"] is True
    real = client.post("/api/v1/communities/echappee/alerts", headers=AUTH, json={
        "starts_at": "2026-12-05T17:00:00+01:00", "duration_minutes": 60,
        "kind": "surprise"}).json()
    assert real["drill"] is False
    # Walk the drill to its questionnaire (the morning after, out of quiet hours).
    for moment in (START - timedelta(days=1), START - timedelta(minutes=30), START,
                   START + timedelta(hours=1), START + timedelta(hours=16)):
        run_due_steps(engine, AlertMessages(), clock=functools.partial(_at, moment),
                      respondents=post_alert_respondents)
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            OutboxMessage.subject_kind == SubjectKind.ALERT.value,
            OutboxMessage.subject_id == alert_id).order_by(col(OutboxMessage.id))).all()
    stages = {row.stage for row in rows}
    assert stages == {"notice_24h", "notice_30min", "start", "end", "questionnaire"}
    for row in rows:
        locale = row.payload["locale"]
        assert row.payload["text"].startswith(LABEL[locale]), row.payload["text"]
    assert {row.payload["locale"] for row in rows} == {"fr", "nl", "ar"}
    impact = client.get(f"/api/v1/alerts/{alert_id}/impact", headers=AUTH)
    assert impact.status_code == 200 and impact.json()["drill"] is True
    assert client.get(f"/api/v1/alerts/{real['id']}/impact",
                      headers=AUTH).json()["drill"] is False


# -- and from the command line -------------------------------------------------------------

def test_the_command_line_plans_and_shows_a_drill(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("VOISINS_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    migrate(engine)
    with session_scope(engine) as session:
        seed_demo(session)
    engine.dispose()
    try:
        runner = CliRunner()
        start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
        planned = runner.invoke(cli_app, ["alert", "plan", "--community", "demo",
                                          "--starts-at", start, "--duration", "60", "--drill"])
        assert planned.exit_code == 0, planned.output
        alert_id = json.loads(planned.output)["id"]
        shown = runner.invoke(cli_app, ["alert", "show", str(alert_id)])
        assert json.loads(shown.output)["drill"] is True
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_drills_result_still_fits_two_sms_segments(locale: str) -> None:
    from bot.channels.sms_segments import count_segments, sms_text
    from tests.bot.flows.test_result_messages import CASES

    contact = Contact(id=3, community_id=1, locale=locale)
    for case, impact in CASES.items():
        text = AlertResultMessages().render(DRILL, COMMUNITY, contact, impact)["text"]
        assert count_segments(sms_text(text)).segments <= 2, (case, text)
