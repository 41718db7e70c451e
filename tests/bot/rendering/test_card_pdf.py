"""Arabic on the invitation cards is shaped before it is drawn: every letter in its joined
form, in visual order, and every glyph in the font (no empty boxes on paper)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont

from bot.rendering.card_pdf import visual, wrap
from bot.rendering.invitation_cards import Ways, card_texts, invitation_cards

WAYS = Ways(telegram_bot="voisins_bot", whatsapp_number="whatsapp:+32460201234",
            sms_number="+32460201235")
# The letters before shaping: after it, each is one of its presentation forms.
BASE_ARABIC_LETTERS = {chr(c) for c in range(0x0621, 0x064B)}


def _font_characters() -> set[str]:
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return {chr(code) for code in TTFont(str(path)).getBestCmap()}


def test_arabic_card_text_is_shaped_with_glyphs_the_font_has() -> None:
    text = card_texts("ar", "COIN42", "CODE01", WAYS, has_qr=True)
    assert text.rtl
    font = _font_characters()
    for sentence in text.lines:
        assert set(sentence) & BASE_ARABIC_LETTERS, sentence  # translated, not English
        for line in wrap(sentence, "VoisinsSans", 6.8, 170):
            drawn = visual(line, rtl=True)
            assert not set(drawn) & BASE_ARABIC_LETTERS, drawn
            missing = {ch for ch in drawn if ch not in font and not ch.isspace()}
            assert not missing, (drawn, missing)


def test_codes_and_numbers_keep_their_order_inside_arabic() -> None:
    (sms,) = [line for line in card_texts("ar", "COIN42", "CODE01", WAYS, True).lines
              if "COIN42" in line]
    drawn = visual(sms, rtl=True)
    assert "COIN42" in drawn and "+32460201235" in drawn and "JOIN" in drawn
    assert "\u2068" not in drawn and "\u2069" not in drawn


def test_latin_text_is_left_as_it_is() -> None:
    assert visual("Cité Jardin", rtl=False) == "Cité Jardin"


def test_cards_carry_the_links_and_the_first_language_labels_the_code() -> None:
    (card,) = invitation_cards("Coin", "COIN42", [("H01", "CODE01")], ["nl", "ar"], WAYS)
    assert card.telegram_link == "https://t.me/voisins_bot?start=COIN42"
    assert card.whatsapp_link == "https://wa.me/32460201234?text=JOIN%20COIN42"
    assert [t.locale for t in card.texts] == ["nl", "ar"]
    assert card.code_label != "Household code"  # Dutch
    bare = invitation_cards("Coin", "COIN42", [("H01", "CODE01")], ["en"], Ways())[0]
    assert bare.telegram_link is None and bare.whatsapp_link is None
    assert bare.texts[0].lines == ("Send JOIN COIN42 to Voisins.",
                                   "When asked, type your household code: CODE01.")
