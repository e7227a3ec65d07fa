"""Staff messages built from a catalogue: alerts and summaries.

They quote patients, so every value goes through `html.escape` when the message is HTML:
patient text is never markup. It is also set apart (a quote block in alerts, quotation marks
on one line in summaries) and stripped of control and direction characters, so that it can
never pass for the bot's own lines ("Status: completed — no action needed").
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from bot.domain.intake import Delivery
from bot.domain.models import (
    AlertDetail,
    AlertReason,
    Answer,
    Breakdown,
    BreakdownBy,
    CaseDirection,
    CaseState,
    CaseView,
    NegativeComment,
    OpenCase,
    PatientRelay,
    PendingAlert,
    Response,
    SentimentLabel,
    Summary,
    Visit,
)
from bot.domain.periods import Period
from bot.domain.scores import satisfied_from
from bot.domain.surveys import Question, SurveyCatalog, localize
from handlers.texts.catalogue import Texts

ALERT_QUOTE_LIMITS = (1000, 300, 80, 20)  # characters of each comment, longest that fits
TELEGRAM_TEXT_LIMIT = 4096
SUMMARY_QUOTE_LIMIT = 200


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# Control characters (but line breaks), and the marks that reorder text (bidi embeddings,
# overrides and isolates) or hide it: a patient could make their words read as the bot's.
_HIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
_LINE_BREAKS = re.compile("[\r\u2028\u2029]\n?")
_BLANK_LINES = re.compile("\n{3,}")


def patient_text(text: str, limit: int, *, one_line: bool = False) -> str:
    """Patient text made safe to show staff (not yet HTML-escaped).

    No hidden or reordering characters, cut to `limit`; with `one_line`, line breaks become
    spaces.
    """
    text = _LINE_BREAKS.sub("\n", _HIDDEN.sub("", text))
    text = " ".join(text.split()) if one_line else _BLANK_LINES.sub("\n\n", text.strip())
    return _shorten(text, limit)


def _ago(then: datetime, now: datetime, texts: Texts) -> str:
    minutes = int(max(now - then, timedelta(0)).total_seconds() // 60)
    if minutes < 1:
        return texts.just_now
    if minutes < 60:
        return texts.minutes_ago.format(n=minutes)
    hours = minutes // 60
    if hours < 48:
        return texts.hours_ago.format(n=hours)
    return texts.days_ago.format(n=hours // 24)


def describe_visit(visit: Visit, surveys: SurveyCatalog, language: str) -> str:
    """Treatment (by its catalogue label), provider, location and date, as known."""
    treatment = surveys.treatment(visit.treatment) if visit.treatment else None
    parts = [
        localize(treatment.label, language, surveys.default_language)
        if treatment
        else visit.treatment,
        visit.provider,
        visit.location,
        visit.date.isoformat() if visit.date else None,
    ]
    return " · ".join(part for part in parts if part)


def format_alert(
    alert: PendingAlert,
    surveys: SurveyCatalog,
    texts: Texts,
    now: datetime,
    detail: AlertDetail = AlertDetail.FULL,
) -> str:
    """The staff-chat message for an alert (HTML, every value escaped).

    `minimal` leaves out what the patient wrote, staff replies and the phone number: they
    are behind the Details button (`format_case_details`).
    """
    case = _Case(alert.response, alert.reasons, alert.case, alert.maybe_sent)
    return _case_text(case, surveys, texts, now, detail)


def format_case_details(
    view: CaseView, surveys: SurveyCatalog, texts: Texts, now: datetime
) -> str:
    """A case whole, for one staff member's private chat (HTML, every value escaped)."""
    heading = texts.case_details_heading.format(case=view.alert_id)
    case = _Case(view.response, view.reasons, view.case, maybe_sent=False)
    body = _case_text(case, surveys, texts, now, AlertDetail.FULL, room=TELEGRAM_TEXT_LIMIT - 200)
    return f"{heading}\n\n{body}"


@dataclass(frozen=True, slots=True)
class _Case:
    """What an alert and a case's details both show."""

    response: Response
    reasons: tuple[AlertReason, ...]
    state: CaseState
    maybe_sent: bool


