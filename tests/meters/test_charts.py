"""Charts: PNG under 150 KB, 1080 px wide, translated labels, Arabic, k-anonymity."""

from __future__ import annotations

import ast
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.dates
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from meters import charts
from meters.analysis.impact import CommunityImpact

TZ = "Europe/Brussels"
NOW = datetime(2024, 2, 20, 10, tzinfo=UTC)
ARABIC = {"My electricity, last 7 days": "استهلاكي للكهرباء، آخر 7 أيام",
          "{this_week} kWh these 7 days; usually {usual} kWh.":
          "{this_week} كيلوواط ساعة في هذه الأيام السبعة؛ عادةً {usual}."}


def history(weeks: int = 60) -> pd.DataFrame:
    slots = np.arange(96 * 7 * weeks) + int(pd.Timestamp("2023-01-02", tz="UTC").timestamp()
                                            ) // 900
    start = pd.to_datetime(slots * 900, unit="s", utc=True)
    hour = start.tz_convert(TZ).hour.to_numpy()
    rng = np.random.default_rng(0)
    kwh = 0.05 + 0.1 * (hour >= 18) + rng.gamma(1, 0.03, slots.size)
    kwh[100:110] = np.nan  # some invalid slots: drawn as gaps
    return pd.DataFrame({"slot_start": start, "kwh": kwh})


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def all_charts(locale: str, gettext: Callable[[str], str]) -> list[charts.Chart]:
    energy = history()
    solar = energy.assign(role="production",
                          kwh=np.clip(np.sin((energy["slot_start"].dt.hour - 6) / 12 * np.pi),
                                      0, None) * 0.3)
    return [
        charts.chart_last_week(energy, now=NOW, timezone=TZ, locale=locale, gettext=gettext,
                               last_alert=(datetime(2024, 2, 17, 17, tzinfo=UTC),
                                           datetime(2024, 2, 17, 20, tzinfo=UTC))),
        charts.chart_typical_week(energy, timezone=TZ, locale=locale, gettext=gettext),
        charts.chart_seasons(energy, timezone=TZ, locale=locale, gettext=gettext),
        charts.chart_production(pd.concat([energy.assign(role="consumption"), solar]), now=NOW,
                                timezone=TZ, locale=locale, gettext=gettext),
        charts.chart_alert_result(CommunityImpact(12, True, 30.0, 40.0, -10.0, -25.0),
                                  alert_start=NOW, timezone=TZ, locale=locale, gettext=gettext),
    ]


@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_every_chart_is_a_small_phone_sized_png_with_two_line_caption(locale: str) -> None:
    for chart in all_charts(locale, lambda text: ARABIC.get(text, text)):
        width, _height = png_size(chart.png)
        assert width == 1080
        assert len(chart.png) <= 150_000
        assert len(chart.caption.split("\n")) == 2


def test_captions_use_translation_and_locale_numbers() -> None:
    chart = all_charts("fr", lambda text: text.replace("these 7 days", "ces 7 jours"))[0]
    assert "ces 7 jours" in chart.caption
    assert "," in chart.caption.split("kWh")[0]  # French decimal comma
    arabic = all_charts("ar", lambda text: ARABIC.get(text, text))[0]
    assert "عادةً" in arabic.caption


def test_community_chart_refuses_fewer_than_k_households() -> None:
    with pytest.raises(charts.NotEnoughHouseholds):
        charts.chart_alert_result(CommunityImpact(households_valid=4, shown=False),
                                  alert_start=NOW, timezone=TZ, locale="fr", gettext=str)


def test_labels_are_gettext_literals_and_no_pyplot() -> None:
    source = Path(charts.__file__).read_text()
    assert "import matplotlib.pyplot" not in source
    assert "from matplotlib import pyplot" not in source
    calls = [node for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "gettext"]
    assert len(calls) > 20
    for call in calls:
        assert len(call.args) == 1 and isinstance(call.args[0], ast.Constant), ast.dump(call)


def test_arabic_glyphs_available() -> None:
    from matplotlib import font_manager
    path = font_manager.findfont("DejaVu Sans", fallback_to_default=False)
    from matplotlib.ft2font import FT2Font
    font = FT2Font(path)
    assert font.get_char_index(ord("ب")) != 0


def test_the_last_7_days_run_up_to_the_last_valid_slot_not_midnight() -> None:
    energy = history()
    now = pd.Timestamp("2024-02-20 19:10", tz=TZ).tz_convert("UTC").to_pydatetime()
    energy = energy[energy["slot_start"] < now].copy()
    drawing = charts.draw_last_week(energy, now=now, timezone=TZ, locale="en", gettext=str)
    axes = drawing.figure.axes[0]
    right = matplotlib.dates.num2date(axes.get_xlim()[1])
    # This evening is on the chart, up to the end of its last slot (19:00-19:15).
    assert right == pd.Timestamp("2024-02-20 19:15", tz=TZ)
    last_week = energy[energy["slot_start"] >= right - pd.Timedelta(days=7)]
    this_week = f"{round(float(last_week['kwh'].sum()), 1):,.1f} kWh these 7 days"
    assert drawing.caption.startswith(this_week)


@pytest.mark.parametrize(("locale", "half"), [("fr", "0,5"), ("en", "0.5"), ("nl", "0,5")])
def test_axis_and_caption_write_numbers_alike_and_say_the_units(locale: str, half: str
                                                                ) -> None:
    drawing = charts.draw_last_week(history(), now=NOW, timezone=TZ, locale=locale,
                                    gettext=str)
    axes = drawing.figure.axes[0]
    assert axes.yaxis.get_major_formatter()(0.5, 0) == half
    assert half[1] in drawing.caption.split("\n")[0]  # the caption's decimal separator
    assert "kW" in axes.get_ylabel() and "kW" in drawing.caption.split("\n")[1]


def test_the_legend_sits_under_the_plot_not_on_the_peaks() -> None:
    for drawing in (charts.draw_last_week(history(), now=NOW, timezone=TZ, locale="fr",
                                          gettext=str,
                                          last_alert=(datetime(2024, 2, 17, 17, tzinfo=UTC),
                                                      datetime(2024, 2, 17, 20, tzinfo=UTC))),
                    charts.draw_typical_week(history(), timezone=TZ, locale="fr",
                                             gettext=str)):
        figure = drawing.figure
        renderer = FigureCanvasAgg(figure).get_renderer()
        figure.draw(renderer)
        [legend] = figure.legends
        plot = figure.axes[0].get_window_extent(renderer)
        box = legend.get_window_extent(renderer)
        assert box.y1 <= plot.y0, (box, plot)  # wholly below the plotting area
