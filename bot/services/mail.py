"""E-mail invitations: sent from the outbox in daytime, retried with back-off, never lost."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, assert_never

from bot.domain.intake import OwedMail
from bot.domain.schedule import SendHours, backoff
from bot.services.ports import Clock

logger = logging.getLogger(__name__)

# A claim older than this was cut off by a crash: the message may not have gone.
SENDING_ABANDONED = timedelta(minutes=10)
BATCH = 20


@dataclass(frozen=True, slots=True)
class MailAccepted:
    """The server took the message for delivery."""

    reply: str


@dataclass(frozen=True, slots=True)
class MailDeferred:
    """Not sent now: the server is unreachable or said 4xx (or refused our login)."""

    reply: str


@dataclass(frozen=True, slots=True)
class MailRejected:
    """The server refused the message or the address for good (5xx)."""

    reply: str


MailOutcome = MailAccepted | MailDeferred | MailRejected


class InvitationMailer(Protocol):
    """Sends one invitation by e-mail (the SMTP adapter)."""

    async def send(self, mail: OwedMail) -> MailOutcome:
        """Hand the message to the server; every failure is an outcome, never an exception."""
        ...


class InvitationMailStore(Protocol):
    """The outbox of e-mail invitations (see storage/mail.py for the states)."""

    async def due_mail(self, now: datetime, limit: int) -> list[OwedMail]:
        """E-mails to send now."""
        ...

    async def claim_mail(self, visit_id: int, now: datetime) -> bool:
        """Take one for sending; `False` if it was taken meanwhile."""
        ...

    async def mail_accepted(self, visit_id: int, now: datetime, outcome: str) -> None:
        """Sent: the address is erased."""
        ...

    async def mail_refused(self, visit_id: int, outcome: str) -> None:
        """Refused for good: the address is erased."""
        ...

    async def mail_postponed(self, visit_id: int, until: datetime, outcome: str) -> None:
        """Try again at `until`."""
        ...

    async def drop_expired(self, now: datetime) -> int:
        """Drop e-mails whose invitation expired unsent."""
        ...

    async def recover_mail(self, claimed_before: datetime) -> int:
        """Make claims cut off by a crash due again."""
        ...


@dataclass(frozen=True, slots=True)
class MailReport:
    """What one round of sending did."""

    sent: int = 0
    deferred: int = 0
    refused: int = 0
    dropped: int = 0


class MailService:
    """Sends the e-mail invitations that are due, within the clinic's sending hours."""

    def __init__(
        self,
        store: InvitationMailStore,
        mailer: InvitationMailer,
        clock: Clock,
        send_hours: SendHours,
    ) -> None:
        self._store = store
        self._mailer = mailer
        self._clock = clock
        self._send_hours = send_hours

    async def recover(self) -> int:
        """At start-up: messages being sent at a crash are due again."""
        return await self._store.recover_mail(self._clock.now() - SENDING_ABANDONED)

    async def dispatch(self) -> MailReport:
        """One round: drop what expired, then send what is due (in daytime only)."""
        now = self._clock.now()
        dropped = await self._store.drop_expired(now)
        if not self._send_hours.allows(now):
            return MailReport(dropped=dropped)
        sent = deferred = refused = 0
        for mail in await self._store.due_mail(now, BATCH):
            if not await self._store.claim_mail(mail.visit_id, self._clock.now()):
                continue
            outcome = await self._mailer.send(mail)
            match outcome:
                case MailAccepted(reply):
                    await self._store.mail_accepted(mail.visit_id, self._clock.now(), reply)
                    sent += 1
                case MailDeferred(reply):
                    until = self._clock.now() + backoff(mail.attempts + 1)
                    await self._store.mail_postponed(mail.visit_id, until, reply)
                    deferred += 1
                case MailRejected(reply):
                    await self._store.mail_refused(mail.visit_id, reply)
                    refused += 1
                case _:
                    assert_never(outcome)
        report = MailReport(sent=sent, deferred=deferred, refused=refused, dropped=dropped)
        if sent or deferred or refused or dropped:
            logger.info("e-mail invitations: %s", report)
        return report