def _case_text(  # noqa: PLR0913 - the case, and how to show it
    case: _Case,
    surveys: SurveyCatalog,
    texts: Texts,
    now: datetime,
    detail: AlertDetail,
    *,
    room: int = TELEGRAM_TEXT_LIMIT,
) -> str:
    language = surveys.default_language
    response = case.response
    survey = surveys.get(response.survey_id)
    title = localize(survey.title, language, language) if survey else response.survey_id
    # A possible complication is clinical, not a service complaint: its own title.
    heading = (
        texts.alert_clinical_title if AlertReason.CLINICAL in case.reasons else texts.alert_title
    )
    lines = [
        heading.format(patient=html.escape(response.patient_pseudonym)),
        texts.alert_why.format(reasons=", ".join(texts.alert_reasons[r] for r in case.reasons)),
        texts.alert_survey.format(
            title=html.escape(title), ago=_ago(response.started_at, now, texts)
        ),
    ]
    if response.visit is not None:
        visit = describe_visit(response.visit, surveys, language)
        lines.append(texts.alert_visit.format(visit=html.escape(visit)))
    patient_language = response.patient_language
    if patient_language is not None and patient_language != language:
        # Whoever calls back needs to know before they dial.
        name = texts.language_names.get(patient_language, patient_language)
        lines.append(texts.alert_language.format(language=html.escape(name)))
    lines.append("")
    footer = ["", texts.alert_status.format(status=texts.statuses[response.status])]
    if case.maybe_sent:
        footer += ["", texts.alert_maybe_repeat]
    if detail is AlertDetail.MINIMAL:
        footer += ["", texts.alert_minimal]
    # Telegram refuses a message over 4,096 characters, and an alert refused for good would
    # never reach staff: with many long comments, each is quoted shorter.
    for limit in ALERT_QUOTE_LIMITS:
        answers = [
            _answer_line(
                answer,
                survey.question(answer.question_id) if survey else None,
                texts,
                limit,
                words=detail is AlertDetail.FULL,
            )
            for answer in response.answers
        ]
        state = _case_lines(case.state, texts, now, limit, detail)
        text = "\n".join([*lines, *answers, *footer, "", *state])
        if len(text) <= room:
            break
    return text


# The latest messages of a case shown on its alert; the whole conversation is stored.
CASE_MESSAGES_SHOWN = 6


def _case_lines(
    case: CaseState, texts: Texts, now: datetime, quote_limit: int, detail: AlertDetail
) -> list[str]:
    """Who has the case, the conversation with the patient, the resolution."""
    if not case.is_case:
        return []
    lines = []
    if case.reposted and case.claimed_by_name is None and not case.resolved:
        lines.append(texts.case_reposted_line)
    if case.callback_phone is not None and detail is AlertDetail.MINIMAL:
        lines.append(texts.case_callback_hidden)
    elif case.callback_phone is not None:
        lines.append(texts.case_callback_line.format(phone=html.escape(case.callback_phone)))
    if case.claimed_by_name is not None and case.claimed_at is not None:
        lines.append(
            texts.case_claimed_line.format(
                name=html.escape(case.claimed_by_name), ago=_ago(case.claimed_at, now, texts)
            )
        )
    elif not case.resolved:
        lines.append(texts.case_unclaimed_line)
    lines += _conversation_lines(case, texts, now, quote_limit, detail)
    if case.resolved and case.resolved_at is not None:
        lines.append(
            texts.case_resolved_line.format(
                name=html.escape(case.resolved_by_name or "?"),
                ago=_ago(case.resolved_at, now, texts),
            )
        )
        if case.note:
            note = html.escape(patient_text(case.note, 300, one_line=True))
            lines.append(f"{texts.case_note_line}\n<blockquote>{note}</blockquote>")
    return lines


def _conversation_lines(
    case: CaseState, texts: Texts, now: datetime, quote_limit: int, detail: AlertDetail
) -> list[str]:
    """The latest messages between staff and the patient, each quoted."""
    lines = []
    shown = case.conversation[-CASE_MESSAGES_SHOWN:]
    if len(case.conversation) > len(shown):
        lines.append(texts.case_earlier_messages.format(n=len(case.conversation) - len(shown)))
    for message in shown:
        ago = _ago(message.created_at, now, texts)
        match message.direction:
            case CaseDirection.TO_PATIENT:
                header = texts.case_to_patient_line.format(
                    name=html.escape(message.author_name or "?"),
                    ago=ago,
                    delivery=texts.case_deliveries[message.delivery],
                )
            case CaseDirection.FROM_PATIENT:
                header = texts.case_from_patient_line.format(ago=ago)
            case _:
                assert_never(message.direction)
        if detail is AlertDetail.MINIMAL:
            lines.append(f"{header}\n{texts.in_details}")
            continue
        quote = html.escape(patient_text(message.body, quote_limit))
        lines.append(f"{header}\n<blockquote>{quote}</blockquote>")
    return lines


