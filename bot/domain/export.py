"""The export formats: one JSON object per response (the contract), or a flat CSV row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


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


def response_record(response: Response) -> dict[str, Any]:
    """The contract's JSON object for one response."""
    return {
        "response_id": response.id,
        "patient": response.patient_pseudonym,
        "survey": response.survey_id,
        "status": response.status.value,
        "started_at": _iso(response.started_at),
        "completed_at": _iso(response.completed_at),
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


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _visit_cells(visit: Visit | None) -> tuple[str | None, ...]:
    if visit is None:
        return None, None, None, None
    visit_date = visit.date.isoformat() if visit.date else None
    return visit.treatment, visit.provider, visit.location, visit_date


def csv_row(response: Response, columns: list[ExportColumn]) -> list[str]:
    """One response as a CSV row matching `csv_header(columns)`."""
    by_question = {answer.question_id: answer for answer in response.answers}
    row = [
        response.id,
        response.patient_pseudonym,
        response.survey_id,
        response.status.value,
        _iso(response.started_at) or "",
        _iso(response.completed_at) or "",
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
