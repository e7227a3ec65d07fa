"""The outbox of e-mail invitations: due, claimed while sent, then sent, refused or dropped.

A claim left behind by a crash is due again after `SENDING_ABANDONED`: the invitation may be
sent twice then (its fixed Message-ID lets mail clients fold the copies), never lost. The
address and first name are erased as soon as a server accepts the message or refuses it
for good, and when the invitation expires unsent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update

from bot.domain.intake import OwedMail
from storage.database import Database, to_db_time
from storage.responses import row_to_invitation
from storage.schema import invitation_mail, visits

_ERASED = {"address": None, "first_name": None}


class SqliteInvitationMail:
    """The `InvitationMailStore` over the shared database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def due_mail(self, now: datetime, limit: int) -> list[OwedMail]:
        """E-mails to send now, oldest due first."""
        rows = await self._db.connection.rows(
            select(visits, invitation_mail)
            .join(visits, visits.c.id == invitation_mail.c.visit_id)
            .where(
                invitation_mail.c.status == "due",
                invitation_mail.c.due_at <= to_db_time(now),
                invitation_mail.c.address.is_not(None),
            )
            .order_by(invitation_mail.c.due_at, invitation_mail.c.visit_id)
            .limit(limit)
        )
        return [
            OwedMail(
                visit_id=row.visit_id,
                invitation=row_to_invitation(row._mapping),
                address=row.address,
                first_name=row.first_name,
                language=row.language,
                attempts=row.attempts,
            )
            for row in rows
        ]

    async def claim_mail(self, visit_id: int, now: datetime) -> bool:
        """Take the e-mail for sending; `False` if another round took it."""
        async with self._db.transaction() as conn:
            claimed = await conn.run(
                update(invitation_mail)
                .where(invitation_mail.c.visit_id == visit_id, invitation_mail.c.status == "due")
                .values(
                    status="sending",
                    claimed_at=to_db_time(now),
                    attempts=invitation_mail.c.attempts + 1,
                )
            )
        return claimed > 0

    async def mail_accepted(self, visit_id: int, now: datetime, outcome: str) -> None:
        """The server took it: recorded, and the address erased."""
        await self._settle(visit_id, status="sent", sent_at=to_db_time(now), outcome=outcome)

    async def mail_refused(self, visit_id: int, outcome: str) -> None:
        """The server will never take it (5xx): recorded, and the address erased."""
        await self._settle(visit_id, status="refused", outcome=outcome)

    async def mail_postponed(self, visit_id: int, until: datetime, outcome: str) -> None:
        """Not sent now (the server is down, or said 4xx): due again at `until`."""
        async with self._db.transaction() as conn:
            await conn.run(
                update(invitation_mail)
                .where(
                    invitation_mail.c.visit_id == visit_id, invitation_mail.c.status == "sending"
                )
                .values(status="due", due_at=to_db_time(until), outcome=outcome)
            )

    async def drop_expired(self, now: datetime) -> int:
        """E-mails whose invitation expired before they could go: dropped, addresses erased."""
        expired = select(visits.c.id).where(visits.c.expires_at <= to_db_time(now))
        async with self._db.transaction() as conn:
            return await conn.run(
                update(invitation_mail)
                .where(
                    invitation_mail.c.status.in_(("due", "held")),
                    invitation_mail.c.visit_id.in_(expired),
                )
                .values(status="dropped", outcome="expired unsent", **_ERASED)
            )

    async def recover_mail(self, claimed_before: datetime) -> int:
        """Claims a crash left behind are due again (the server may not have the message)."""
        async with self._db.transaction() as conn:
            return await conn.run(
                update(invitation_mail)
                .where(
                    invitation_mail.c.status == "sending",
                    or_(
                        invitation_mail.c.claimed_at.is_(None),
                        invitation_mail.c.claimed_at < to_db_time(claimed_before),
                    ),
                )
                .values(status="due")
            )

    async def _settle(self, visit_id: int, **values: str) -> None:
        async with self._db.transaction() as conn:
            await conn.run(
                update(invitation_mail)
                .where(
                    and_(
                        invitation_mail.c.visit_id == visit_id,
                        invitation_mail.c.status == "sending",
                    )
                )
                .values(**values, **_ERASED)
            )
