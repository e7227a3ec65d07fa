"""When a response needs a staff follow-up."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.domain.models import AlertReason, AlertThresholds, Answer, SentimentLabel
from bot.domain.surveys import QuestionRole


def alert_reasons(
    answers: Iterable[Answer],
    thresholds: AlertThresholds,
    roles: Mapping[str, QuestionRole],
) -> tuple[AlertReason, ...]:
    """Every reason these answers give staff to call the patient back, in a stable order.

    `roles`: the survey's question roles (`Survey.roles`), which say where the scores are.
    """
    reasons: set[AlertReason] = set()
    for answer in answers:
        value = answer.value
        role = roles.get(answer.question_id)
        if isinstance(value, int) and not isinstance(value, bool):
            if role is QuestionRole.CSAT and value <= thresholds.csat_at_most:
                reasons.add(AlertReason.LOW_CSAT)
            if role is QuestionRole.NPS and value <= thresholds.nps_at_most:
                reasons.add(AlertReason.LOW_NPS)
        if answer.sentiment is not None and answer.sentiment.label is SentimentLabel.NEGATIVE:
            reasons.add(AlertReason.NEGATIVE_COMMENT)
        if answer.sentiment is not None and answer.sentiment.clinical:
            reasons.add(AlertReason.CLINICAL)
    return tuple(reason for reason in AlertReason if reason in reasons)
