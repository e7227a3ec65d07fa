"""When a response needs a staff follow-up."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.models import AlertReason, AlertThresholds, Answer, SentimentLabel


def alert_reasons(
    answers: Iterable[Answer], thresholds: AlertThresholds
) -> tuple[AlertReason, ...]:
    """Every reason these answers give staff to call the patient back, in a stable order."""
    reasons: set[AlertReason] = set()
    for answer in answers:
        value = answer.value
        if isinstance(value, int) and not isinstance(value, bool):
            if answer.question_id == "csat" and value <= thresholds.csat_at_most:
                reasons.add(AlertReason.LOW_CSAT)
            if answer.question_id == "nps" and value <= thresholds.nps_at_most:
                reasons.add(AlertReason.LOW_NPS)
        if answer.sentiment is not None and answer.sentiment.label is SentimentLabel.NEGATIVE:
            reasons.add(AlertReason.NEGATIVE_COMMENT)
        if answer.sentiment is not None and answer.sentiment.clinical:
            reasons.add(AlertReason.CLINICAL)
    return tuple(reason for reason in AlertReason if reason in reasons)
