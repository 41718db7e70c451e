"""How many SMS segments a text costs: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67).

One character outside GSM-7 (Arabic, emoji, "Ç" is fine but "ê" is not) turns the whole
text into UCS-2, which more than halves what fits in a segment; alert texts must stay
within two segments in every language, so tests count them here. Typography nobody sees
on a phone (a non-breaking space from number formatting, a curly apostrophe) must not be
what tips a text into UCS-2: ``sms_text`` plainens it before anything is counted or sent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# GSM 03.38 basic character set (the escape character itself left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these costs two septets (escape + character).
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def count_segments(text: str) -> SegmentCount:
    """Segments as a handset splits them: an escape pair or a surrogate pair is never cut."""
    if is_gsm7(text):
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SegmentCount("GSM-7", sum(sizes), _pack(sizes, GSM7_SINGLE, GSM7_PART))
    sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SegmentCount("UCS-2", sum(sizes), _pack(sizes, UCS2_SINGLE, UCS2_PART))


def _pack(sizes: list[int], single: int, part: int) -> int:
    total = sum(sizes)
    if total <= single:
        return 1 if total else 0
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments += 1
            used = 0
        used += size
    return segments


# The most an SMS we send may cost; a longer text goes as several SMS (see ``sms_parts``).
MAX_SEGMENTS = 2

# Spaces that only keep a number and its unit on one line, and the invisible marks that keep
# numbers and Latin names in their direction inside Arabic text: a phone's SMS app lays out a
# plain space and bare digits just as well, and each of these costs a whole UCS-2 text.
_INVISIBLE_TYPOGRAPHY = {
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u00ad": "", "\u200b": "", "\ufeff": "", "\u200e": "", "\u200f": "", "\u061c": "",
    **{chr(mark): "" for mark in range(0x202A, 0x202F)},  # embeddings and overrides
    **{chr(mark): "" for mark in range(0x2066, 0x206A)},  # isolates
}
# Punctuation GSM-7 lacks, with its plain stand-in.
_GSM7_PUNCTUATION = {
    "\u2019": "'", "\u2018": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"',
    "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'", "\u2013": "-",
    "\u2014": "-", "\u2011": "-", "\u2010": "-", "\u2026": "...", "\u00b7": "-",
}
_INVISIBLE_TABLE = str.maketrans(_INVISIBLE_TYPOGRAPHY)
_PUNCTUATION_TABLE = str.maketrans(_GSM7_PUNCTUATION)
# For ``to_gsm7``: "ç" (GSM-7 has only "Ç") and the above; other letters lose their accent.
_GSM7_STAND_INS = {**_INVISIBLE_TYPOGRAPHY, **_GSM7_PUNCTUATION, "\u00e7": "c"}


def sms_text(text: str) -> str:
    """The text as it goes by SMS: plain spaces, no invisible direction marks, and ASCII
    quotes, apostrophes and dashes when nothing else in the text needs UCS-2.

    Arabic (or "ê") is UCS-2 anyway, and there « » stay as written; letters are never
    changed here (``sms_parts`` drops accents only when that saves segments).
    """
    visible = text.translate(_INVISIBLE_TABLE)
    plain = visible.translate(_PUNCTUATION_TABLE)
    return plain if is_gsm7(plain) else visible


def fits(text: str, segments: int = MAX_SEGMENTS) -> bool:
    return count_segments(text).segments <= segments


def to_gsm7(text: str) -> str | None:
    """The text in GSM-7 with accents dropped where GSM-7 has no such letter ("ê" -> "e",
    "á" -> "a"; "é", "è", "à", "ñ" stay), or None when a character has no stand-in (Arabic).

    A UCS-2 text holds 67 characters a segment, a GSM-7 one 153: for a long French or Spanish
    text, a few missing accents are the difference between two SMS segments and five.
    """
    out: list[str] = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
            continue
        stand_in = _GSM7_STAND_INS.get(char)
        if stand_in is None:
            base = unicodedata.normalize("NFD", char)[0]
            if base == char or base not in GSM7_BASIC:
                return None
            stand_in = base
        out.append(stand_in)
    return "".join(out)


def sms_parts(text: str) -> list[str]:
    """The SMS that carry ``text``, each within ``MAX_SEGMENTS``.

    The text as written (``sms_text``) when it fits; else without the accents GSM-7 lacks,
    when that fits; else cut between lines into as few SMS as needed (a line too long for one
    SMS, which no template has, is cut between words).
    """
    text = sms_text(text)
    if fits(text):
        return [text]
    plain = to_gsm7(text)
    if plain is not None:
        if fits(plain):
            return [plain]
        text = plain
    parts: list[str] = []
    current = ""
    for line in _pieces(text):
        joined = f"{current}\n{line}" if current else line
        if fits(joined):
            current = joined
            continue
        if current:
            parts.append(current)
        current = line
    if current:
        parts.append(current)
    return parts


def _pieces(text: str) -> list[str]:
    """Lines, with any line too long for one SMS cut between words."""
    pieces: list[str] = []
    for line in text.split("\n"):
        while not fits(line):
            low, high = 1, len(line)  # the longest prefix that fits: line[:low]
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if fits(line[:middle]) else (low, middle - 1)
            space = line.rfind(" ", 0, low + 1)
            cut = space if space > 0 else low
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        pieces.append(line)
    return pieces
