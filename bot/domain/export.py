"""The export formats: one JSON object per response (the contract), or a flat CSV row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.domain.models import Response, Visit

# A spreadsheet runs a cell starting with one of these as a formula ("CSV injection");
# patient text is never to be interpreted, so such cells get a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

BASE_CSV_COLUMNS = (
    "response_id",
    "patient",
    "survey",
    "status",
    "started_at",
    "completed_at",
    "treatment",
    "provider",
    "location",
    "visit_date",
)


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """A question's column in the CSV, and whether it carries sentiment columns too."""

    question_id: str
    has_sentiment: bool


def local_time(moment: datetime | None, zone: tzinfo = UTC) -> str | None:
    """ISO-8601 in the clinic's time zone, with its offset, to the second.

    2026-11-02T11:00:00+01:00: what staff read as their own clock, and no spreadsheet has
    to guess the zone or drop microseconds.
    """
    if moment is None:
        return None
    return moment.astimezone(zone).isoformat(timespec="seconds")


def visit_record(visit: Visit | None) -> dict[str, str | None] | None:
    """The contract's `visit` object: treatment, provider, location and date (ISO)."""
    if visit is None:
        return None
    return {
        "treatment": visit.treatment,
        "provider": visit.provider,
        "location": visit.location,
        "date": visit.date.isoformat() if visit.date else None,
    }


def response_record(response: Response, zone: tzinfo = UTC) -> dict[str, Any]:
    """The contract's JSON object for one response (times in `zone`)."""
    return {
        "response_id": response.id,
        "patient": response.patient_pseudonym,
        "survey": response.survey_id,
        "status": response.status.value,
        "started_at": local_time(response.started_at, zone),
        "completed_at": local_time(response.completed_at, zone),
        "visit": visit_record(response.visit),
        "answers": {answer.question_id: answer.value for answer in response.answers},
        "sentiment": {
            answer.question_id: {
                "polarity": answer.sentiment.polarity,
                "label": answer.sentiment.label.value,
                "topics": list(answer.sentiment.topics),
            }
            for answer in response.answers
            if answer.sentiment is not None
        },
    }


def csv_header(columns: list[ExportColumn]) -> list[str]:
    """The CSV header row for these answer columns."""
    header = list(BASE_CSV_COLUMNS)
    for column in columns:
        header.append(column.question_id)
        if column.has_sentiment:
            qid = column.question_id
            header += [f"{qid}_polarity", f"{qid}_sentiment", f"{qid}_topics"]
    return header


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(value) if isinstance(value, str) else str(value)


def _visit_cells(visit: Visit | None) -> tuple[str | None, ...]:
    if visit is None:
        return None, None, None, None
    visit_date = visit.date.isoformat() if visit.date else None
    return visit.treatment, visit.provider, visit.location, visit_date


def csv_row(response: Response, columns: list[ExportColumn], zone: tzinfo = UTC) -> list[str]:
    """One response as a CSV row matching `csv_header(columns)` (times in `zone`)."""
    by_question = {answer.question_id: answer for answer in response.answers}
    row = [
        response.id,
        response.patient_pseudonym,
        response.survey_id,
        response.status.value,
        local_time(response.started_at, zone) or "",
        local_time(response.completed_at, zone) or "",
        *(_cell(value) for value in _visit_cells(response.visit)),
    ]
    for column in columns:
        answer = by_question.get(column.question_id)
        row.append(_cell(answer.value if answer else None))
        if column.has_sentiment:
            sentiment = answer.sentiment if answer else None
            if sentiment is None:
                row += ["", "", ""]
            else:
                row += [
                    f"{sentiment.polarity:.4f}",
                    sentiment.label.value,
                    ";".join(sentiment.topics),
                ]
    return row
