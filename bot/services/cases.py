"""Staff close the loop: take a case, answer the patient, resolve it; none left unclaimed.

Every change is written with the message it owes (the alert's edit, the reply to the
patient, the patient's answer to staff), and delivered from the store by the outboxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from bot.domain.audit import Actor, AuditAction
from bot.domain.models import (
    CaseIntent,
    CaseListing,
    CaseView,
    IntentKind,
    OpenCase,
    StaffMember,
    StaffReplyStored,
)
from bot.domain.schedule import SendHours
from bot.services.audit import AuditService
from bot.services.ports import CaseRecords, CaseStore, Clock

# After tapping Reply or Resolve, the staff member's next message in the staff chat is the
# reply (or the note) for this long; later, only a reply to one of the case's messages is.
INTENT_LASTS = timedelta(minutes=10)
# A reply must fit one Telegram message with the clinic's signature below it.
REPLY_LIMIT = 3800
NOTE_LIMIT = 200
# Looking further back than this for send hours changes nothing (escalation is hours).
LONGEST_LOOK_BACK = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Claimed:
    """The case is the staff member's now."""

    pseudonym: str


@dataclass(frozen=True, slots=True)
class TakenBy:
    """Someone else took the case first."""

    name: str


@dataclass(frozen=True, slots=True)
class AlreadyYours:
    """The staff member had taken it already."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The case was resolved; nothing more can be done with it."""


@dataclass(frozen=True, slots=True)
class Gone:
    """No such case: the patient was erased (or the button was forged)."""


@dataclass(frozen=True, slots=True)
class Prompting:
    """The staff member's next message is for this case: ask them to write it."""

    pseudonym: str
    kind: IntentKind


@dataclass(frozen=True, slots=True)
class Relayed:
    """The reply is owed to the patient, signed with the clinic's name."""

    pseudonym: str


@dataclass(frozen=True, slots=True)
class Noted:
    """The resolved case has its note."""

    pseudonym: str


@dataclass(frozen=True, slots=True)
class TooLong:
    """The reply would not fit one message; nothing was sent."""

    limit: int


