"""Words a resident may type at any point, in every supported language.

These are data, not interface strings: a resident may type STOP in English while the bot
speaks Dutch to them, so every language's words are recognised for everyone.
"""

from __future__ import annotations

import enum
import re
import unicodedata


class GlobalWord(enum.StrEnum):
    HELP = "help"
    MENU = "menu"
    LANGUAGE = "language"
    STOP = "stop"
    START = "start"


# Keys are folded (see ``fold``): no accents, lower case.
GLOBAL_WORDS: dict[GlobalWord, frozenset[str]] = {
    GlobalWord.HELP: frozenset({"help", "aide", "hulp", "ayuda", "مساعده", "مساعدة", "?", "info"}),
    GlobalWord.MENU: frozenset({"menu", "menú", "قائمه", "قائمة", "القائمه", "القائمة"}),
    GlobalWord.LANGUAGE: frozenset(
        {"language", "langue", "taal", "idioma", "لغه", "لغة", "اللغه", "اللغة", "lang"}
    ),
    GlobalWord.STOP: frozenset(
        {"stop", "stopall", "unsubscribe", "end", "quit", "arret", "stoppen", "baja", "parar",
         "توقف", "ايقاف", "إيقاف"}
    ),
    GlobalWord.START: frozenset(
        {"start", "unstop", "demarrer", "reprendre", "hervatten", "alta", "empezar", "ابدا",
         "ابدأ", "بدء"}
    ),
}

# Typed shortcuts to a menu item, recognised in any language (the whole message).
SHORTCUT_WORDS: dict[str, frozenset[str]] = {
    "consumption": frozenset({
        "my consumption", "consumption", "ma consommation", "consommation", "mon graphique",
        "mijn verbruik", "verbruik", "mi consumo", "consumo", "استهلاكي", "استهلاك",
        "chart", "graph", "graphique", "grafiek", "grafico", "gráfico", "رسم",
    }),
    "gestures": frozenset({
        "my gestures", "gestures", "gesture", "mes gestes", "gestes", "geste", "écogestes",
        "mijn gewoontes", "gewoontes", "gebaren", "mis gestos", "gestos", "gesto", "خطواتي",
        "خطوات",
    }),
}

JOIN_WORDS = frozenset(
    {"join", "rejoindre", "inscription", "aansluiten", "lid", "unirse", "unir", "انضمام", "انضم"}
)

YES_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset({"oui", "o", "ok", "d'accord", "daccord", "yes"}),
    "nl": frozenset({"ja", "j", "ok", "goed", "akkoord", "yes"}),
    "en": frozenset({"yes", "y", "ok", "okay", "sure"}),
    "ar": frozenset({"نعم", "ايوه", "أيوه", "اي", "موافق", "ok", "yes"}),
    "es": frozenset({"si", "s", "vale", "ok", "claro", "yes"}),
}
NO_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset({"non", "n", "no"}),
    "nl": frozenset({"nee", "n", "neen", "no"}),
    "en": frozenset({"no", "n", "nope"}),
    "ar": frozenset({"لا", "كلا", "no"}),
    "es": frozenset({"no", "n"}),
}

# What a stranger's first words tell of their language: a greeting, or asking for help. Keys
# are locales; only words that belong to one of our languages (not "ok", "info", "?").
GREETING_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset({"bonjour", "bonsoir", "salut", "coucou", "aide", "bonne journee"}),
    "nl": frozenset({"hallo", "hoi", "dag", "goedendag", "goeiedag", "goedemorgen",
                     "goedemiddag", "goedenavond", "hulp", "dank je", "bedankt"}),
    "en": frozenset({"hello", "hi", "hey", "good morning", "good afternoon", "good evening",
                     "help", "thanks", "thank you"}),
    "es": frozenset({"hola", "buenas", "buenos dias", "buenas tardes", "buenas noches",
                     "ayuda", "gracias"}),
}
# Arabic letters say it all: any of them and the answer is in Arabic.
_ARABIC_LETTER = re.compile("[\u0621-\u064a\u066e-\u06d3\u06fa-\u06ff]")
# Skipping an optional question (and the household code at enrolment).
SKIP_WORDS = frozenset({"skip", "pass", "passer", "passe", "overslaan", "saltar", "تخطي",
                        "تخطى"})
# "1 et 3", "1 and 3", "1 y 3", "1 و 3": the joining word is noise between numbers.
AND_WORDS = frozenset({"et", "and", "en", "y", "e", "و"})

