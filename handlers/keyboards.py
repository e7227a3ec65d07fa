"""Inline keyboards and the callback data behind their buttons.

Callback data comes back from the client, so it is parsed strictly here and every value is
checked again against the database by the services.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.flow import SKIP, Step
from bot.domain.surveys import QuestionType
from handlers.texts import Texts

CONSENT_YES = "consent:yes"
CONSENT_NO = "consent:no"
FORGET_YES = "forget:yes"
FORGET_NO = "forget:no"
ANSWER_PREFIX = "a"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data


@dataclass(frozen=True, slots=True)
class AnswerButton:
    """What a survey answer button stands for."""

    response_id: str
    question_id: str
    value: str

    def encode(self) -> str:
        """The callback data string, checked against Telegram's limit."""
        data = f"{ANSWER_PREFIX}:{self.response_id}:{self.question_id}:{self.value}"
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError("callback data over Telegram's 64-byte limit")
        return data

    @classmethod
    def decode(cls, data: str) -> AnswerButton | None:
        """The button behind callback data, or `None` if the data is not an answer button."""
        parts = data.split(":")
        if len(parts) != 4 or parts[0] != ANSWER_PREFIX or not all(parts[1:]):
            return None
        return cls(parts[1], parts[2], parts[3])


def _button(response_id: str, step: Step, value: str, label: str) -> InlineKeyboardButton:
    data = AnswerButton(response_id, step.question.id, value).encode()
    return InlineKeyboardButton(label, callback_data=data)


def question_keyboard(response_id: str, step: Step, texts: Texts) -> InlineKeyboardMarkup | None:
    """One tap per answer: a row of numbers, one option per row, and Skip if optional."""
    question = step.question
    rows: list[list[InlineKeyboardButton]] = []
    if question.type in (QuestionType.RATING, QuestionType.NPS):
        values = [str(value) for value in question.scale]
        # Telegram shows at most 8 buttons a row comfortably on a phone; 0-10 goes in two.
        half = (len(values) + 1) // 2 if len(values) > 6 else len(values)
        rows.extend(
            [_button(response_id, step, v, v) for v in values[start : start + half]]
            for start in range(0, len(values), half)
        )
    elif question.type is QuestionType.CHOICE:
        rows.extend(
            [_button(response_id, step, option.id, option.label)] for option in question.options
        )
    if question.optional:
        rows.append([_button(response_id, step, SKIP, texts.skip)])
    return InlineKeyboardMarkup(rows) if rows else None


def consent_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    """Agree or decline, before anything is stored."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.consent_agree, callback_data=CONSENT_YES)],
            [InlineKeyboardButton(texts.consent_decline, callback_data=CONSENT_NO)],
        ]
    )


def forget_keyboard(texts: Texts) -> InlineKeyboardMarkup:
    """Confirm erasure, since it cannot be undone."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.forget_yes, callback_data=FORGET_YES)],
            [InlineKeyboardButton(texts.forget_no, callback_data=FORGET_NO)],
        ]
    )


def review_keyboard(url: str, texts: Texts) -> InlineKeyboardMarkup:
    """A link to the clinic's public review page."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.review_button, url=url)]])
