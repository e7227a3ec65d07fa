"""The `/trend` chart: a PNG drawn with matplotlib's Agg backend (no display needed).

matplotlib takes about half a second to import, so it is imported when a chart is drawn,
never when the bot or the command line starts. Drawing takes a few hundred milliseconds of
CPU: callers run it in a worker thread, off the event loop. Each chart has its own Figure
(no pyplot and its global state), so charts drawn at once do not share anything.
"""

from __future__ import annotations

import io
import math

from bot.domain.trend import Trend, TrendPeriod
from handlers.texts import Texts

_WIDTH, _HEIGHT, _DPI = 9, 7.5, 110
_VISIT, _FOLLOWUP, _ALL = "#1f77b4", "#d62728", "#333333"


def _series(values: list[float | None]) -> list[float]:
    # matplotlib leaves a gap at NaN: a week without answers is no point, not a zero.
    return [math.nan if value is None else value for value in values]


def trend_png(trend: Trend, texts: Texts, clinic: str | None) -> bytes:
    """The trend as a PNG: CSAT and NPS (in all, at the visit, weeks later) and responses."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - see above
    from matplotlib.figure import Figure  # noqa: PLC0415 - see above

    figure = Figure(figsize=(_WIDTH, _HEIGHT), dpi=_DPI)
    FigureCanvasAgg(figure)
    # Fixed margins: a layout engine lays the figure out twice and costs half the time.
    figure.subplots_adjust(left=0.09, right=0.98, top=0.93, bottom=0.1, hspace=0.12)
    csat_axes, nps_axes, count_axes = figure.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 3, 2]}
    )
    points = trend.points
    weekly = trend.period is TrendPeriod.WEEKS_12
    labels = [f"{p.start:%d %b}" if weekly else f"{p.start:%b %Y}" for p in points]
    x = list(range(len(points)))
    title = texts.trend_title_weeks if weekly else texts.trend_title_months
    heading = title.format(clinic=texts.clinic(clinic))
    # A title starts with a capital, whatever the clinic's name (or "our clinic") begins with.
    figure.suptitle(heading[:1].upper() + heading[1:], fontsize=13)
    csat = (
        [p.csat for p in points],
        [p.csat_visit_day for p in points],
        [p.csat_followup for p in points],
    )
    nps = (
        [p.nps for p in points],
        [p.nps_visit_day for p in points],
        [p.nps_followup for p in points],
    )
    for axes, lines, low, high in ((csat_axes, csat, 1, 5), (nps_axes, nps, -100, 100)):
        every, visit_day, followup = lines
        axes.plot(x, _series(every), "-", marker="o", color=_ALL, label=texts.trend_all)
        axes.plot(
            x, _series(visit_day), "--", marker="o", color=_VISIT, label=texts.trend_visit_day
        )
        axes.plot(
            x, _series(followup), ":", marker="o", color=_FOLLOWUP, label=texts.trend_followup
        )
        axes.set_ylim(low - (high - low) * 0.05, high + (high - low) * 0.05)
        axes.grid(alpha=0.3)
        axes.legend(loc="lower left", fontsize=8, ncols=3)
    csat_axes.set_ylabel(texts.trend_csat)
    nps_axes.set_ylabel(texts.trend_nps)
    nps_axes.axhline(0, color="#999999", linewidth=0.8)
    bars = count_axes.bar(x, [p.responses for p in points], color="#7f7f7f")
    count_axes.bar_label(bars, fontsize=8)
    count_axes.set_ylabel(texts.trend_responses)
    count_axes.set_xticks(x, labels, rotation=45, ha="right")
    count_axes.margins(y=0.25)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
