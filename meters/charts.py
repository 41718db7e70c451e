"""Personal and community charts as PNG bytes, readable on a phone, in the reader's language.

Only matplotlib's object API (``Figure``) is used, never pyplot: pyplot keeps global state and
is not safe in a server. Each chart is 1080 px wide (7.2 in at 150 dpi, a phone's width) with
large type, and comes with a two-line caption in plain words.

Every label is a literal inside a ``gettext("...")`` call so Babel's extractor (keyword
``gettext``) finds it; placeholders are ``{name}`` and filled after translation.
Arabic: matplotlib 3.11 shapes and orders Arabic text itself; DejaVu Sans carries the Arabic
glyphs (checked with ``fc-list``), so it is the font for every language.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from babel.dates import format_skeleton, get_day_names
from babel.numbers import format_decimal
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from PIL import Image

from meters.analysis.impact import CommunityImpact
from meters.cleaning import end_of_last_valid_slot

Gettext = Callable[[str], str]

WIDTH_IN, HEIGHT_IN, DPI = 7.2, 5.4, 150  # 1080 x 810 px
FONT: Any = {"font.family": "DejaVu Sans", "font.size": 13, "axes.titlesize": 17,
        "axes.labelsize": 14, "xtick.labelsize": 12, "ytick.labelsize": 12,
        "legend.fontsize": 12, "axes.spines.top": False, "axes.spines.right": False}
MINE, USUAL, BAND, ALERT, PRODUCTION = "#1f5fa8", "#8a8a8a", "#b9cde6", "#f2b134", "#3a9a4a"
KW_PER_KWH_IN_SLOT = 4.0  # a 15-minute kWh figure times 4 is the average power in kW


class NotEnoughHouseholds(ValueError):
    """A community chart over fewer than k valid households is not drawn."""


@dataclass(frozen=True)
class Chart:
    png: bytes
    caption: str


@dataclass(frozen=True)
class Drawing:
    """A chart before it is rendered: tests look at its figure (legend, axis labels)."""

    figure: Figure
    caption: str

    def render(self) -> Chart:
        return Chart(figure_png(self.figure), self.caption)


def _figure() -> Figure:
    return Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")


def figure_png(figure: Figure) -> bytes:
    """Render, then store as a 64-colour palette PNG: anti-aliased noisy curves make a true-
    colour PNG 170+ KB, the palette version is 3-4 times smaller and looks the same."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    palette = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE,
                             dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    # optimize=True would save ~10 % for ~60 ms more: not worth it at these sizes.
    palette.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _number(value: float, locale: str) -> str:
    return format_decimal(round(value, 1), format="#,##0.0", locale=locale)


def _kwh_explained(gettext: Gettext) -> str:
    return gettext("1 kWh is what a 2 kW kettle uses in 30 minutes.")


def _curve_explained(gettext: Gettext) -> str:
    """Under a curve drawn in kW with totals in kWh: what links the two units."""
    return gettext("The curve shows power in kW: 2 kW for 30 minutes uses 1 kWh.")


def _local_numbers(axes: Axes, locale: str) -> None:
    """Axis numbers written as in the caption (0,5 in French, 0.5 in English)."""
    axes.yaxis.set_major_formatter(FuncFormatter(
        lambda value, _position: format_decimal(round(value, 2), format="#,##0.##",
                                                locale=locale)))


def _legend_below(figure: Figure, axes: Axes) -> None:
    """Under the plot, never over the curve's peaks."""
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3),
                  frameon=False)


def _week_caption(this_week: float, usual: float, locale: str, gettext: Gettext) -> str:
    first = gettext("{this_week} kWh these 7 days; usually {usual} kWh.").format(
        this_week=_number(this_week, locale), usual=_number(usual, locale))
    return first + "\n" + _curve_explained(gettext)


def _local(series: pd.DataFrame, timezone: str) -> pd.Series:
    """kWh indexed by local slot start."""
    index = pd.DatetimeIndex(series["slot_start"]).tz_convert(timezone)
    return pd.Series(series["kwh"].to_numpy(dtype=float), index=index).sort_index()


