"""CSAT and NPS week by week or month by month, at the visit and weeks later."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.scores import net_promoter_score

# Twelve points: a quarter of weeks, or a year of months.
POINTS = 12


class TrendPeriod(StrEnum):
    """The spans `/trend` draws."""

    WEEKS_12 = "12w"
    MONTHS_12 = "12m"

    def starts(self, today: date) -> list[date]:
        """The first day of each of the 12 weeks (Mondays) or months ending with today's."""
        if self is TrendPeriod.WEEKS_12:
            monday = today - timedelta(days=today.weekday())
            return [monday - timedelta(weeks=back) for back in range(POINTS - 1, -1, -1)]
        months = []
        year, month = today.year, today.month
        for _ in range(POINTS):
            months.append(date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return months[::-1]


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One survey's figures for the responses started on one day (UTC)."""

    day: date
    survey_id: str
    responses: int
    csat_count: int
    csat_sum: int
    nps_promoters: int
    nps_passives: int
    nps_detractors: int


@dataclass(slots=True)
class _Sums:
    responses: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add(self, figures: DayFigures) -> None:
        self.responses += figures.responses
        self.csat_count += figures.csat_count
        self.csat_sum += figures.csat_sum
        self.promoters += figures.nps_promoters
        self.passives += figures.nps_passives
        self.detractors += figures.nps_detractors

    @property
    def csat(self) -> float | None:
        return self.csat_sum / self.csat_count if self.csat_count else None

    @property
    def nps(self) -> float | None:
        return net_promoter_score(self.promoters, self.passives, self.detractors)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One week or month: how many responses, and the scores, in all and by moment."""

    start: date
    responses: int
    csat: float | None
    nps: float | None
    csat_visit_day: float | None
    csat_followup: float | None
    nps_visit_day: float | None
    nps_followup: float | None


@dataclass(frozen=True, slots=True)
class Trend:
    """The points of a trend, oldest first."""

    period: TrendPeriod
    points: tuple[TrendPoint, ...]

    @property
    def responses(self) -> int:
        """Responses across the whole trend."""
        return sum(point.responses for point in self.points)


def build_trend(
    period: TrendPeriod,
    today: date,
    days: Iterable[DayFigures],
    followup_surveys: Collection[str],
) -> Trend:
    """Add up daily figures into the period's weeks or months.

    `followup_surveys`: the surveys sent weeks after a visit; every other is the visit day's.
    """
    starts = period.starts(today)
    sums = {start: (_Sums(), _Sums(), _Sums()) for start in starts}  # all, visit, follow-up
    for figures in days:
        start = _bucket(period, figures.day)
        if start not in sums:
            continue
        every, visit, followup = sums[start]
        every.add(figures)
        (followup if figures.survey_id in followup_surveys else visit).add(figures)
    return Trend(
        period,
        tuple(
            TrendPoint(
                start=start,
                responses=every.responses,
                csat=every.csat,
                nps=every.nps,
                csat_visit_day=visit.csat,
                csat_followup=followup.csat,
                nps_visit_day=visit.nps,
                nps_followup=followup.nps,
            )
            for start, (every, visit, followup) in sums.items()
        ),
    )


def _bucket(period: TrendPeriod, day: date) -> date:
    if period is TrendPeriod.WEEKS_12:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)
