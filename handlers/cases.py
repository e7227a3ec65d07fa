"""The staff chat's side of cases: the alert's buttons, and staff messages for patients.

Only the clinic's team acts (admins and staff, bot/domain/roles.py); anyone else gets a
pop-up (or a one-line answer) and nothing changes.
What staff write to a patient is stored and delivered from the patient's outbox, so
nothing here sends the patient anything directly.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from telegram import CallbackQuery, ForceReply, Update, User
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.domain.models import IntentKind, StaffMember
from bot.domain.roles import Permission, Roster
from bot.domain.surveys import SurveyCatalog
from bot.services.cases import (
    AlreadyYours,
    CaseService,
    Claimed,
    Closed,
    Gone,
    Noted,
    NotForACase,
    Prompting,
    Relayed,
    TakenBy,
    TooLong,
)
from bot.services.staff import AlertService
from handlers.keyboards import CaseAction, CaseButton
from handlers.staff import NO_PREVIEW
from handlers.texts import Texts
from handlers.texts.formatting import format_case_details

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Toast:
    """What a tap answers: a short notice, or a pop-up the staff member must dismiss."""

    text: str
    popup: bool = False


class CaseHandlers:
    """Claim, Reply and Resolve on alerts; staff messages that answer patients."""

    def __init__(  # noqa: PLR0913 - its service, wording, who may act, and whom to wake
        self,
        cases: CaseService,
        texts: Texts,
        surveys: SurveyCatalog,
        *,
        roster: Roster,
        clinic_name: str | None,
        alerts: AlertService | None,
        deliver_to_patients: Callable[[], None],
    ) -> None:
        self._cases = cases
        self._texts = texts
        self._surveys = surveys
        self._roster = roster
        self._clinic = clinic_name
        self._alerts = alerts
        self._deliver_to_patients = deliver_to_patients

    async def button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap on one of an alert's buttons (or on a patient's relayed message's Reply)."""
        query = update.callback_query
        if query is None:  # pragma: no cover - registered as a CallbackQueryHandler
            return
        toast: Toast | None = None
        try:
            toast = await self._tapped(query)
        finally:
            await query.answer(
                toast.text if toast else None, show_alert=bool(toast and toast.popup)
            )

    async def _tapped(self, query: CallbackQuery) -> Toast | None:
        button = CaseButton.decode(query.data or "")
        if button is None:
            return None
        if not self._roster.may(query.from_user.id, Permission.WORK_CASES):
            return Toast(self._texts.case_team_only, popup=True)
        staff = _staff(query.from_user)
        match button.action:
            case CaseAction.CLAIM:
                return await self._claim(button.alert_id, staff)
            case CaseAction.DETAILS:
                return await self._details(query, button.alert_id, staff)
            case CaseAction.REPLY:
                asked = await self._cases.ask_reply(button.alert_id, staff)
            case CaseAction.RESOLVE:
                asked = await self._cases.resolve(button.alert_id, staff)
            case _:
                assert_never(button.action)
        return await self._asked(query, staff, button.alert_id, asked)

    async def _asked(
        self,
        query: CallbackQuery,
        staff: StaffMember,
        alert_id: int,
        asked: Prompting | Closed | Gone,
    ) -> Toast | None:
        """After Reply or Resolve: ask for the reply or the note, or say why not."""
        match asked:
            case Prompting():
                if asked.kind is IntentKind.NOTE:
                    self._changed()
                prompted = await self._prompt(query, staff, alert_id, asked)
                if not prompted and asked.kind is IntentKind.REPLY:
                    return Toast(self._texts.case_prompt_failed, popup=True)
                return None  # resolved even if the note's prompt failed: the alert says so
            case Closed() | Gone():
                return self._unavailable(asked)
            case _:
                assert_never(asked)

    async def _claim(self, alert_id: int, staff: StaffMember) -> Toast:
        claimed = await self._cases.claim(alert_id, staff)
        match claimed:
            case Claimed():
                self._changed()
                return Toast(self._texts.case_claimed)
            case TakenBy(name):
                return Toast(self._texts.case_taken_by.format(name=name), popup=True)
            case AlreadyYours():
                return Toast(self._texts.case_already_yours)
            case Closed() | Gone():
                return self._unavailable(claimed)
            case _:
                assert_never(claimed)

    async def staff_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """A message in the staff chat: a reply to a patient, or a note, if it is for a case."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - the filters guarantee both
            return
        replying_to = message.reply_to_message.message_id if message.reply_to_message else None
        if not self._roster.may(user.id, Permission.WORK_CASES):
            # People talk among themselves here; only an answer to a case is refused.
            if replying_to is not None and await self._cases.is_case_message(replying_to):
                await message.reply_text(self._texts.case_team_only_reply)
            return
        outcome = await self._cases.staff_text(
            _staff(user), message.text or "", replying_to, dedup_key=update.update_id
        )
        match outcome:
            case NotForACase():
                return
            case Relayed(pseudonym):
                self._changed()
                self._deliver_to_patients()
                await message.reply_text(
                    self._texts.case_reply_queued.format(
                        patient=pseudonym, clinic=self._texts.clinic(self._clinic)
                    )
                )
            case Noted(pseudonym):
                self._changed()
                await message.reply_text(self._texts.case_noted.format(patient=pseudonym))
            case TooLong(limit):
                await message.reply_text(self._texts.case_reply_too_long.format(limit=limit))
            case Closed():
                await message.reply_text(self._texts.case_closed)
            case Gone():
                await message.reply_text(self._texts.case_gone)
            case _:
                assert_never(outcome)

    async def cancel(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """`/cancel` in the staff chat: the next message is not a reply after all."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - a command has both
            return
        cancelled = self._roster.may(user.id, Permission.WORK_CASES) and await self._cases.cancel(
            _staff(user)
        )
        await message.reply_text(
            self._texts.case_prompt_cancelled if cancelled else self._texts.case_nothing_to_cancel
        )

    async def _prompt(
        self, query: CallbackQuery, staff: StaffMember, alert_id: int, asked: Prompting
    ) -> bool:
        """Ask for the reply (or note) as an answer to the bot's message.

        Telegram delivers a group's messages to a bot in privacy mode only when they answer
        the bot: the prompt asks for an answer (ForceReply), addressed to this staff member.
        """
        if query.message is None:  # pragma: no cover - taps on the bot's own messages
            return False
        template = (
            self._texts.case_reply_prompt
            if asked.kind is IntentKind.REPLY
            else self._texts.case_resolved_prompt
        )
        text = template.format(
            staff=staff.mention_html(),
            patient=html.escape(asked.pseudonym),
            clinic=html.escape(self._texts.clinic(self._clinic)),
        )
        try:
            sent = await query.get_bot().send_message(
                query.message.chat.id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=ForceReply(selective=True),
            )
        except TelegramError as exc:
            logger.warning("could not prompt staff: %s", type(exc).__name__)
            return False
        await self._cases.prompted(sent.message_id, alert_id, asked.kind)
        return True

    async def _details(self, query: CallbackQuery, alert_id: int, staff: StaffMember) -> Toast:
        """The case whole in the staff member's private chat, never in the group."""
        view = await self._cases.unseen(alert_id)
        if view is None:
            return self._unavailable(Gone())
        text = format_case_details(view, self._surveys, self._texts, self._cases.now())
        try:
            await query.get_bot().send_message(
                staff.user_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
            )
        except Forbidden:  # they never opened a private chat with the bot, or blocked it
            return Toast(self._texts.case_details_start_first, popup=True)
        except TelegramError as error:
            logger.warning("a case's details could not be sent: %s", type(error).__name__)
            return Toast(self._texts.case_prompt_failed, popup=True)
        await self._cases.viewed(view, staff)
        return Toast(self._texts.case_details_sent)

    def _unavailable(self, outcome: Closed | Gone) -> Toast:
        match outcome:
            case Closed():
                return Toast(self._texts.case_closed, popup=True)
            case Gone():
                return Toast(self._texts.case_gone, popup=True)
            case _:
                assert_never(outcome)

    def _changed(self) -> None:
        """The case changed: its alert is to be edited now rather than at the next check."""
        if self._alerts is not None:
            self._alerts.wake()


def _staff(user: User) -> StaffMember:
    return StaffMember(user.id, user.full_name)
