"""The eco-gesture catalogue and the appliance exercise as content: read, check, compare.

Pure: no database here. ``core.gestures`` stores the catalogue as versions and keeps the
commitments. Every problem in a file is reported at once, with the file and the gesture named.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from core.config import SUPPORTED_LOCALES

CONTENT_DIR = Path(__file__).resolve().parent / "content" / "gestures"
EXERCISE_FILE = Path(__file__).resolve().parent / "content" / "exercises" / "appliances.yaml"

# A gesture is listed in chat and by SMS: it must read in one glance.
MAX_TEXT = 100
MAX_WHY = 120
# The alert-time form goes in an alert SMS as "Your gesture: ...", which must stay within two
# segments with the rest of the alert text in every language.
MAX_ALERT_TEXT = 60
# Telegram's callback_data is at most 64 bytes: a button "<prefix>:<slug>" must fit.
MAX_SLUG = 32
MAX_EFFORT = 3
FALLBACK_LOCALES = ("fr", "en")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_Choice = TypeVar("_Choice", bound=enum.StrEnum)


class Category(enum.StrEnum):
    """The catalogue's categories, in the order a resident sees them."""

    HEATING_COMFORT = "heating_comfort"
    HOT_WATER = "hot_water"
    COOKING = "cooking"
    LAUNDRY_DISHES = "laundry_dishes"
    COLD = "cold"
    LIGHTING_DEVICES = "lighting_devices"
    DURING_ALERT = "during_alert"


CATEGORY_ORDER = {category.value: index for index, category in enumerate(Category)}


class Helps(enum.StrEnum):
    """When a gesture makes a difference: during an alert, every day, or both."""

    ALERT = "alert"
    EVERYDAY = "everyday"
    BOTH = "both"

    @property
    def during_alert(self) -> bool:
        return self is not Helps.EVERYDAY


Texts = Mapping[str, str]


def localized(texts: Texts, locale: str, fallback: str | None = None) -> str:
    """The text in ``locale``, else in ``fallback`` (the community's language), else French,
    else English, else any."""
    for candidate in (locale, fallback, *FALLBACK_LOCALES):
        if candidate and texts.get(candidate):
            return texts[candidate]
    return next(iter(texts.values()), "")


@dataclass(frozen=True)
class Source:
    publisher: str
    title: str
    url: str | None = None
    # What the figure rests on, or how an estimate was made.
    note: str | None = None


@dataclass(frozen=True)
class GestureDefinition:
    slug: str
    category: Category
    helps: Helps
    text: Texts
    why: Texts
    sources: tuple[Source, ...]
    # 1 is the easiest; a resident for whom a gesture did not work may get an easier one.
    effort: int = 1
    # The short form for an alert message ("Your gesture: ..."); only for alert gestures.
    alert: Texts | None = None
    # Many tenants already do this (ACTELOS): the bot values it rather than teaching it.
    common: bool = False

    @property
    def during_alert(self) -> bool:
        return self.helps.during_alert


@dataclass(frozen=True)
class CategoryContent:
    category: Category
    title: Texts
    gestures: tuple[GestureDefinition, ...]