@dataclass(frozen=True, slots=True)
class NotForACase:
    """An ordinary message in the staff chat: nothing to do."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """The case is closed (with its note, if one was given)."""

    pseudonym: str


@dataclass(frozen=True, slots=True)
class NothingToSend:
    """An empty reply."""


ClaimOutcome = Claimed | TakenBy | AlreadyYours | Closed | Gone
StaffTextOutcome = Relayed | Noted | TooLong | Closed | Gone | NotForACase
ReplyOutcome = Relayed | TooLong | NothingToSend | Closed | Gone
ResolveOutcome = Resolved | Closed | Gone
# The console lists the oldest open cases and the latest resolved ones, this many of each.
OPEN_LISTED = 200
RESOLVED_LISTED = 50


class CaseService:
    """What staff do with alerts, and what patients answer them."""

    def __init__(  # noqa: PLR0913 - its stores, clock, timing and trail, each named
        self,
        store: CaseStore,
        clock: Clock,
        *,
        records: CaseRecords,
        escalate_after: timedelta,
        send_hours: SendHours,
        audit: AuditService,
    ) -> None:
        self._audit = audit
        self._store = store
        self._records = records
        self._clock = clock
        self._escalate_after = escalate_after
        self._send_hours = send_hours

    async def claim(self, alert_id: int, staff: StaffMember) -> ClaimOutcome:
        """Take the case, unless someone has or it is closed."""
        target = await self._store.case_target(alert_id)
        if target is None:
            return Gone()
        if target.resolved:
            return Closed()
        if target.claimed_by == staff.user_id:
            return AlreadyYours()
        if target.claimed_by is not None:
            return TakenBy(target.claimed_by_name or "?")
        if await self._store.claim(alert_id, staff, self._clock.now()):
            await self._audited(staff, AuditAction.CLAIM, alert_id, target.pseudonym)
            return Claimed(target.pseudonym)
        return await self.claim(alert_id, staff)  # taken or closed in between: say by whom

    async def ask_reply(self, alert_id: int, staff: StaffMember) -> Prompting | Closed | Gone:
        """Staff tapped Reply: their next message here is for the patient."""
        target = await self._store.case_target(alert_id)
        if target is None:
            return Gone()
        if target.resolved:
            return Closed()
        await self._store.set_intent(
            staff, CaseIntent(alert_id, IntentKind.REPLY), self._clock.now()
        )
        return Prompting(target.pseudonym, IntentKind.REPLY)

    async def resolve(self, alert_id: int, staff: StaffMember) -> Prompting | Closed | Gone:
        """Close the case; an answer to the bot's prompt then may add a one-line note.

        Only an answer to the prompt: a word in the staff chat after resolving is chatter,
        not the case's record.
        """
        target = await self._store.case_target(alert_id)
        if target is None:
            return Gone()
        if not await self._store.resolve(alert_id, staff, self._clock.now()):
            return Closed()
        await self._audited(staff, AuditAction.RESOLVE, alert_id, target.pseudonym)
        return Prompting(target.pseudonym, IntentKind.NOTE)

    async def prompted(self, message_id: int, alert_id: int, kind: IntentKind) -> None:
        """The bot's prompt is a message of the case: a reply to it is the reply (or note)."""
        await self._store.record_prompt(message_id, CaseIntent(alert_id, kind))

    async def is_case_message(self, message_id: int) -> bool:
        """Whether a staff-chat message belongs to a case."""
        return await self._store.case_of_message(message_id) is not None

    async def cancel(self, staff: StaffMember) -> bool:
        """The staff member's next message is not for a case after all; whether it was."""
        return await self._store.clear_intent(staff.user_id)

    async def staff_text(
        self, staff: StaffMember, text: str, replying_to: int | None, *, dedup_key: int | None
    ) -> StaffTextOutcome:
        """A staff member's message in the staff chat: a reply or a note, if it is for a case.

        For a case if it answers one of the case's messages (the alert, the patient's
        message, the bot's prompt: after Resolve, the answer is the note), or if the staff
        member tapped Reply in the last `INTENT_LASTS`.
        """
        intent = None if replying_to is None else await self._store.case_of_message(replying_to)
        if intent is None and replying_to is None:
            intent = await self._store.intent(staff.user_id, self._clock.now() - INTENT_LASTS)
        body = text.strip()
        if intent is None or not body:
            return NotForACase()
        target = await self._store.case_target(intent.alert_id)
        if target is None:
            return Gone()
        match intent.kind:
            case IntentKind.NOTE:
                await self._store.clear_intent(staff.user_id)
                note = " ".join(body.split())[:NOTE_LIMIT]
                if not await self._store.add_note(intent.alert_id, note):
                    return Closed()  # pragma: no cover - only resolved cases ask for a note
                await self._audited(staff, AuditAction.NOTE, intent.alert_id, target.pseudonym)
                return Noted(target.pseudonym)
            case IntentKind.REPLY:
                if len(body) > REPLY_LIMIT:
                    return TooLong(REPLY_LIMIT)
                stored = await self._store.add_staff_reply(
                    intent.alert_id, staff, body, self._clock.now(), dedup_key
                )
                return await self._replied(stored, staff, intent.alert_id, target.pseudonym)
            case _:
                assert_never(intent.kind)

    async def patient_text(self, external_id: int, text: str, *, dedup_key: int | None) -> bool:
        """Pass the patient's message to staff if it answers a staff reply; whether it did."""
        body = text.strip()
        if not body:
            return False
        return await self._store.relay_from_patient(
            external_id, body, self._clock.now(), dedup_key
        )

    def now(self) -> datetime:
        """The present, by the clock cases are timed with."""
        return self._clock.now()

    async def callback_request(self, external_id: int, phone: str) -> bool:
        """The patient shared their number to be called; whether a case shows it."""
        return await self._store.callback_request(external_id, phone)

    async def listing(self) -> tuple[int, list[CaseListing]]:
        """How many are open; the oldest open cases, then the latest resolved ones."""
        listed = await self._records.case_listing(OPEN_LISTED, RESOLVED_LISTED)
        return await self._records.open_count(), listed

    async def view(self, alert_id: int, viewer: StaffMember) -> CaseView | None:
        """The case whole (`None`: erased, or no such case); the viewing is audited."""
        view = await self._records.case_view(alert_id)
        if view is not None:
            await self.viewed(view, viewer)
        return view

    async def unseen(self, alert_id: int) -> CaseView | None:
        """The case whole, to be shown by a way that may fail: `viewed` once it was."""
        return await self._records.case_view(alert_id)

    async def viewed(self, view: CaseView, viewer: StaffMember) -> None:
        """Record that a staff member was shown the case whole."""
        pseudonym = view.response.patient_pseudonym
        await self._audited(viewer, AuditAction.CASE_VIEWED, view.alert_id, pseudonym)

    async def reply(
        self, alert_id: int, staff: StaffMember, text: str, *, request_key: int | None
    ) -> ReplyOutcome:
        """Send the patient a reply (from the console); `request_key` makes a retry no-op."""
        body = text.strip()
        if not body:
            return NothingToSend()
        if len(body) > REPLY_LIMIT:
            return TooLong(REPLY_LIMIT)
        target = await self._store.case_target(alert_id)
        if target is None:
            return Gone()
        stored = await self._store.add_staff_reply(
            alert_id, staff, body, self._clock.now(), request_key
        )
        return await self._replied(stored, staff, alert_id, target.pseudonym)

    async def _replied(
        self, stored: StaffReplyStored, staff: StaffMember, alert_id: int, pseudonym: str
    ) -> Relayed | Closed:
        """What storing a reply comes to; a reply stored now is audited (a retry is not)."""
        match stored:
            case StaffReplyStored.OWED:
                await self._audited(staff, AuditAction.REPLY, alert_id, pseudonym)
                return Relayed(pseudonym)
            case StaffReplyStored.ALREADY:
                return Relayed(pseudonym)
            case StaffReplyStored.CASE_CLOSED:
                return Closed()
            case _:
                assert_never(stored)

    async def resolve_with_note(
        self, alert_id: int, staff: StaffMember, note: str
    ) -> ResolveOutcome:
        """Close the case with its one-line note (from the console, where both come at once)."""
        target = await self._store.case_target(alert_id)
        if target is None:
            return Gone()
        if not await self._store.resolve(alert_id, staff, self._clock.now()):
            return Closed()
        written = " ".join(note.split())[:NOTE_LIMIT]
        if written:
            await self._store.add_note(alert_id, written)
        noted = "with a note" if written else ""
        await self._audited(staff, AuditAction.RESOLVE, alert_id, target.pseudonym, noted)
        return Resolved(target.pseudonym)

    async def _audited(
        self,
        staff: StaffMember,
        action: AuditAction,
        alert_id: int,
        pseudonym: str,
        detail: str = "",
    ) -> None:
        subject = f"case {alert_id} {pseudonym}"
        await self._audit.record(Actor(telegram_id=staff.user_id), action, subject, detail)

    async def open_cases(self) -> list[OpenCase]:
        """Cases not resolved yet, oldest first."""
        return await self._store.open_cases()

    async def escalate(self) -> int:
        """Post again every case nobody took within the clinic's send hours; how many."""
        now = self._clock.now()
        reposted = 0
        for case in await self._store.unclaimed_posted():
            since = max(case.created_at, now - LONGEST_LOOK_BACK)
            if self._send_hours.open_between(since, now) < self._escalate_after:
                continue
            if await self._store.repost(case.alert_id, now):
                reposted += 1
        return reposted
