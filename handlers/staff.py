"""Staff commands and the staff-chat side of alerts, in the clinic's language."""

from __future__ import annotations

import asyncio
import html
import io
import logging
import re
import shlex
import tempfile
from datetime import date, datetime, timedelta
from typing import TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    MenuButtonWebApp,
    Message,
    ReplyParameters,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.domain.audit import Actor, AuditAction, AuditHead
from bot.domain.models import (
    AlertDetail,
    PatientRelay,
    PendingAlert,
    Visit,
)
from bot.domain.periods import Period
from bot.domain.roles import Permission, Roster
from bot.domain.surveys import SurveyCatalog
from bot.domain.trend import TrendPeriod
from bot.qr import qr_png
from bot.services.audit import AuditService, write_audit_csv
from bot.services.cases import CaseService
from bot.services.invitations import (
    InvitationService,
    UnknownSurveyError,
    UnknownTreatmentError,
    invitation_link,
)
from bot.services.ports import Edited, MessageGone, Posted, TryLater
from bot.services.staff import ReportService
from handlers.charts import trend_png
from handlers.followups import retry_seconds
from handlers.keyboards import case_keyboard, reply_keyboard
from handlers.texts import Texts
from handlers.texts.formatting import (
    describe_visit,
    format_alert,
    format_cases,
    format_relay,
    format_summary,
    period_name,
)