class ContentError(ValueError):
    """Content that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def texts(self, raw: object, where: str, limit: int | None = None) -> dict[str, str]:
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where}: expected a text per language")
            return {}
        texts = {str(k): v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()}
        missing = [loc for loc in SUPPORTED_LOCALES if loc not in texts]
        if missing:
            self.problems.append(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(map(str, raw)) - set(SUPPORTED_LOCALES))
        if unknown:
            self.problems.append(f"{where}: unknown language {', '.join(unknown)}")
        if limit is not None:
            for loc, text in texts.items():
                if len(text) > limit:
                    self.problems.append(f"{where} ({loc}): {len(text)} characters, "
                                         f"at most {limit}")
        return texts

    def slug(self, raw: object, where: str) -> str | None:
        if not isinstance(raw, str) or not _SLUG.match(raw) or len(raw) > MAX_SLUG:
            self.problems.append(f"{where}: slug must be lower-case letters, digits and _ "
                                 f"(at most {MAX_SLUG})")
            return None
        return raw

    def choice(self, raw: object, allowed: type[_Choice], where: str) -> _Choice | None:
        try:
            return allowed(str(raw))
        except ValueError:
            self.problems.append(f"{where}: one of {', '.join(allowed)}")
            return None


def _parse_sources(raw: object, where: str, check: _Checker) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        check.problems.append(f"{where}: at least one source (publisher and title)")
        return ()
    sources = []
    for index, item in enumerate(raw, start=1):
        fields = item if isinstance(item, Mapping) else {}
        publisher, title = fields.get("publisher"), fields.get("title")
        if not (isinstance(publisher, str) and publisher.strip()
                and isinstance(title, str) and title.strip()):
            check.problems.append(f"{where} source {index}: publisher and title")
            continue
        url, note = fields.get("url"), fields.get("note")
        if url is not None and not (isinstance(url, str) and url.startswith("https://")):
            check.problems.append(f"{where} source {index}: url must start with https://")
            url = None
        sources.append(Source(publisher=publisher.strip(), title=title.strip(),
                              url=url, note=note if isinstance(note, str) else None))
    return tuple(sources)


def parse_gesture(raw: object, category: Category | None = None) -> GestureDefinition:
    """Read one gesture (from YAML or the API's JSON); ``category`` comes from its file."""
    check = _Checker()
    gesture = _parse_gesture(raw, category, "gesture", check)
    if check.problems or gesture is None:
        raise ContentError(check.problems or ["gesture: expected a mapping"])
    return gesture


def _parse_gesture(raw: object, category: Category | None, where: str, check: _Checker
                   ) -> GestureDefinition | None:
    if not isinstance(raw, Mapping):
        check.problems.append(f"{where}: expected a mapping")
        return None
    slug = check.slug(raw.get("slug"), where)
    where = f"gesture {slug or raw.get('slug')}"
    if category is None or "category" in raw:
        parsed = check.choice(raw.get("category"), Category, f"{where} category")
        if category is not None and parsed is not None and parsed is not category:
            check.problems.append(f"{where} category: this file holds {category}")
        category = parsed if parsed is not None else category
    helps = check.choice(raw.get("helps"), Helps, f"{where} helps")
    effort = raw.get("effort", 1)
    if isinstance(effort, bool) or not isinstance(effort, int) or not 1 <= effort <= MAX_EFFORT:
        check.problems.append(f"{where} effort: a whole number from 1 to {MAX_EFFORT}")
        effort = 1
    common = raw.get("common", False)
    if not isinstance(common, bool):
        check.problems.append(f"{where} common: true or false")
        common = False
    text = check.texts(raw.get("text"), f"{where} text", MAX_TEXT)
    why = check.texts(raw.get("why"), f"{where} why", MAX_WHY)
    alert: dict[str, str] | None = None
    if raw.get("alert") is not None:
        alert = check.texts(raw.get("alert"), f"{where} alert", MAX_ALERT_TEXT)
    if helps is not None and helps.during_alert and not alert:
        check.problems.append(f"{where} alert: a short alert-time form for a gesture that "
                              "helps during an alert")
    if helps is Helps.EVERYDAY and alert:
        check.problems.append(f"{where} alert: only for gestures that help during an alert")
    sources = _parse_sources(raw.get("sources"), where, check)
    if slug is None or category is None or helps is None:
        return None
    return GestureDefinition(slug=slug, category=category, helps=helps,
                             text=text, why=why, alert=alert or None, sources=sources,
                             effort=effort, common=common)


def parse_category(raw: object) -> CategoryContent:
    """Read a catalogue file: its category, title and gestures."""
    check = _Checker()
    if not isinstance(raw, Mapping):
        raise ContentError(["a catalogue file is a mapping with category, title and gestures"])
    category = check.choice(raw.get("category"), Category, "category")
    title = check.texts(raw.get("title"), "title")
    items = raw.get("gestures")
    if not isinstance(items, list) or not items:
        check.problems.append("gestures: at least one gesture")
        items = []
    gestures: list[GestureDefinition] = []
    for index, item in enumerate(items, start=1):
        gesture = _parse_gesture(item, category, f"gesture {index}", check)
        if gesture is None:
            continue
        if any(g.slug == gesture.slug for g in gestures):
            check.problems.append(f"gesture {gesture.slug}: slug used twice")
        gestures.append(gesture)
    if check.problems or category is None:
        raise ContentError(check.problems)
    return CategoryContent(category=category, title=title, gestures=tuple(gestures))


def _read_yaml(path: Path) -> object:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_category_file(path: Path) -> CategoryContent:
    try:
        return parse_category(_read_yaml(path))
    except ContentError as error:
        raise ContentError([f"{path.name}: {p}" for p in error.problems]) from None


def catalogue_files(directory: Path = CONTENT_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_catalogue(directory: Path = CONTENT_DIR) -> tuple[CategoryContent, ...]:
    """Every catalogue file, in category order; a slug may appear in one file only."""
    contents = [load_category_file(path) for path in catalogue_files(directory)]
    problems: list[str] = []
    seen: dict[str, Category] = {}
    categories: set[Category] = set()
    for content in contents:
        if content.category in categories:
            problems.append(f"category {content.category}: in two files")
        categories.add(content.category)
        for gesture in content.gestures:
            if gesture.slug in seen:
                problems.append(f"gesture {gesture.slug}: in {seen[gesture.slug]} and "
                                f"{content.category}")
            seen[gesture.slug] = content.category
    if problems:
        raise ContentError(problems)
    return tuple(sorted(contents, key=lambda c: CATEGORY_ORDER[c.category.value]))


@lru_cache(maxsize=1)
def _shipped_category_titles() -> dict[Category, dict[str, str]]:
    return {content.category: dict(content.title) for content in load_catalogue()}


def category_title(category: Category | str, locale: str, fallback: str | None = None) -> str:
    """A category's name in the reader's language (from the shipped catalogue files)."""
    titles = _shipped_category_titles().get(Category(category))
    return localized(titles, locale, fallback) if titles else str(category)


def gesture_to_dict(gesture: GestureDefinition) -> dict[str, Any]:
    """The JSON form (API and stored versions); ``parse_gesture`` reads it back unchanged."""
    data: dict[str, Any] = {
        "slug": gesture.slug, "category": gesture.category.value, "helps": gesture.helps.value,
        "effort": gesture.effort, "common": gesture.common, "text": dict(gesture.text),
        "why": dict(gesture.why),
        "sources": [{k: v for k, v in (("publisher", s.publisher), ("title", s.title),
                                        ("url", s.url), ("note", s.note)) if v is not None}
                    for s in gesture.sources],
    }
    if gesture.alert:
        data["alert"] = dict(gesture.alert)
    return data


# --------------------------------------------------------------------------------------------
# The "indispensable / useful / comfortable" exercise
# --------------------------------------------------------------------------------------------

class Rating(enum.StrEnum):
    """What an appliance is to a household during an alert (L'Échappée's three words)."""

    INDISPENSABLE = "indispensable"
    USEFUL = "useful"
    COMFORTABLE = "comfortable"

    @property
    def can_wait(self) -> bool:
        """Useful or comfortable: it could be put off during an alert."""
        return self is not Rating.INDISPENSABLE


@dataclass(frozen=True)
class Appliance:
    slug: str
    name: Texts
    # Usual power while running (W), an order of magnitude to compare with measurements.
    power_w: tuple[int, int]
    # Gestures to suggest when the household says it could be put off during an alert.
    suggest: tuple[str, ...]


@dataclass(frozen=True)
class ApplianceExercise:
    ratings: Mapping[Rating, Texts]
    appliances: tuple[Appliance, ...]

    def appliance(self, slug: str) -> Appliance | None:
        return next((a for a in self.appliances if a.slug == slug), None)

    def suggestions(self, ratings: Mapping[str, Rating | str]) -> list[str]:
        """The gestures to suggest for what a household rated useful or comfortable, in the
        exercise's order, each once."""
        slugs: list[str] = []
        for appliance in self.appliances:
            rating = ratings.get(appliance.slug)
            if rating is not None and Rating(rating).can_wait:
                slugs.extend(s for s in appliance.suggest if s not in slugs)
        return slugs


def parse_exercise(raw: object, known_gestures: set[str] | None = None) -> ApplianceExercise:
    """Read the exercise; with ``known_gestures``, every suggested slug must be one of them."""
    check = _Checker()
    if not isinstance(raw, Mapping):
        raise ContentError(["the exercise is a mapping with ratings and appliances"])
    ratings: dict[Rating, dict[str, str]] = {}
    for item in raw.get("ratings") or []:
        fields = item if isinstance(item, Mapping) else {}
        rating = check.choice(fields.get("code"), Rating, "rating code")
        if rating is not None:
            ratings[rating] = check.texts(fields.get("label"), f"rating {rating}")
    missing = [r.value for r in Rating if r not in ratings]
    if missing:
        check.problems.append(f"ratings: missing {', '.join(missing)}")
    appliances: list[Appliance] = []
    for index, item in enumerate(raw.get("appliances") or [], start=1):
        appliance = _parse_appliance(item, index, known_gestures, check)
        if appliance is None:
            continue
        if any(a.slug == appliance.slug for a in appliances):
            check.problems.append(f"appliance {appliance.slug}: slug used twice")
        appliances.append(appliance)
    if not appliances:
        check.problems.append("appliances: at least one appliance")
    if check.problems:
        raise ContentError(check.problems)
    return ApplianceExercise(ratings=ratings, appliances=tuple(appliances))


def _parse_appliance(item: object, index: int, known_gestures: set[str] | None,
                     check: _Checker) -> Appliance | None:
    fields = item if isinstance(item, Mapping) else {}
    slug = check.slug(fields.get("slug"), f"appliance {index}")
    where = f"appliance {slug or index}"
    name = check.texts(fields.get("name"), f"{where} name", MAX_TEXT)
    power = fields.get("power_w")
    if not (isinstance(power, list) and len(power) == 2
            and all(isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in power)
            and power[0] <= power[1]):
        check.problems.append(f"{where} power_w: [low, high] in watts")
        power = [0, 0]
    suggest = fields.get("suggest")
    if not (isinstance(suggest, list) and suggest and all(isinstance(s, str) for s in suggest)):
        check.problems.append(f"{where} suggest: at least one gesture slug")
        suggest = []
    if known_gestures is not None:
        unknown = [s for s in suggest if s not in known_gestures]
        if unknown:
            check.problems.append(f"{where} suggest: unknown gesture {', '.join(unknown)}")
    if slug is None:
        return None
    return Appliance(slug=slug, name=name, power_w=(power[0], power[1]), suggest=tuple(suggest))


def load_exercise(path: Path = EXERCISE_FILE, catalogue_dir: Path | None = CONTENT_DIR
                  ) -> ApplianceExercise:
    """The exercise file, its suggestions checked against the catalogue files."""
    known = None
    if catalogue_dir is not None:
        known = {g.slug for c in load_catalogue(catalogue_dir) for g in c.gestures}
    try:
        return parse_exercise(_read_yaml(path), known)
    except ContentError as error:
        raise ContentError([f"{path.name}: {p}" for p in error.problems]) from None


@lru_cache(maxsize=1)
def appliance_exercise() -> ApplianceExercise:
    """The shipped exercise (read once)."""
    return load_exercise()
