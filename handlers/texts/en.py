"""English wording. Patient-facing messages are plain text; staff messages are HTML.

Staff messages quote patients, so every value in them goes through `html.escape`: patient
text is never markup.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.models import AlertReason, NegativeComment, PendingAlert, Summary
from bot.domain.surveys import SurveyCatalog

ALERT_QUOTE_LIMIT = 1000
SUMMARY_QUOTE_LIMIT = 200


@dataclass(frozen=True)
class Texts:
    """The catalogue of one language."""

    consent: str
    consent_agree: str
    consent_decline: str
    consent_declined: str
    welcome_back: str
    progress: str
    skip: str
    skipped: str
    your_answer: str
    thanks: str
    review_invitation: str
    review_button: str
    text_truncated: str
    use_buttons: str
    type_an_answer: str
    empty_text: str
    already_answered: str
    stale_button: str
    no_survey: str
    not_started: str
    cancelled: str
    nothing_to_cancel: str
    help: str
    help_staff: str
    unsupported_content: str
    edited_message: str
    unknown_command: str
    private_only: str
    forget_confirm: str
    forget_yes: str
    forget_no: str
    forgotten: str
    nothing_to_forget: str
    forget_kept: str
    staff_only: str
    summary_usage: str
    something_went_wrong: str
    command_descriptions: tuple[tuple[str, str], ...]

    def format_progress(self, number: int, total: int, text: str) -> str:
        """A question with its place in the survey."""
        return self.progress.format(number=number, total=total) + "\n\n" + text


ENGLISH = Texts(
    consent=(
        "Hello! {clinic} would like to hear about your visit. It takes under a minute.\n\n"
        "If you agree, we store your answers under a random code (not your name or phone "
        "number) so the clinic can improve its care, and delete them automatically after "
        "{retention_days} days. Send /forget at any time to erase everything you told us, "
        "and /cancel to stop a survey.\n\n"
        "Nothing is stored until you tap “I agree”."
    ),
    consent_agree="I agree",
    consent_decline="No, thanks",
    consent_declined=("No problem — nothing was stored. If you change your mind, send /start."),
    welcome_back="Welcome back! Let's carry on where you left off.",
    progress="Question {number} of {total}",
    skip="Skip",
    skipped="(skipped)",
    your_answer="Your answer: {answer}",
    thanks="Thank you! Your feedback has been saved and goes straight to the team at {clinic}.",
    review_invitation=(
        "If you have a moment, a public review helps others find us. "
        "We ask everyone, whatever they told us."
    ),
    review_button="Leave a review",
    text_truncated=(
        "Your message was longer than {limit} characters, so we kept the first {limit}."
    ),
    use_buttons="Please tap one of the buttons below (or type a number shown on them).",
    type_an_answer="Please type your answer as a message, or tap Skip.",
    empty_text="Please type your answer in words, or tap Skip.",
    already_answered="You've already answered this question — thank you!",
    stale_button="That survey is finished. Send /start to give new feedback.",
    no_survey="There's no survey in progress. Send /start to give feedback.",
    not_started="Send /start to begin.",
    cancelled=(
        "Survey stopped. The answers you already gave are kept. Send /start to begin again."
    ),
    nothing_to_cancel="There's nothing to cancel. Send /start to give feedback.",
    help=(
        "I collect feedback about your visit to {clinic}, one quick question at a time.\n\n"
        "/start — begin (or carry on with) a survey\n"
        "/cancel — stop the current survey\n"
        "/forget — erase everything you told us\n"
        "/help — this message"
    ),
    help_staff="\n\nStaff commands:\n/summary [7d|30d|90d|all] — scores and comments",
    unsupported_content=(
        "Sorry, I can only read text messages and button taps. "
        "Please type your answer or use the buttons."
    ),
    edited_message=(
        "I keep the first version of each answer, so edits aren't saved. "
        "If something important changed, please send it as a new message."
    ),
    unknown_command="I don't know that command. Send /help to see what I can do.",
    private_only="I collect feedback in private chats only. Please message me directly.",
    forget_confirm=(
        "This erases everything you told us, including finished surveys. It can't be undone. "
        "Erase it?"
    ),
    forget_yes="Yes, erase everything",
    forget_no="No, keep it",
    forgotten="Done — everything you told us has been erased.",
    nothing_to_forget="We don't have anything stored about you.",
    forget_kept="Nothing was erased.",
    staff_only="Sorry, this command is for clinic staff only.",
    summary_usage="Usage: /summary [7d|30d|90d|all] (default 30d).",
    something_went_wrong=(
        "Sorry, something went wrong on our side. The answers you already gave are safe; "
        "send /start to carry on."
    ),
    command_descriptions=(
        ("start", "Give feedback about your visit"),
        ("cancel", "Stop the current survey"),
        ("forget", "Erase everything you told us"),
        ("help", "What this bot does"),
    ),
)

_REASONS = {
    AlertReason.LOW_CSAT: "low satisfaction score",
    AlertReason.LOW_NPS: "unlikely to recommend",
    AlertReason.NEGATIVE_COMMENT: "negative comment",
}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _ago(then: datetime, now: datetime) -> str:
    elapsed = max(now - then, timedelta(0))
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def format_alert(alert: PendingAlert, surveys: SurveyCatalog, now: datetime) -> str:
    """The staff-chat message for an alert (HTML, every value escaped)."""
    response = alert.response
    survey = surveys.get(response.survey_id)
    title = survey.title if survey else response.survey_id
    lines = [
        f"⚠️ <b>Patient needs a follow-up</b> — {html.escape(response.patient_pseudonym)}",
        "Why: " + ", ".join(_REASONS[reason] for reason in alert.reasons),
        f"Survey: {html.escape(title)} · started {_ago(response.started_at, now)}",
        "",
    ]
    for answer in response.answers:
        question = survey.question(answer.question_id) if survey else None
        if answer.value is None:
            shown = "(skipped)"
        elif isinstance(answer.value, str):
            shown = "“" + html.escape(_shorten(answer.value, ALERT_QUOTE_LIMIT)) + "”"
        elif question is not None and not isinstance(answer.value, bool):
            shown = f"{answer.value}/{question.scale_max}"
        else:
            shown = html.escape(str(answer.value))
        if answer.sentiment is not None:
            shown += f" ({answer.sentiment.label.value}, {answer.sentiment.polarity:+.2f})"
        lines.append(f"<b>{html.escape(answer.question_id)}</b>: {shown}")
    status = response.status.value.replace("_", " ")
    lines += ["", f"Status: {status}"]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _plain(text: str) -> str:
    return text


def format_summary(summary: Summary, *, markup: bool = True) -> str:
    """The `/summary` report: HTML for Telegram, or plain text for a terminal."""
    escape = html.escape if markup else _plain

    def bold(text: str) -> str:
        return f"<b>{text}</b>" if markup else text

    period = "all time" if summary.period.value == "all" else f"last {summary.period.value}"
    csat = (
        "no answers"
        if summary.csat_mean is None
        else f"{summary.csat_mean:.2f} / 5 · {_pct(summary.csat_share_satisfied)} rated 4–5 "
        f"({summary.csat_count} answers)"
    )
    nps = (
        "no answers"
        if summary.nps is None
        else f"{summary.nps:+.0f} · promoters {summary.nps_promoters}, passives "
        f"{summary.nps_passives}, detractors {summary.nps_detractors}"
    )
    mix = ", ".join(f"{label.value} {count}" for label, count in summary.sentiment_mix.items())
    lines = [
        "📊 " + bold(f"Feedback summary — {period}"),
        (
            f"Responses: {summary.started} started, {summary.completed} completed "
            f"({_pct(summary.completion_rate)})"
        ),
        f"CSAT: {csat}",
        f"NPS: {nps}",
        f"Comment sentiment: {mix}",
    ]
    if summary.negative_comments:
        lines += ["", bold("Latest negative comments")]
        lines += [_comment_line(comment, escape) for comment in summary.negative_comments]
    return "\n".join(lines)


def _comment_line(comment: NegativeComment, escape: Callable[[str], str]) -> str:
    text = _shorten(comment.text, SUMMARY_QUOTE_LIMIT)
    return (
        f"• {escape(comment.patient_pseudonym)}: “{escape(text)}” ({comment.polarity:+.2f}, "
        f"{comment.answered_at:%Y-%m-%d})"
    )