logger = logging.getLogger(__name__)
DEFAULT_PERIOD = Period.DAYS_30
AUDIT_SENT = timedelta(days=7)
"""How far back `/audit` goes (the command line lists any period)."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class StaffHandlers:
    """Admin-only commands; anyone else is refused without seeing any data."""

    def __init__(  # noqa: PLR0913 - its services, and who may ask where, each named
        self,
        reports: ReportService,
        invitations: InvitationService,
        surveys: SurveyCatalog,
        texts: Texts,
        *,
        cases: CaseService,
        audit: AuditService,
        roster: Roster,
        staff_chat: int | None,
        clinic_name: str | None = None,
        console_url: str | None = None,
    ) -> None:
        self._console_url = console_url
        self._cases = cases
        self._audit = audit
        self._clinic = clinic_name
        self._reports = reports
        self._invitations = invitations
        self._surveys = surveys
        self._texts = texts
        self._roster = roster
        self._staff_chat = staff_chat

    async def summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply with `/summary [7d|30d|90d|all]` for the team."""
        message = await self._permitted_message(update, Permission.READ_REPORTS)
        if message is None:
            return
        period = _period(context.args or [], DEFAULT_PERIOD)
        if period is None:
            await message.reply_text(self._texts.summary_usage)
            return
        summary = await self._reports.summary(period)
        await self._audited(update, AuditAction.SUMMARY, f"period {period.value}")
        await message.reply_text(
            format_summary(summary, self._texts, surveys=self._surveys),
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        )

    async def cases(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """`/cases`: open cases, oldest first, with their age and owner, for the team."""
        message = await self._permitted_message(update, Permission.READ_REPORTS)
        if message is None:
            return
        cases = await self._cases.open_cases()
        await self._audited(update, AuditAction.CASES, f"{len(cases)} open")
        await message.reply_text(
            format_cases(cases, self._texts, self._cases.now()), parse_mode=ParseMode.HTML
        )

    async def console(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """`/console`: a button that opens the staff console, in an admin's private chat."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - a command has both
            return
        if self._roster.role(user.id) is None:
            await message.reply_text(self._texts.staff_only)
        elif self._console_url is None:
            await message.reply_text(self._texts.console_off)
        elif message.chat.type != ChatType.PRIVATE:
            # Telegram refuses Mini App buttons in groups.
            await message.reply_text(self._texts.console_private_only)
        else:
            button = InlineKeyboardButton(
                self._texts.console_button, web_app=WebAppInfo(self._console_url)
            )
            await message.reply_text(
                self._texts.console_open, reply_markup=InlineKeyboardMarkup([[button]])
            )

    async def offer_console(self, bot: Bot) -> None:
        """Make the console every team member's menu button (beside the chat's input)."""
        if self._console_url is None:
            return
        button = MenuButtonWebApp(self._texts.console_button, WebAppInfo(self._console_url))
        for member in sorted(self._roster.members):
            try:
                await bot.set_chat_menu_button(chat_id=member, menu_button=button)
            except TelegramError as error:
                # Someone who never opened a chat with the bot: /console works once they do.
                logger.warning(
                    "could not set a team member's console menu button: %s", error.message
                )

    async def chat_id(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """`/chatid`: in a group, tell an admin its id (what FEEDBACK_STAFF_CHAT needs)."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - a command has both
            return
        if self._roster.role(user.id) is None:
            await message.reply_text(self._texts.staff_only)
        elif message.chat.type == ChatType.PRIVATE:
            await message.reply_text(self._texts.chat_id_private)
        else:
            await message.reply_text(self._texts.chat_id_group.format(chat_id=message.chat.id))

    async def trend(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/trend [12w|12m]`: CSAT and NPS per week or month as a chart, for the team."""
        message = await self._permitted_message(update, Permission.READ_REPORTS)
        if message is None:
            return
        period = _period(context.args or [], TrendPeriod.WEEKS_12)
        if period is None:
            await message.reply_text(self._texts.trend_usage)
            return
        trend = await self._reports.trend(period)
        # Drawing takes a few hundred ms of CPU: in a thread, so nobody else waits for it.
        png = await asyncio.to_thread(trend_png, trend, self._texts, self._clinic)
        unit = (
            self._texts.trend_week if period is TrendPeriod.WEEKS_12 else self._texts.trend_month
        )
        await self._audited(update, AuditAction.TREND, f"span {period.value}")
        await message.reply_photo(
            InputFile(png, filename=f"trend-{period.value}.png"),
            caption=self._texts.trend_caption.format(unit=unit, responses=trend.responses),
        )

    async def export(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/export [7d|30d|90d|all]`: the CSV export as a file, to an admin in private."""
        message = await self._permitted_message(update, Permission.EXPORT_DATA)
        if message is None:
            return
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(self._texts.export_private_only)
            return
        period = _period(context.args or [], Period.ALL)
        if period is None:
            await message.reply_text(self._texts.export_usage)
            return
        now = self._reports.now()
        # On disk, not in memory: years of answers. TemporaryFile is private (0600) and
        # has no name, so it is gone when closed, even after a crash.
        with tempfile.TemporaryFile() as file:
            text = io.TextIOWrapper(file, encoding="utf-8", newline="")
            try:
                # Staff open it in a spreadsheet: with the byte-order mark Excel needs.
                rows = await self._reports.write_csv(
                    self._surveys, text, period.since(now), excel=True
                )
                text.flush()
            finally:
                text.detach()  # the file stays open, for sending
            size = file.seek(0, io.SEEK_END)
            if size > TELEGRAM_UPLOAD_LIMIT:
                await message.reply_text(
                    self._texts.export_too_large.format(size=size // 1_000_000)
                )
                return
            file.seek(0)
            await self._audited(update, AuditAction.EXPORT, f"period {period.value}, {rows} rows")
            await message.reply_document(
                InputFile(file, filename=f"feedback-{period.value}-{now:%Y-%m-%d}.csv"),
                caption=self._texts.export_caption.format(
                    period=period_name(period, self._texts), rows=rows
                ),
            )

    async def audit(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """`/audit`: the audit trail's last 7 days as CSV, to an admin in private."""
        message = await self._permitted_message(update, Permission.READ_AUDIT)
        if message is None:
            return
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(self._texts.audit_private_only)
            return
        now = self._reports.now()
        entries = await self._audit.entries(since=now - AUDIT_SENT)
        text = io.StringIO(newline="")
        rows = write_audit_csv(entries, text)
        await self._audited(update, AuditAction.AUDIT_READ, f"last 7 days, {rows} rows")
        await message.reply_document(
            InputFile(text.getvalue().encode(), filename=f"audit-{now:%Y-%m-%d}.csv"),
            caption=self._texts.audit_caption.format(rows=rows),
        )

    async def invite(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/invite treatment provider [location] [date] [survey]`: a link and its QR code."""
        message = await self._permitted_message(update, Permission.MAKE_LINKS)
        if message is None:
            return
        try:
            words = shlex.split(message.text or "")[1:]
        except ValueError:  # unbalanced quotes
            words = []
        parsed = self._parse_invite(words)
        if parsed is None:
            await message.reply_text(self._texts.invite_usage)
            return
        visit, survey_id = parsed
        try:
            invitation = await self._invitations.create(visit, survey_id)
        except UnknownTreatmentError as exc:
            await message.reply_text(f"{exc}\n\n{self._texts.invite_usage}")
            return
        except UnknownSurveyError:
            surveys = ", ".join(self._invitations.survey_ids)
            await message.reply_text(
                self._texts.invite_unknown_survey.format(survey=survey_id, surveys=surveys)
            )
            return
        link = invitation_link(context.bot.username, invitation.code)
        language = self._surveys.default_language
        # Telegram refuses a caption over 1,024 characters, and the invitation is stored
        # already: long names are cut here rather than the reply failing.
        text = self._texts.invite_created.format(
            treatment=_cut(
                describe_visit(Visit(invitation.visit.treatment), self._surveys, language)
            ),
            provider=_cut(invitation.visit.provider or ""),
            expires=f"{invitation.expires_at:%Y-%m-%d}",
            link=link,
        )
        # Plain text: the names staff typed are not markup either.
        await message.reply_photo(qr_png(link), caption=text)

    def _parse_invite(self, words: list[str]) -> tuple[Visit, str | None] | None:
        if len(words) < 2:
            return None
        treatment, provider, *rest = words
        location: str | None = None
        visit_date: date | None = None
        survey_id: str | None = None
        for word in rest:
            if _DATE.match(word) and visit_date is None:
                try:
                    visit_date = date.fromisoformat(word)
                except ValueError:
                    return None
            elif word in self._invitations.survey_ids and survey_id is None:
                survey_id = word
            elif location is None:
                location = word
            else:
                return None
        return Visit(treatment, provider, location, visit_date), survey_id

    async def _audited(self, update: Update, action: AuditAction, detail: str) -> None:
        """Record what a team member is about to be shown (who: their Telegram id).

        Before the reply, not after: a reply Telegram lost is an entry too many, while an
        entry lost after a reply was read would be a look at patients' data nobody records.
        """
        user = update.effective_user
        if user is not None:  # always: only a permitted member's message got this far
            await self._audit.record(Actor(telegram_id=user.id), action, detail=detail)

    async def _permitted_message(self, update: Update, permission: Permission) -> Message | None:
        """The command's message if someone allowed sent it; otherwise a refusal and `None`."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:  # pragma: no cover - a command has both
            return None
        if self._roster.role(user.id) is None:
            await message.reply_text(self._texts.staff_only)
            return None
        if not self._roster.may(user.id, permission):
            await message.reply_text(self._texts.admins_only)
            return None
        if message.chat.type != ChatType.PRIVATE and message.chat.id != self._staff_chat:
            # Not in a family group or any other chat: patients' data stays with staff.
            await message.reply_text(self._texts.staff_chats_only)
            return None
        return message


class TelegramAlertSender:
    """Posts alerts to the staff chat and edits them as more answers arrive.

    Telegram's answers become the outbox's outcomes: flood control's `retry_after`, a
    timeout (the message may have arrived), a staff message that was deleted.
    """

    def __init__(
        self,
        bot: Bot,
        staff_chat: int,
        surveys: SurveyCatalog,
        texts: Texts,
        detail: AlertDetail = AlertDetail.FULL,
    ) -> None:
        self._bot = bot
        self._chat = staff_chat
        self._surveys = surveys
        self._texts = texts
        self._detail = detail

    async def send(self, alert: PendingAlert, now: datetime) -> Posted | TryLater:
        """Post a new alert."""
        try:
            message = await self._bot.send_message(
                self._chat,
                format_alert(alert, self._surveys, self._texts, now, self._detail),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=case_keyboard(alert.id, alert.case, self._texts, self._detail),
            )
        except TelegramError as exc:
            return _try_later(exc, _what(alert))
        return Posted(message.message_id)

    async def update(
        self, alert: PendingAlert, staff_message_id: int, now: datetime
    ) -> Edited | MessageGone | TryLater:
        """Rewrite a posted alert with the response's latest answers and the case's state."""
        return await self._edit(
            staff_message_id,
            format_alert(alert, self._surveys, self._texts, now, self._detail),
            alert,
            case_keyboard(alert.id, alert.case, self._texts, self._detail),
        )

    async def redact(self, staff_message_id: int) -> Edited | MessageGone | TryLater:
        """Blank an alert whose patient was erased (its buttons go with the old text)."""
        return await self._edit(staff_message_id, self._texts.alert_erased, None, None)

    async def relay(self, relay: PatientRelay) -> Posted | TryLater:
        """Post a patient's answer to staff as a reply to its alert, with a Reply button."""
        reply_to = (
            None
            if relay.reply_to is None
            else ReplyParameters(relay.reply_to, allow_sending_without_reply=True)
        )
        try:
            message = await self._bot.send_message(
                self._chat,
                format_relay(relay, self._texts, self._detail),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_parameters=reply_to,
                reply_markup=reply_keyboard(relay.alert_id, self._texts, self._detail),
            )
        except TelegramError as exc:
            return _try_later(exc, "a patient's message")
        return Posted(message.message_id)

    async def audit_head(self, head: AuditHead) -> Posted | TryLater:
        """Post the audit trail's head: a copy outside the database of where it stood."""
        text = self._texts.audit_head.format(
            day=html.escape(head.day.isoformat()), number=head.number, hash=head.hash
        )
        try:
            message = await self._bot.send_message(self._chat, text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            return _try_later(exc, "the audit trail's head")
        return Posted(message.message_id)

    async def _edit(
        self,
        staff_message_id: int,
        text: str,
        alert: PendingAlert | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Edited | MessageGone | TryLater:
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=self._chat,
                message_id=staff_message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup,
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if "not modified" in reason:
                return Edited()
            if "not found" in reason or "can't be edited" in reason:
                return MessageGone()
            return _try_later(exc, _what(alert))
        except TelegramError as exc:
            return _try_later(exc, _what(alert))
        return Edited()


_Period = TypeVar("_Period", Period, TrendPeriod)


def _period(args: list[str], default: _Period) -> _Period | None:
    """The period a command names (`30d`, `all`, `12w`...), or `None` for anything else.

    One of `default`'s kind: `/summary` and `/export` take a `Period`, `/trend` a
    `TrendPeriod`.
    """
    if not args:
        return default
    if len(args) > 1:
        return None
    try:
        return type(default)(args[0].lower())
    except ValueError:
        return None


CAPTION_FIELD_LIMIT = 200


def _cut(text: str) -> str:
    return text if len(text) <= CAPTION_FIELD_LIMIT else text[:CAPTION_FIELD_LIMIT] + "…"


# Bots may upload files of up to 50 MB.
TELEGRAM_UPLOAD_LIMIT = 50 * 1000 * 1000

# Patient text in a staff message never unfurls into a link preview.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _what(alert: PendingAlert | None) -> str:
    # The alert's id only: its content is patient data.
    return "a redaction" if alert is None else f"alert {alert.id}"


def _try_later(error: TelegramError, what: str) -> TryLater:
    logger.warning("staff chat refused %s: %s", what, type(error).__name__)
    match error:
        case RetryAfter():
            return TryLater(retry_seconds(error))
        case TimedOut():
            return TryLater(maybe_sent=True)
        case _:
            return TryLater()