def _day_ticks(axes: Axes, start: pd.Timestamp, end: pd.Timestamp, locale: str) -> None:
    """A tick at each local midnight in [start, end)."""
    first = start.normalize() if start == start.normalize() else (
        start.normalize() + pd.Timedelta(days=1))
    ticks = [t for t in pd.date_range(first, end, freq="D") if t < end]
    axes.set_xticks([t.to_pydatetime() for t in ticks],
                    [format_skeleton("MMMEd", t.to_pydatetime(), locale=locale)
                     for t in ticks], rotation=30, ha="right")


def _seven_days(energy: pd.DataFrame, now: datetime, timezone: str,
                end: datetime | None) -> tuple[pd.Timestamp, pd.Timestamp, pd.DatetimeIndex]:
    """The 7 days up to the end of the last valid slot (today included, not cut at midnight)."""
    if end is None:
        end = end_of_last_valid_slot(energy["slot_start"], energy["kwh"], now)
    last = pd.Timestamp(end).tz_convert(timezone).ceil("15min")  # on the slot grid
    first = last - pd.Timedelta(days=7)
    return first, last, pd.date_range(first, last, freq="15min", inclusive="left")


def usual_curve(history: pd.Series, target: pd.DatetimeIndex, weeks: int = 8) -> pd.Series:
    """Median of the same local weekday and time over the previous weeks (NaN stays NaN)."""
    values = []
    for week in range(1, weeks + 1):
        values.append(history.reindex(target - pd.Timedelta(weeks=week)).to_numpy())
    stacked = np.vstack(values)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a slot never valid: NaN, said once
        enough = np.isfinite(stacked).sum(axis=0) >= 3
        median = np.where(enough, np.nanmedian(np.where(np.isfinite(stacked), stacked, np.nan),
                                                axis=0), np.nan)
    return pd.Series(median, index=target)


def draw_last_week(energy: pd.DataFrame, *, now: datetime, timezone: str, locale: str,
                   gettext: Gettext, last_alert: tuple[datetime, datetime] | None = None,
                   end: datetime | None = None) -> Drawing:
    """My last 7 days (15-minute average power), the last alert shaded, my usual curve.

    ``energy``: slot_start (UTC), kwh (NaN invalid) with at least the last 9 weeks. The 7
    days end at ``end``, by default the end of the last valid slot before ``now``.
    """
    local = _local(energy, timezone)
    start, stop, target = _seven_days(energy, now, timezone, end)
    mine = local.reindex(target)
    usual = usual_curve(local, target)
    with matplotlib.rc_context(FONT):
        figure = _figure()
        axes = figure.add_subplot()
        axes.plot(target, usual * KW_PER_KWH_IN_SLOT, color=USUAL, linewidth=1.6,
                  linestyle="--", label=gettext("My usual week"))
        axes.plot(target, mine * KW_PER_KWH_IN_SLOT, color=MINE, linewidth=1.4,
                  label=gettext("These 7 days"))
        if last_alert is not None:
            axes.axvspan(pd.Timestamp(last_alert[0]).tz_convert(timezone),
                         pd.Timestamp(last_alert[1]).tz_convert(timezone), color=ALERT,
                         alpha=0.35, label=gettext("Alert"))
        axes.set_title(gettext("My electricity, last 7 days"))
        axes.set_ylabel(gettext("Average power (kW)"))
        axes.set_ylim(bottom=0)
        axes.set_xlim(start, stop)
        _day_ticks(axes, start, stop, locale)
        _local_numbers(axes, locale)
        _legend_below(figure, axes)
        axes.grid(axis="y", alpha=0.3)
    caption = _week_caption(float(np.nansum(mine)), float(np.nansum(usual)), locale, gettext)
    return Drawing(figure, caption)


def chart_last_week(energy: pd.DataFrame, *, now: datetime, timezone: str, locale: str,
                    gettext: Gettext, last_alert: tuple[datetime, datetime] | None = None,
                    end: datetime | None = None) -> Chart:
    return draw_last_week(energy, now=now, timezone=timezone, locale=locale, gettext=gettext,
                          last_alert=last_alert, end=end).render()


