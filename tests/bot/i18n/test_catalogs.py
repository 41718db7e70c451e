"""Every catalog complete: no missing or fuzzy entry, placeholders as in the msgid."""

from __future__ import annotations

import functools
import gettext
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n.catalogs import ARABIC_PLURAL_FORMS
from bot.i18n.translations import LOCALES_DIR
from core.config import SUPPORTED_LOCALES

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _catalog(locale: str):
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


ROOT = LOCALES_DIR.parent
SOURCE_PACKAGES = ("core", "bot", "meters", "scheduler", "api")


@functools.cache
def _ids_in_code() -> frozenset[str]:
    """Every msgid the code uses, extracted now: a string added without a catalog entry fails."""
    ids = set()
    for package in SOURCE_PACKAGES:
        folder = ROOT / package
        if not folder.exists():
            continue
        for _, _, message, _, _ in extract_from_dir(
            str(folder), method_map=[("**.py", "python")],
            keywords={"gettext": None, "ngettext": (1, 2)},
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return frozenset(ids)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete_and_not_fuzzy(locale: str) -> None:
    catalog = _catalog(locale)
    ids = set()
    for message in catalog:
        if not message.id:
            assert not message.fuzzy, f"{locale}: header is fuzzy"
            continue
        ids.add(message.id if isinstance(message.id, str) else message.id[0])
        assert not message.fuzzy, f"{locale}: fuzzy entry {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{locale}: missing translation for {message.id!r}"
        if isinstance(message.id, tuple):
            assert len(strings) == catalog.num_plurals
    missing = _ids_in_code() - ids
    assert not missing, f"{locale}: no entry for {sorted(missing)[:5]} (run `make catalogs`)"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_match_the_msgid(locale: str) -> None:
    for message in _catalog(locale):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        expected = set(PLACEHOLDER.findall(source))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == expected, (locale, source, text)


def test_arabic_plural_header_is_the_cldr_rule() -> None:
    catalog = _catalog("ar")
    assert catalog.num_plurals == 6
    header = dict(catalog.mime_headers)["Plural-Forms"]
    assert header.replace(" ", "") == ARABIC_PLURAL_FORMS.replace(" ", "").rstrip(";") \
        or header.replace(" ", "") == ARABIC_PLURAL_FORMS.replace(" ", "")
    rule = gettext.c2py(catalog.plural_expr)
    forms = {n: rule(n) for n in (0, 1, 2, 3, 10, 11, 99, 100, 102, 111)}
    assert forms == {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 102: 5, 111: 4}


def test_english_catalog_is_the_identity() -> None:
    for message in _catalog("en"):
        if message.id and isinstance(message.id, str):
            assert message.string == message.id