def format_relay(relay: PatientRelay, texts: Texts, detail: AlertDetail = AlertDetail.FULL) -> str:
    """A patient's answer to staff, quoted (HTML, escaped) under the alert it is about."""
    header = texts.case_patient_wrote.format(patient=html.escape(relay.pseudonym))
    if detail is AlertDetail.MINIMAL:
        return f"{header}\n{texts.in_details}"
    limit = TELEGRAM_TEXT_LIMIT - len(header) - 100
    return f"{header}\n<blockquote>{html.escape(patient_text(relay.body, limit))}</blockquote>"


# Cases listed by /cases; the rest are counted.
CASES_LISTED = 30


def format_cases(cases: list[OpenCase], texts: Texts, now: datetime) -> str:
    """`/cases`: open cases, oldest first, with their age and owner (HTML)."""
    if not cases:
        return texts.cases_none
    lines = [texts.cases_title.format(count=len(cases))]
    for case in cases[:CASES_LISTED]:
        owner = (
            texts.cases_nobody
            if case.claimed_by_name is None
            else html.escape(case.claimed_by_name)
        )
        lines.append(
            texts.cases_row.format(
                age=_age(case.created_at, now),
                patient=html.escape(case.pseudonym),
                reasons=", ".join(texts.alert_reasons[r] for r in case.reasons),
                owner=owner,
            )
        )
    if len(cases) > CASES_LISTED:
        lines.append(texts.cases_more.format(n=len(cases) - CASES_LISTED))
    return "\n".join(lines)


def _age(then: datetime, now: datetime) -> str:
    """A case's age, short: 45m, 5h, 3d."""
    minutes = int(max(now - then, timedelta(0)).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def _answer_line(
    answer: Answer, question: Question | None, texts: Texts, quote_limit: int, *, words: bool
) -> str:
    """One answer in an alert; a patient's own words as a quote block below its name.

    Without `words` (minimal alerts) the words, and the scorer's reasons that quote them,
    are left for Details; the sentiment's label and score stay.
    """
    quote = None
    if answer.value is None:
        shown = texts.skipped
    elif isinstance(answer.value, bool):
        shown = texts.yes if answer.value else texts.no
    elif isinstance(answer.value, int) and question is not None:
        shown = f"{answer.value}/{question.scale_max}"
    elif answer.sentiment is None and question is not None and question.options:
        shown = html.escape(str(answer.value))  # option ids from the survey file
    else:
        shown = ""
        quote = patient_text(str(answer.value), quote_limit)
    if answer.sentiment is not None:
        label = texts.sentiment_labels[answer.sentiment.label]
        shown += f" ({label}, {answer.sentiment.polarity:+.2f})"
    line = f"<b>{html.escape(answer.question_id)}</b>: {shown.strip()}".rstrip()
    if not words:
        return f"{line} {texts.in_details}" if quote is not None else line
    if quote is not None:
        line += f"\n<blockquote>{html.escape(quote)}</blockquote>"
    if answer.sentiment is not None and answer.sentiment.reasons:
        why = patient_text("; ".join(answer.sentiment.reasons[:4]), 500, one_line=True)
        line += f"\n    <i>{html.escape(why)}</i>"
    return line


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _plain(text: str) -> str:
    return text


def period_name(period: Period, texts: Texts) -> str:
    """The period as staff read it: all time, or the last 30 days."""
    if period is Period.ALL:
        return texts.summary_all_time
    return texts.summary_last.format(period=period.value)


def format_summary(
    summary: Summary,
    texts: Texts,
    *,
    markup: bool = True,
    surveys: SurveyCatalog | None = None,
) -> str:
    """The `/summary` report: HTML for Telegram, or plain text for a terminal."""
    escape: Callable[[str], str] = html.escape if markup else _plain

    def tags(text: str) -> str:
        return text if markup else text.replace("<b>", "").replace("</b>", "")

    period = period_name(summary.period, texts)
    scale = summary.csat_scale
    csat = (
        texts.summary_csat_empty
        if summary.csat_mean is None
        else texts.summary_csat_mixed.format(
            mean=f"{summary.csat_mean:.2f}",
            satisfied=_pct(summary.csat_share_satisfied),
            count=summary.csat_count,
        )
        if scale is None
        else texts.summary_csat.format(
            mean=f"{summary.csat_mean:.2f}",
            top=scale[-1],
            cut=satisfied_from(scale),
            satisfied=_pct(summary.csat_share_satisfied),
            count=summary.csat_count,
        )
    )
    nps = (
        texts.summary_nps_empty
        if summary.nps is None
        else texts.summary_nps.format(
            score=f"{summary.nps:+.0f}",
            promoters=summary.nps_promoters,
            passives=summary.nps_passives,
            detractors=summary.nps_detractors,
        )
    )
    mix = ", ".join(
        f"{texts.sentiment_labels[label]} {count}"
        for label, count in summary.sentiment_mix.items()
        if count or label is not SentimentLabel.UNKNOWN  # other languages only if any
    )
    lines = [
        tags(texts.summary_title.format(period=period)),
        texts.summary_responses.format(
            started=summary.started,
            completed=summary.completed,
            rate=_pct(summary.completion_rate),
        ),
        csat,
        nps,
        texts.summary_sentiment.format(mix=mix),
    ]
    if surveys is not None and len(summary.by_survey) > 1:
        # In the survey file's order: the visit first, then the follow-ups.
        scores = {row.name: row for row in summary.by_survey}
        lines += ["", tags(texts.over_time_title)]
        for survey in surveys.surveys:
            row = scores.get(survey.id)
            if row is not None and (row.csat_mean is not None or row.nps is not None):
                title = localize(survey.title, surveys.default_language, surveys.default_language)
                lines.append(_group_line(texts, escape(title), row))
    for by, rows in summary.breakdowns.items():
        if not rows:
            continue
        lines += ["", tags(texts.breakdown_titles[by])]
        for row in rows:
            name = row.name
            if by is BreakdownBy.TREATMENT and surveys is not None:
                name = describe_visit(Visit(row.name), surveys, surveys.default_language)
            lines.append(_group_line(texts, escape(name), row))
    lines += _case_figure_lines(summary, texts)
    lines += _invitation_lines(summary, texts, escape, tags)
    lines += _visit_lines(summary, texts, tags)
    if summary.negative_comments:
        lines += ["", tags(texts.summary_negative)]
        lines += [_comment_line(comment, escape) for comment in summary.negative_comments]
    return "\n".join(lines)


def _case_figure_lines(summary: Summary, texts: Texts) -> list[str]:
    """Cases opened, the share resolved, and the median times to a reply and a resolution."""
    cases = summary.cases
    if cases is None:
        return ["", texts.summary_cases_empty]
    return [
        "",
        texts.summary_cases.format(
            opened=cases.opened,
            resolved=cases.resolved,
            share=_pct(cases.share_resolved),
            reply=_duration(cases.median_first_reply),
            resolution=_duration(cases.median_resolution),
        ),
    ]


def _duration(span: timedelta | None) -> str:
    """A time to act, short: 45 min, 3.5 h, 2.0 days; a dash if there is none."""
    if span is None:
        return "—"
    minutes = span.total_seconds() / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / (24 * 60):.1f} d"