def chart_typical_week(energy: pd.DataFrame, *, timezone: str, locale: str, gettext: Gettext
                       ) -> Chart:
    return draw_typical_week(energy, timezone=timezone, locale=locale,
                             gettext=gettext).render()


def draw_typical_week(energy: pd.DataFrame, *, timezone: str, locale: str, gettext: Gettext
                      ) -> Drawing:
    """My typical week: median and the band between the 1st and 3rd quartiles per 15 min."""
    local = _local(energy, timezone).dropna()
    slot_of_week = (local.index.day_of_week * 96 + local.index.hour * 4
                    + local.index.minute // 15)
    grouped = local.groupby(slot_of_week)
    quartiles = grouped.quantile([0.25, 0.5, 0.75]).unstack().reindex(range(7 * 96))
    x = np.arange(7 * 96) / 96.0
    with matplotlib.rc_context(FONT):
        figure = _figure()
        axes = figure.add_subplot()
        axes.fill_between(x, quartiles[0.25] * KW_PER_KWH_IN_SLOT,
                          quartiles[0.75] * KW_PER_KWH_IN_SLOT, color=BAND, linewidth=0,
                          label=gettext("Half of my weeks are in this band"))
        axes.plot(x, quartiles[0.5] * KW_PER_KWH_IN_SLOT, color=MINE, linewidth=1.5,
                  label=gettext("A typical week"))
        names = get_day_names("abbreviated", locale=locale)
        axes.set_xticks(np.arange(7) + 0.5, [names[d] for d in range(7)])
        for day in range(1, 7):
            axes.axvline(day, color="#dddddd", linewidth=0.8)
        axes.set_xlim(0, 7)
        axes.set_ylim(bottom=0)
        axes.set_title(gettext("My typical week"))
        axes.set_ylabel(gettext("Average power (kW)"))
        _local_numbers(axes, locale)
        _legend_below(figure, axes)
    weekly = float(quartiles[0.5].sum())
    first = gettext("A typical week uses about {kwh} kWh.").format(kwh=_number(weekly, locale))
    return Drawing(figure, first + "\n" + _curve_explained(gettext))


def _season_names(gettext: Gettext) -> dict[int, str]:
    return {0: gettext("Winter"), 1: gettext("Spring"), 2: gettext("Summer"),
            3: gettext("Autumn")}


def chart_seasons(energy: pd.DataFrame, *, timezone: str, locale: str, gettext: Gettext
                  ) -> Chart:
    """My average day, one curve per season with data."""
    local = _local(energy, timezone).dropna()
    season = ((local.index.month % 12) // 3).to_numpy()  # Dec-Feb 0, Mar-May 1, ...
    minute = (local.index.hour * 4 + local.index.minute // 15).to_numpy()
    frame = pd.DataFrame({"kwh": local.to_numpy(), "season": season, "slot": minute})
    profile = frame.groupby(["season", "slot"])["kwh"].mean().unstack(0)
    names = _season_names(gettext)
    colours = {0: "#1f5fa8", 1: "#3a9a4a", 2: "#f2b134", 3: "#b5562b"}
    hours = np.arange(96) / 4.0
    with matplotlib.rc_context(FONT):
        figure = _figure()
        axes = figure.add_subplot()
        for key in profile.columns:
            axes.plot(hours, profile[key].reindex(range(96)) * KW_PER_KWH_IN_SLOT,
                      color=colours[int(key)], linewidth=1.8, label=names[int(key)])
        axes.set_xticks(range(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
        axes.set_xlim(0, 24)
        axes.set_ylim(bottom=0)
        axes.set_title(gettext("My average day, season by season"))
        axes.set_ylabel(gettext("Average power (kW)"))
        axes.set_xlabel(gettext("Time of day"))
        _local_numbers(axes, locale)
        _legend_below(figure, axes)
        png = figure_png(figure)
    daily = profile.sum(axis=0)
    first = gettext("An average day uses {low} to {high} kWh depending on the season.").format(
        low=_number(float(daily.min()), locale), high=_number(float(daily.max()), locale))
    return Chart(png, first + "\n" + _curve_explained(gettext))


def chart_production(energy: pd.DataFrame, *, now: datetime, timezone: str, locale: str,
                     gettext: Gettext) -> Chart:
    """Consumption, production and net (what the grid saw) over the last 7 days, for PV homes.

    ``energy``: slot_start, role, kwh.
    """
    start, end, target = _seven_days(energy, now, timezone, None)
    series = {role: _local(part, timezone).reindex(target)
              for role, part in energy.groupby("role")}
    empty = pd.Series(np.nan, index=target)
    consumption = series.get("consumption", empty)
    production = series.get("production", empty)
    net = series.get("net", consumption - production)
    with matplotlib.rc_context(FONT):
        figure = _figure()
        axes = figure.add_subplot()
        axes.fill_between(target, 0, production * KW_PER_KWH_IN_SLOT, color=PRODUCTION,
                          alpha=0.35, linewidth=0, label=gettext("Solar production"))
        axes.plot(target, consumption * KW_PER_KWH_IN_SLOT, color=MINE, linewidth=1.3,
                  label=gettext("Consumption"))
        axes.plot(target, net * KW_PER_KWH_IN_SLOT, color="#444444", linewidth=1.0,
                  label=gettext("From the grid (below zero: sent to the grid)"))
        axes.axhline(0, color="#999999", linewidth=0.8)
        axes.set_xlim(start, end)
        _day_ticks(axes, start, end, locale)
        axes.set_title(gettext("My consumption and my solar panels"))
        axes.set_ylabel(gettext("Average power (kW)"))
        _local_numbers(axes, locale)
        _legend_below(figure, axes)
        png = figure_png(figure)
    used, made = float(np.nansum(consumption)), float(np.nansum(production))
    first = gettext("These 7 days: {used} kWh used, {made} kWh produced.").format(
        used=_number(used, locale), made=_number(made, locale))
    second = gettext("Using power while the sun shines uses your own production.")
    return Chart(png, first + "\n" + second)


def chart_alert_result(community: CommunityImpact, *, alert_start: datetime, timezone: str,
                       locale: str, gettext: Gettext) -> Chart:
    """The community's result for one alert: usual versus during, aggregate only."""
    if (not community.shown or community.alert_kwh is None
            or community.reference_kwh is None):
        raise NotEnoughHouseholds("fewer than k valid households: the result is not shown")
    when = format_skeleton("MMMEd", pd.Timestamp(alert_start).tz_convert(timezone)
                           .to_pydatetime(), locale=locale)
    labels = [gettext("Usual"), gettext("During the alert")]
    values = [community.reference_kwh, community.alert_kwh]
    with matplotlib.rc_context(FONT):
        figure = _figure()
        axes = figure.add_subplot()
        bars = axes.bar(labels, values, color=[USUAL, MINE], width=0.55)
        for bar, value in zip(bars, values, strict=True):
            axes.annotate(gettext("{kwh} kWh").format(kwh=_number(value, locale)),
                          (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=15, xytext=(0, 4),
                          textcoords="offset points")
        axes.set_ylim(0, max(values) * 1.2)
        _local_numbers(axes, locale)
        axes.set_title(gettext("Our alert of {date}").format(date=when))
        axes.set_ylabel(gettext("Energy of all households together (kWh)"))
        png = figure_png(figure)
    delta = community.alert_kwh - community.reference_kwh
    percent = community.percent or 0.0
    if delta <= 0:
        first = gettext("Together, {n} households used {kwh} kWh less than usual ({percent} %)."
                        ).format(n=community.households_valid, kwh=_number(-delta, locale),
                                 percent=_number(percent, locale))
    else:
        first = gettext("Together, {n} households used {kwh} kWh more than usual.").format(
            n=community.households_valid, kwh=_number(delta, locale))
    return Chart(png, first + "\n" + _kwh_explained(gettext))


def last_alert_window(alerts: list[tuple[datetime, datetime]], now: datetime
                      ) -> tuple[datetime, datetime] | None:
    """The most recent alert that started in the last 7 days, if any."""
    recent = [a for a in alerts if now - timedelta(days=7) <= a[0] <= now]
    return max(recent, default=None)
