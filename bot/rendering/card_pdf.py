"""Invitation cards on A4 sheets, eight to a sheet (two columns, four rows, dashed lines to
cut along), drawn with reportlab; QR codes by segno, drawn as vector squares so that they
stay sharp on any printer.

Arabic: a PDF draws glyphs, it does not shape text. Each Arabic line is shaped first
(``arabic_reshaper``: the joined initial, medial and final forms and the lam-alef
ligatures) and put in visual order (``python-bidi``, which keeps codes and phone numbers
left to right inside it), then drawn right-aligned. The font is DejaVu Sans, which has
those forms; it ships with matplotlib, so no system font is needed. A line is wrapped in
logical order before it is reordered, so a wrapped Arabic sentence still reads from the
top right.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import arabic_reshaper
import matplotlib
import segno
from bidi import get_display
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from bot.rendering.invitation_cards import InvitationCard

CARDS_PER_SHEET = 8
COLUMNS, ROWS = 2, 4
CARD_WIDTH, CARD_HEIGHT = A4[0] / COLUMNS, A4[1] / ROWS
MARGIN = 5 * mm
QR_SIZE = 24 * mm
QR_COLUMN = QR_SIZE + 2 * mm
TEXT_SIZE = 6.8
TEXT_LEADING = 8.2
FONT, BOLD, MONO = "VoisinsSans", "VoisinsSans-Bold", "VoisinsMono-Bold"
# Bidi controls the translations wrap inserted values in: the bidi pass has used them,
# the font has no glyph for them.
_INVISIBLE = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))


@lru_cache(maxsize=1)
def register_fonts() -> None:
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"),
                       (MONO, "DejaVuSansMono-Bold.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(fonts / file)))


def has_rtl(text: str) -> bool:
    return any("\u0590" <= ch <= "\u08ff" or "\ufb1d" <= ch <= "\ufefc" for ch in text)


@lru_cache(maxsize=4096)
def visual(text: str, rtl: bool) -> str:
    """A logical-order line as it is drawn: shaped and reordered when it holds Arabic."""
    if rtl or has_rtl(text):
        text = get_display(arabic_reshaper.reshape(text), base_dir="R" if rtl else "L")
    return text.translate(_INVISIBLE)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap in logical order, measured on the shaped text."""
    register_fonts()
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and pdfmetrics.stringWidth(visual(candidate, False), font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _draw_qr(canvas: Canvas, link: str, x: float, y: float, size: float) -> None:
    """The QR code of ``link`` with its lower left corner at (x, y), a quiet zone of two
    modules inside ``size``; each row's dark runs are one rectangle."""
    qr = segno.make(link, error="m", micro=False)
    border = 2
    modules = len(qr.matrix) + 2 * border
    step = size / modules
    canvas.setFillGray(0)
    for row_index, row in enumerate(qr.matrix):
        top = y + size - (row_index + border + 1) * step
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            canvas.rect(x + (start + border) * step, top, (column - start) * step, step,
                        stroke=0, fill=1)


def _place_qr(canvas: Canvas, link: str, x: float, y: float, forms: dict[str, str]) -> None:
    """Every card of a community carries the same two links: each QR code is drawn once,
    as a form the PDF reuses, which keeps a few hundred cards small and quick."""
    name = forms.get(link)
    if name is None:
        name = forms[link] = f"qr{len(forms)}"
        canvas.beginForm(name, lowerx=0, lowery=0, upperx=QR_SIZE, uppery=QR_SIZE)
        _draw_qr(canvas, link, 0, 0, QR_SIZE)
        canvas.endForm()
    canvas.saveState()
    canvas.translate(x, y)
    canvas.doForm(name)
    canvas.restoreState()


def _draw_card(canvas: Canvas, card: InvitationCard, left: float, bottom: float,
               forms: dict[str, str]) -> None:
    top = bottom + CARD_HEIGHT - MARGIN
    qrs = [(name, link) for name, link in (("Telegram", card.telegram_link),
                                           ("WhatsApp", card.whatsapp_link)) if link]
    text_width = CARD_WIDTH - 2 * MARGIN - (QR_COLUMN if qrs else 0)
    qr_left = left + CARD_WIDTH - MARGIN - QR_SIZE
    qr_top = top
    for name, link in qrs:
        _place_qr(canvas, link, qr_left, qr_top - QR_SIZE, forms)
        canvas.setFont(BOLD, 6.5)
        canvas.drawCentredString(qr_left + QR_SIZE / 2, qr_top - QR_SIZE - 2.4 * mm, name)
        qr_top -= QR_SIZE + 4.5 * mm

    # The facilitators' name for the home, small in a corner: which door this card is for.
    canvas.setFont(FONT, 6)
    canvas.setFillGray(0.45)
    canvas.drawString(left + MARGIN, bottom + MARGIN - 2, visual(card.household_ref, False))
    x, y = left + MARGIN, top - 10
    canvas.setFillGray(0)
    for line in wrap(card.community, BOLD, 10.5, text_width)[:2]:
        canvas.setFont(BOLD, 10.5)
        _draw_line(canvas, visual(line, False), x, y, text_width, rtl=has_rtl(line))
        y -= 12.5
    y -= 3
    canvas.setFont(FONT, 7)
    label_rtl = has_rtl(card.code_label)
    _draw_line(canvas, visual(card.code_label, label_rtl), x, y, text_width, rtl=label_rtl)
    y -= 17
    canvas.setFont(MONO, 17)
    _draw_line(canvas, card.household_code, x, y, text_width, rtl=label_rtl)
    y -= 13
    for text in card.texts:
        canvas.setFont(FONT, TEXT_SIZE)
        for sentence in text.lines:
            for line in wrap(sentence, FONT, TEXT_SIZE, text_width):
                _draw_line(canvas, visual(line, text.rtl), x, y, text_width, rtl=text.rtl)
                y -= TEXT_LEADING
        y -= 3.5


def _draw_line(canvas: Canvas, line: str, x: float, y: float, width: float, rtl: bool) -> None:
    if rtl:
        canvas.drawRightString(x + width, y, line)
    else:
        canvas.drawString(x, y, line)


def _cut_lines(canvas: Canvas) -> None:
    canvas.setStrokeGray(0.6)
    canvas.setLineWidth(0.4)
    canvas.setDash(3, 3)
    for column in range(1, COLUMNS):
        canvas.line(column * CARD_WIDTH, 0, column * CARD_WIDTH, A4[1])
    for row in range(1, ROWS):
        canvas.line(0, row * CARD_HEIGHT, A4[0], row * CARD_HEIGHT)
    canvas.setDash()


def cards_pdf(cards: Sequence[InvitationCard], title: str = "Voisins") -> bytes:
    """The cards as a PDF: A4 sheets of eight, in the order given."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Voisins")
    forms: dict[str, str] = {}
    for start in range(0, len(cards), CARDS_PER_SHEET):
        _cut_lines(canvas)
        for index, card in enumerate(cards[start:start + CARDS_PER_SHEET]):
            row, column = divmod(index, COLUMNS)
            _draw_card(canvas, card, column * CARD_WIDTH, A4[1] - (row + 1) * CARD_HEIGHT,
                       forms)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