def _invitation_lines(
    summary: Summary, texts: Texts, escape: Callable[[str], str], tags: Callable[[str], str]
) -> list[str]:
    """The response rate of visit links: in all, then per provider and location."""
    funnel = summary.invitations
    if funnel is None:
        return []
    lines = [
        "",
        texts.summary_invitations.format(
            created=funnel.created,
            opened=funnel.opened,
            opened_rate=_pct(funnel.opened_rate),
            completed=funnel.completed,
            completed_rate=_pct(funnel.completed_rate),
        ),
    ]
    for by, rows in summary.invitations_by.items():
        if len(rows) < 2:  # one provider (or location): the line above says it all
            continue
        lines += ["", tags(texts.invitation_titles[by])]
        lines += [
            texts.invitation_row.format(
                name=escape(row.name),
                created=row.created,
                opened=row.opened,
                completed=row.completed,
                rate=_pct(row.completed_rate),
            )
            for row in rows
        ]
    return lines


def _visit_lines(summary: Summary, texts: Texts, tags: Callable[[str], str]) -> list[str]:
    """Visits booking systems announced, per way the patient was asked."""
    if not summary.visits_by_channel:
        return []
    received = sum(channel.created for channel in summary.visits_by_channel)
    lines = ["", tags(texts.summary_visits.format(received=received))]
    lines += [
        texts.visit_channel_row.format(
            name=texts.visit_channel_names[Delivery(channel.name)],
            invited=channel.created,
            opened=channel.opened,
            completed=channel.completed,
            rate=_pct(channel.completed_rate),
        )
        for channel in summary.visits_by_channel
    ]
    return lines


def _group_line(texts: Texts, name: str, row: Breakdown) -> str:
    return texts.breakdown_row.format(
        name=name,
        responses=row.responses,
        csat="—" if row.csat_mean is None else f"{row.csat_mean:.1f}",
        nps="—" if row.nps is None else f"{row.nps:+.0f}",
    )


def _comment_line(comment: NegativeComment, escape: Callable[[str], str]) -> str:
    text = patient_text(comment.text, SUMMARY_QUOTE_LIMIT, one_line=True)
    return (
        f"• {escape(comment.patient_pseudonym)}: “{escape(text)}” ({comment.polarity:+.2f}, "
        f"{comment.answered_at:%Y-%m-%d})"
    )
