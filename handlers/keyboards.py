"""Inline keyboards and the callback data behind their buttons.

Callback data comes back from the client, so it is parsed strictly here and every value is
checked again against the database by the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.domain.flow import DONE, NO, SKIP, YES, Step, selection_from_mask
from bot.domain.models import AlertDetail, CaseState
from bot.domain.surveys import NUMERIC_TYPES, QuestionType, localize
from handlers.texts import CATALOGUES, Texts

ANSWER_PREFIX = "a"
TOGGLE_PREFIX = "m"
LANGUAGE_PREFIX = "lang"
FORGET_YES = "forget:yes"
FORGET_NO = "forget:no"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
CASE_PREFIX = "case"
CASE_PATTERN = re.compile(r"^case:(claim|reply|resolve|details):(\d{1,18})$")
CONSENT_PATTERN = re.compile(r"^consent:(yes|no):([a-z]{2}):([A-Za-z0-9_-]{0,43})$")
# Up to 8 buttons fit a phone's row; ratings with more values go in two rows.
ROW_LIMIT = 6


@dataclass(frozen=True, slots=True)
class AnswerButton:
    """What a survey button stands for: an answer, or (toggle) a multiple-choice tick."""

    response_id: str
    question_id: str
    value: str
    toggle: bool = False

    def encode(self) -> str:
        """The callback data string, checked against Telegram's limit."""
        prefix = TOGGLE_PREFIX if self.toggle else ANSWER_PREFIX
        data = f"{prefix}:{self.response_id}:{self.question_id}:{self.value}"
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError("callback data over Telegram's 64-byte limit")
        return data

    @classmethod
    def decode(cls, data: str) -> AnswerButton | None:
        """The button behind callback data, or `None` if it is not a survey button."""
        parts = data.split(":")
        if len(parts) != 4 or parts[0] not in (ANSWER_PREFIX, TOGGLE_PREFIX):
            return None
        if not all(parts[1:]):
            return None
        return cls(parts[1], parts[2], parts[3], toggle=parts[0] == TOGGLE_PREFIX)


@dataclass(frozen=True, slots=True)
class ConsentButton:
    """Agree or decline, with the language shown and the invitation the patient came with."""

    agree: bool
    language: str
    invitation_code: str | None

    def encode(self) -> str:
        """The callback data string."""
        choice = "yes" if self.agree else "no"
        return f"consent:{choice}:{self.language}:{self.invitation_code or ''}"

    @classmethod
    def decode(cls, data: str) -> ConsentButton | None:
        """The consent button behind callback data, if it is one."""
        match = CONSENT_PATTERN.match(data)
        if match is None:
            return None
        return cls(match.group(1) == "yes", match.group(2), match.group(3) or None)


def _button(response_id: str, step: Step, value: str, label: str) -> InlineKeyboardButton:
    data = AnswerButton(response_id, step.question.id, value).encode()
    return InlineKeyboardButton(label, callback_data=data)


def question_keyboard(  # noqa: PLR0913 - the question, its wording and the selection so far
    response_id: str,
    step: Step,
    texts: Texts,
    *,
    language: str,
    default_language: str,
    selection: int = 0,
) -> InlineKeyboardMarkup | None:
    """One tap per answer; `selection` is the bit mask of ticked multiple-choice options."""
    question = step.question
    rows: list[list[InlineKeyboardButton]] = []
    if question.type in NUMERIC_TYPES:
        values = [str(value) for value in question.scale]
        if question.labels:
            # Labelled scales read better as a list, best at the top.
            labels = [localize(label, language, default_language) for label in question.labels]
            rows.extend(
                [_button(response_id, step, value, f"{value} · {label}")]
                for value, label in reversed(list(zip(values, labels, strict=True)))
            )
        else:
            half = (len(values) + 1) // 2 if len(values) > ROW_LIMIT else len(values)
            rows.extend(
                [_button(response_id, step, v, v) for v in values[start : start + half]]
                for start in range(0, len(values), half)
            )
    elif question.type is QuestionType.CHOICE:
        rows.extend(
            [
                _button(
                    response_id,
                    step,
                    option.id,
                    localize(option.label, language, default_language),
                )
            ]
            for option in question.options
        )
    elif question.type is QuestionType.YES_NO:
        rows.append(
            [_button(response_id, step, YES, texts.yes), _button(response_id, step, NO, texts.no)]
        )
    elif question.type is QuestionType.MULTIPLE_CHOICE:
        for index, option in enumerate(question.options):
            ticked = selection >> index & 1
            label = ("✅ " if ticked else "▫️ ") + localize(
                option.label, language, default_language
            )
            toggled = AnswerButton(
                response_id, question.id, f"{selection ^ 1 << index:x}", toggle=True
            )
            rows.append([InlineKeyboardButton(label, callback_data=toggled.encode())])
        rows.append([_button(response_id, step, f"{DONE}{selection:x}", texts.done)])
    if question.optional and question.type is not QuestionType.MULTIPLE_CHOICE:
        rows.append([_button(response_id, step, SKIP, texts.skip)])
    return InlineKeyboardMarkup(rows) if rows else None