_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)
# Direction marks and isolates: invisible, but copied along with text from our own
# Arabic messages (e.g. a join code wrapped in U+2068 … U+2069).
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")


def strip_bidi_controls(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, accents and Arabic diacritics removed, edges trimmed, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", strip_bidi_controls(text))
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Keep a lone "?" (help); otherwise punctuation at the edges is noise ("oui!", "1.").
    stripped = kept.strip()
    if stripped != "?":
        stripped = _EDGE_PUNCTUATION.sub("", stripped)
    # The Arabic teh marbuta and alef forms are often typed interchangeably.
    stripped = stripped.replace("ة", "ه").replace("أ", "ا").replace("إ", "ا").replace("آ", "ا")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def _folded_set(words: frozenset[str]) -> frozenset[str]:
    return frozenset(fold(word) for word in words)


_FOLDED_GLOBAL = {word: _folded_set(words) for word, words in GLOBAL_WORDS.items()}
_FOLDED_JOIN = _folded_set(JOIN_WORDS)
_FOLDED_SHORTCUTS = {name: _folded_set(words) for name, words in SHORTCUT_WORDS.items()}
_FOLDED_YES = {locale: _folded_set(words) for locale, words in YES_WORDS.items()}
_FOLDED_NO = {locale: _folded_set(words) for locale, words in NO_WORDS.items()}
_FOLDED_GREETINGS = {locale: _folded_set(words) for locale, words in GREETING_WORDS.items()}
_WORD = re.compile(r"\w+", re.UNICODE)
_FOLDED_SKIP = _folded_set(SKIP_WORDS)
_FOLDED_AND = _folded_set(AND_WORDS)


def command_and_argument(text: str) -> tuple[str, str]:
    """Split "/start ABC" or "JOIN abc" into ("start", "ABC"): the command folded, the rest raw."""
    stripped = strip_bidi_controls(text).strip()
    if stripped.startswith("/"):
        stripped = stripped[1:]
        # Telegram groups send "/start@VoisinsBot CODE".
        head, _, rest = stripped.partition(" ")
        head = head.split("@", 1)[0]
        return fold(head), rest.strip()
    head, _, rest = stripped.partition(" ")
    return fold(head), rest.strip()


def global_word(text: str) -> GlobalWord | None:
    """The global word the whole message is, if it is one (with or without a leading '/')."""
    folded = fold(text.lstrip("/").split("@", 1)[0]) if text.strip().startswith("/") else fold(text)
    for word, forms in _FOLDED_GLOBAL.items():
        if folded in forms:
            return word
    return None


def shortcut_in(text: str) -> str | None:
    folded = fold(text)
    for name, words in _FOLDED_SHORTCUTS.items():
        if folded in words:
            return name
    return None


def join_code_in(text: str) -> str | None:
    """The code in "JOIN CODE", "/start CODE" or a localized join word; None otherwise."""
    command, argument = command_and_argument(text)
    if (command in _FOLDED_JOIN or command == "start") and argument:
        return _EDGE_PUNCTUATION.sub("", argument.split()[0]).upper() or None
    return None


def is_yes(text: str, locale: str) -> bool:
    return fold(text) in _FOLDED_YES.get(locale, frozenset()) | _FOLDED_YES["en"]


def is_no(text: str, locale: str) -> bool:
    return fold(text) in _FOLDED_NO.get(locale, frozenset()) | _FOLDED_NO["en"]


def is_skip(text: str) -> bool:
    """SKIP in any language, or a lone "-"."""
    return fold(text) in _FOLDED_SKIP or text.strip() == "-"


def is_and_word(text: str) -> bool:
    return fold(text) in _FOLDED_AND


def parse_number(text: str) -> int | None:
    """"2", "٢", "2." or "(2)" → 2; anything else → None. Arabic-Indic digits count."""
    folded = fold(text)
    if not folded or len(folded) > 6:
        return None
    digits = []
    for ch in folded:
        value = unicodedata.digit(ch, None)
        if value is None:
            return None
        digits.append(str(value))
    return int("".join(digits))


def greeting_language(text: str) -> str | None:
    """The language a message greets in ("Hola!", "goedemorgen", "مرحبا"), or None.

    For someone we do not know (yet, or any more, after an erasure or a refused consent),
    this is the only clue to the language to answer in.
    """
    if _ARABIC_LETTER.search(text):
        return "ar"
    words = _WORD.findall(fold(text))
    for length in (2, 1):
        opening = " ".join(words[:length])
        for locale, greetings in _FOLDED_GREETINGS.items():
            if len(words) >= length and opening in greetings:
                return locale
    return None
