"""Printable invitation cards: ``GET /api/v1/communities/{slug}/cards.pdf`` and ``voisins
community cards``. The PDF is rendered (pypdfium2) and its QR codes decoded (zxing-cpp)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from pypdfium2 import PdfDocument
from reportlab.lib.pagesizes import A4
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from core.communities import add_cluster, add_household, create_community
from core.config import Settings, get_settings
from core.db import session_scope

AUTH = {"Authorization": "Bearer s3cret"}
CARDS = "/api/v1/communities/coin/cards.pdf"
TELEGRAM = "https://t.me/voisins_bot?start=COIN42"
WHATSAPP = "https://wa.me/32460201234?text=JOIN%20COIN42"
SETTINGS = Settings(admin_token="s3cret", database_url="sqlite://",  # type: ignore[call-arg]
                    telegram_bot_username="voisins_bot",
                    twilio_whatsapp_from="whatsapp:+32460201234",
                    twilio_sms_from="+32460201235", _env_file=None)


def _seed(engine: Engine, households: int = 9) -> None:
    with session_scope(engine) as session:
        community = create_community(session, "coin", "Coin du Balai", join_code="COIN42")
        north = add_cluster(session, community, "Nord")
        for number in range(1, households + 1):
            add_household(session, community, f"H{number:02d}", north if number <= 2 else None,
                          code=f"CODE{number:02d}")


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    _seed(engine)
    with TestClient(create_app(engine, SETTINGS)) as test_client:
        yield test_client


def _pages(pdf: bytes) -> list[Image.Image]:
    document = PdfDocument(pdf)
    return [page.render(scale=150 / 72).to_pil() for page in document]


def _page_text(pdf: bytes, index: int) -> str:
    page = PdfDocument(pdf)[index]
    return str(page.get_textpage().get_text_range())


def test_cards_render_eight_to_a_sheet_and_their_qr_codes_decode_to_the_links(
        client: TestClient) -> None:
    response = client.get(CARDS, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="coin-cards.pdf"' in response.headers["content-disposition"]
    pages = _pages(response.content)
    assert len(pages) == 2  # nine households: a full sheet and one card
    assert PdfDocument(response.content)[0].get_size() == pytest.approx(A4)
    first_sheet = sorted(r.text for r in zxingcpp.read_barcodes(pages[0]))
    assert first_sheet == [TELEGRAM] * 8 + [WHATSAPP] * 8
    assert sorted(r.text for r in zxingcpp.read_barcodes(pages[1])) == [TELEGRAM, WHATSAPP]
    text = _page_text(response.content, 0)
    assert "Coin du Balai" in text and all(f"CODE0{n}" in text for n in range(1, 9))
    assert "H01" in text  # which door the card is for
    assert "JOIN COIN42" in text and "+32460201235" in text  # the SMS way, in French
    assert "CODE09" in _page_text(response.content, 1)


def test_languages_and_clusters_are_chosen(client: TestClient) -> None:
    response = client.get(CARDS, params={"lang": ["nl", "es"], "cluster": "Nord"},
                          headers=AUTH)
    assert response.status_code == 200, response.text
    (page,) = _pages(response.content)
    assert len(zxingcpp.read_barcodes(page)) == 4  # two households, two codes each
    text = _page_text(response.content, 0)
    assert "CODE01" in text and "CODE02" in text and "CODE03" not in text
    assert "sms" in text.lower()


BAD_REQUESTS: list[tuple[dict[str, Any], int, str]] = [
    ({"lang": "de"}, 422, "lang"),
    ({"lang": ["fr", "nl", "en", "ar"]}, 422, "lang"),
    ({"cluster": "Sud"}, 404, "no cluster 'Sud'"),
]


def test_bad_card_requests_get_a_reason(client: TestClient) -> None:
    for params, status, reason in BAD_REQUESTS:
        response = client.get(CARDS, params=params, headers=AUTH)
        assert response.status_code == status and reason in response.text, response.text


def test_a_community_without_households_or_a_missing_one_is_a_404(client: TestClient,
                                                                  engine: Engine) -> None:
    with session_scope(engine) as session:
        create_community(session, "empty", "Empty")
    empty = client.get("/api/v1/communities/empty/cards.pdf", headers=AUTH)
    assert empty.status_code == 404 and "import them first" in empty.text
    assert client.get("/api/v1/communities/nope/cards.pdf", headers=AUTH).status_code == 404


def test_without_channels_the_card_says_to_send_the_join_code(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine, households=1)
    bare = Settings(admin_token="s3cret", database_url="sqlite://",  # type: ignore[call-arg]
                    _env_file=None)
    with TestClient(create_app(sqlite_engine, bare)) as client:
        response = client.get(CARDS, headers=AUTH, params={"lang": "en"})
    assert response.status_code == 200
    assert zxingcpp.read_barcodes(_pages(response.content)[0]) == []
    text = _page_text(response.content, 0)
    assert "Send JOIN COIN42 to Voisins." in text
    assert "Telegram" not in text and "WhatsApp" not in text


def test_the_cli_writes_the_same_cards(sqlite_engine: Engine, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(sqlite_engine, households=3)
    monkeypatch.setenv("VOISINS_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("VOISINS_TELEGRAM_BOT_USERNAME", "voisins_bot")
    get_settings.cache_clear()
    try:
        output = tmp_path / "cards.pdf"
        result = CliRunner().invoke(cli, ["community", "cards", "coin", "-o", str(output),
                                          "--lang", "fr", "--lang", "ar"])
        assert result.exit_code == 0, result.output
        assert "3 cards on 1 A4 sheet(s)" in result.stdout
        (page,) = _pages(output.read_bytes())
        assert sorted(r.text for r in zxingcpp.read_barcodes(page)) == [TELEGRAM] * 3
        bad = CliRunner().invoke(cli, ["community", "cards", "coin", "-o", str(output),
                                       "--lang", "de"])
        assert bad.exit_code == 2 and "--lang" in bad.stderr
    finally:
        get_settings.cache_clear()