def selection_mask(step: Step, raw: str) -> int | None:
    """A toggle button's selection as a bit mask, or `None` if it is not a valid one."""
    try:
        selected = set(selection_from_mask(step.question, raw))
    except ValueError:
        return None
    return sum(1 << i for i, option in enumerate(step.question.options) if option.id in selected)


def consent_keyboard(texts: Texts, language: str, code: str | None) -> InlineKeyboardMarkup:
    """Agree or decline, before anything is stored."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.consent_agree,
                    callback_data=ConsentButton(
                        agree=True, language=language, invitation_code=code
                    ).encode(),
                )
            ],
            [
                InlineKeyboardButton(
                    texts.consent_decline,
                    callback_data=ConsentButton(
                        agree=False, language=language, invitation_code=code
                    ).encode(),
                )
            ],
        ]
    )


def language_keyboard() -> InlineKeyboardMarkup:
    """Every language the bot speaks, each in its own name."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.language_name, callback_data=f"{LANGUAGE_PREFIX}:{code}")]
            for code, texts in CATALOGUES.items()
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


class CaseAction(StrEnum):
    """What a button on an alert does."""

    CLAIM = "claim"
    REPLY = "reply"
    RESOLVE = "resolve"
    DETAILS = "details"


@dataclass(frozen=True, slots=True)
class CaseButton:
    """A case button: the action and the alert it acts on."""

    action: CaseAction
    alert_id: int

    def encode(self) -> str:
        """The callback data string."""
        return f"{CASE_PREFIX}:{self.action.value}:{self.alert_id}"

    @classmethod
    def decode(cls, data: str) -> CaseButton | None:
        """The case button behind callback data, if it is one."""
        match = CASE_PATTERN.match(data)
        if match is None:
            return None
        return cls(CaseAction(match.group(1)), int(match.group(2)))


def _case_button(label: str, action: CaseAction, alert_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=CaseButton(action, alert_id).encode())


def case_keyboard(
    alert_id: int, case: CaseState, texts: Texts, detail: AlertDetail = AlertDetail.FULL
) -> InlineKeyboardMarkup | None:
    """Claim (until someone has), Reply and Resolve; nothing once resolved.

    Minimal alerts add Details, resolved or not: what the group does not read.
    """
    rows = []
    if case.is_case and not case.resolved:
        row = [
            _case_button(texts.case_reply, CaseAction.REPLY, alert_id),
            _case_button(texts.case_resolve, CaseAction.RESOLVE, alert_id),
        ]
        if case.claimed_by_name is None:
            row.insert(0, _case_button(texts.case_claim, CaseAction.CLAIM, alert_id))
        rows.append(row)
    if detail is AlertDetail.MINIMAL:
        rows.append([_case_button(texts.case_details, CaseAction.DETAILS, alert_id)])
    return InlineKeyboardMarkup(rows) if rows else None


def reply_keyboard(
    alert_id: int, texts: Texts, detail: AlertDetail = AlertDetail.FULL
) -> InlineKeyboardMarkup:
    """Under a patient's message in the staff chat: answer it (and read it, if minimal)."""
    row = [_case_button(texts.case_reply, CaseAction.REPLY, alert_id)]
    if detail is AlertDetail.MINIMAL:
        row.append(_case_button(texts.case_details, CaseAction.DETAILS, alert_id))
    return InlineKeyboardMarkup([row])


def call_keyboard(texts: Texts) -> ReplyKeyboardMarkup:
    """Telegram's own "share my phone number" button: only what the patient taps is sent."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(texts.call_me_button, request_contact=True)], [texts.call_no_button]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def declined_call_labels() -> frozenset[str]:
    """The "no, thank you" button's text in every language (it comes back as a message)."""
    return frozenset(texts.call_no_button for texts in CATALOGUES.values())
